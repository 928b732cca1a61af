package webhooks

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
)

// Gate is one endpoint's isolation: its circuit breaker, concurrency limit and
// rate limit, plus the health the admin API shows. Every endpoint has its own
// gate, so a dead or slow endpoint only ever waits on itself. It is safe for
// concurrent use.
type Gate struct {
	id      string
	clock   Clock
	breaker *Breaker
	slots   *ConcurrencyLimiter
	rate    *RateLimiter

	mu     sync.Mutex
	health EndpointHealth // the fields the gate owns; the rest is filled by Health
}

// NewGate returns the gate of ep, taking unset fields as their defaults. A nil
// clock is the system clock. An endpoint disabled in its config starts
// disabled.
func NewGate(ep Endpoint, clock Clock) *Gate {
	if clock == nil {
		clock = SystemClock
	}
	ep = ep.WithDefaults()
	g := &Gate{
		id:      ep.ID,
		clock:   clock,
		breaker: NewBreaker(*ep.CircuitBreaker, clock),
		slots:   NewConcurrencyLimiter(ep.MaxInFlight),
		rate:    NewRateLimiter(ep.RateLimit, ep.Burst, clock),
	}
	g.health.Enabled = ep.IsEnabled()
	if !g.health.Enabled {
		g.health.DisabledReason = "disabled in config"
	}
	return g
}

// Permit is the right to make one attempt; call Done with its result.
type Permit struct {
	g      *Gate
	ticket Ticket
	done   atomic.Bool
}

// Acquire waits for the right to make one attempt: it fails at once, without
// waiting, when the endpoint is disabled (ErrEndpointDisabled) or its circuit
// is open (*OpenError); otherwise it waits for a free in-flight slot and a
// rate-limit token, or until ctx ends.
func (g *Gate) Acquire(ctx context.Context) (*Permit, error) {
	if err := g.disabled(); err != nil {
		return nil, err
	}
	// Fail fast while open, but take the breaker's ticket only once a slot
	// and a token are held, right before the attempt, so that no request
	// waits out a state change with a stale ticket.
	if err := g.breaker.Peek(); err != nil {
		return nil, err
	}
	if err := g.slots.Acquire(ctx); err != nil {
		return nil, err
	}
	if err := g.rate.Wait(ctx); err != nil {
		g.slots.Release()
		return nil, err
	}
	if err := g.disabled(); err != nil {
		g.rate.giveBack()
		g.slots.Release()
		return nil, err
	}
	t, err := g.breaker.Allow()
	if err != nil {
		g.rate.giveBack()
		g.slots.Release()
		return nil, err
	}
	return &Permit{g: g, ticket: t}, nil
}

// Done frees the permit's slot and records the attempt: a delivery closes the
// circuit and a failure counts towards opening it; 410 Gone disables the
// endpoint; a rejected or cancelled attempt says nothing about the endpoint.
// Calls after the first do nothing.
func (p *Permit) Done(a Attempt) {
	if p.done.Swap(true) {
		return
	}
	g := p.g
	defer g.slots.Release()
	now := g.clock.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	if !a.Canceled && a.Outcome != OutcomeRejected {
		g.health.LastStatus = a.Status
	}
	switch {
	case a.Outcome == OutcomeDelivered:
		g.breaker.Success(p.ticket)
		g.health.LastSuccess = now
		g.health.Delivered++
	case a.Outcome == OutcomeRetry && !a.Canceled:
		g.breaker.Failure(p.ticket)
		g.health.LastError, g.health.LastErrorAt = a.Err, now
		g.health.Failed++
	case a.Outcome == OutcomeGone:
		g.breaker.Abort(p.ticket)
		g.health.LastError, g.health.LastErrorAt = a.Err, now
		g.health.Failed++
		g.health.Enabled = false
		g.health.DisabledReason = "the endpoint answered 410 Gone"
	case a.Outcome == OutcomeRejected:
		g.breaker.Abort(p.ticket)
		g.health.Rejected++
	default: // cancelled, or no outcome
		g.breaker.Abort(p.ticket)
	}
}

// Disable stops deliveries to the endpoint until Enable; reason is shown in
// its health.
func (g *Gate) Disable(reason string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.health.Enabled = false
	g.health.DisabledReason = reason
}

// Enable lets deliveries through again, with a closed circuit.
func (g *Gate) Enable() {
	g.mu.Lock()
	g.health.Enabled = true
	g.health.DisabledReason = ""
	g.mu.Unlock()
	g.breaker.Reset()
}

// Enabled reports whether deliveries are allowed (not disabled by config,
// 410 Gone or an operator). Cheaper than Health.
func (g *Gate) Enabled() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.health.Enabled
}

// Health returns a snapshot of the endpoint's state.
func (g *Gate) Health() EndpointHealth {
	g.mu.Lock()
	h := g.health
	g.mu.Unlock()
	h.EndpointID = g.id
	h.State, h.ConsecutiveFailures, h.OpenUntil = g.breaker.State()
	h.InFlight, h.MaxInFlight = g.slots.InFlight(), g.slots.Limit()
	return h
}

func (g *Gate) disabled() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.health.Enabled {
		return nil
	}
	return fmt.Errorf("endpoint %s: %w (%s)", g.id, ErrEndpointDisabled, g.health.DisabledReason)
}
