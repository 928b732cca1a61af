package webhooks

import "context"

// ConcurrencyLimiter bounds the requests in flight to one endpoint, so that a
// slow endpoint holds at most its own slots and never a shared worker pool.
// It is safe for concurrent use.
type ConcurrencyLimiter struct {
	slots chan struct{}
}

// NewConcurrencyLimiter allows n requests at once (at least 1).
func NewConcurrencyLimiter(n int) *ConcurrencyLimiter {
	return &ConcurrencyLimiter{slots: make(chan struct{}, max(n, 1))}
}

// Acquire takes a slot, waiting until one is free or ctx ends.
func (c *ConcurrencyLimiter) Acquire(ctx context.Context) error {
	select {
	case c.slots <- struct{}{}:
		return nil
	default:
	}
	select {
	case c.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TryAcquire takes a slot if one is free now.
func (c *ConcurrencyLimiter) TryAcquire() bool {
	select {
	case c.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

// Release frees a slot taken by Acquire or TryAcquire. Releasing more than was
// acquired is a bug and panics.
func (c *ConcurrencyLimiter) Release() {
	select {
	case <-c.slots:
	default:
		panic("webhooks: ConcurrencyLimiter.Release without Acquire")
	}
}

// InFlight returns the slots taken.
func (c *ConcurrencyLimiter) InFlight() int { return len(c.slots) }

// Limit returns the number of slots.
func (c *ConcurrencyLimiter) Limit() int { return cap(c.slots) }
