package webhooks

import (
	"fmt"
	"sync"
	"time"
)

// BreakerState is a circuit breaker's state.
type BreakerState int

const (
	// BreakerUnknown is the zero value.
	BreakerUnknown BreakerState = iota
	// BreakerClosed: requests flow.
	BreakerClosed
	// BreakerOpen: the endpoint failed repeatedly; nothing is sent until the
	// cool-down ends.
	BreakerOpen
	// BreakerHalfOpen: the cool-down ended; one probe request is in flight or
	// about to be, and its result closes or reopens the circuit.
	BreakerHalfOpen
)

var breakerStateNames = [...]string{"unknown", "closed", "open", "half-open"}

func (s BreakerState) String() string {
	if s < 0 || int(s) >= len(breakerStateNames) {
		return fmt.Sprintf("BreakerState(%d)", int(s))
	}
	return breakerStateNames[s]
}

// MarshalText writes the state's name, for the admin API.
func (s BreakerState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a state's name.
func (s *BreakerState) UnmarshalText(b []byte) error {
	for i, n := range breakerStateNames {
		if n == string(b) {
			*s = BreakerState(i)
			return nil
		}
	}
	return fmt.Errorf("unknown circuit breaker state %q", b)
}

// probeBusyRetry is how long a caller refused because the half-open probe is
// still in flight should wait before asking again.
const probeBusyRetry = time.Second

// OpenError is returned when the circuit refuses an attempt. It wraps
// ErrCircuitOpen. The event was not attempted: reschedule it for Until
// without counting an attempt.
type OpenError struct {
	// Until is when asking again may succeed.
	Until time.Time
	// Failures is the run of consecutive failures that opened the circuit.
	Failures int
}

func (e *OpenError) Error() string {
	return fmt.Sprintf("webhook endpoint circuit open after %d consecutive failures; next try at %s",
		e.Failures, e.Until.UTC().Format(time.RFC3339))
}

// Unwrap returns ErrCircuitOpen.
func (e *OpenError) Unwrap() error { return ErrCircuitOpen }

// Breaker is a circuit breaker: closed until Failures consecutive attempts
// fail, then open for CoolDown, then half-open with a single probe whose
// success closes it and whose failure opens it again. Results of attempts
// allowed before the last state change are ignored, so a slow request from
// before the circuit opened cannot close it. It is safe for concurrent use.
type Breaker struct {
	clock     Clock
	threshold int
	coolDown  time.Duration

	mu          sync.Mutex
	state       BreakerState
	gen         uint64 // bumped on every state change
	consecutive int
	openUntil   time.Time
	probing     bool
}

// Ticket is a breaker's permission for one attempt; hand it back with its
// result.
type Ticket struct {
	gen   uint64
	probe bool
}

// NewBreaker returns a closed breaker. Unset policy fields take their
// defaults; a nil clock is the system clock.
func NewBreaker(p BreakerPolicy, clock Clock) *Breaker {
	if clock == nil {
		clock = SystemClock
	}
	p = p.WithDefaults()
	return &Breaker{clock: clock, threshold: max(p.Failures, 1), coolDown: p.CoolDown.Std(), state: BreakerClosed}
}

// Allow asks to make an attempt. It returns an *OpenError while the circuit is
// open, or while it is half-open and the probe is taken.
func (b *Breaker) Allow() (Ticket, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	switch b.state {
	case BreakerOpen:
		if now.Before(b.openUntil) {
			return Ticket{}, &OpenError{Until: b.openUntil, Failures: b.consecutive}
		}
		b.setState(BreakerHalfOpen)
		fallthrough
	case BreakerHalfOpen:
		if b.probing {
			return Ticket{}, &OpenError{Until: now.Add(probeBusyRetry), Failures: b.consecutive}
		}
		b.probing = true
		return Ticket{gen: b.gen, probe: true}, nil
	}
	return Ticket{gen: b.gen}, nil
}

// Peek returns the error Allow would return, without taking the probe.
func (b *Breaker) Peek() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	switch {
	case b.state == BreakerOpen && now.Before(b.openUntil):
		return &OpenError{Until: b.openUntil, Failures: b.consecutive}
	case b.state == BreakerHalfOpen && b.probing:
		return &OpenError{Until: now.Add(probeBusyRetry), Failures: b.consecutive}
	}
	return nil
}

// Success records a delivered attempt.
func (b *Breaker) Success(t Ticket) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if t.gen != b.gen {
		return
	}
	b.consecutive = 0
	if b.state != BreakerClosed {
		b.setState(BreakerClosed)
	}
}

// Failure records a failed attempt.
func (b *Breaker) Failure(t Ticket) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if t.gen != b.gen {
		return
	}
	b.consecutive++
	if t.probe || b.consecutive >= b.threshold {
		b.openUntil = b.clock.Now().Add(b.coolDown)
		b.setState(BreakerOpen)
	}
}

// Abort returns a ticket whose attempt says nothing about the endpoint
// (cancelled, rejected before sending): a probe can be taken again.
func (b *Breaker) Abort(t Ticket) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if t.probe && t.gen == b.gen {
		b.probing = false
	}
}

// Reset closes the circuit and forgets the failures, e.g. when an operator
// enables the endpoint again.
func (b *Breaker) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.consecutive = 0
	b.setState(BreakerClosed)
}

// State returns the current state, the consecutive failures and, when open,
// the end of the cool-down.
func (b *Breaker) State() (state BreakerState, failures int, openUntil time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == BreakerOpen {
		openUntil = b.openUntil
	}
	return b.state, b.consecutive, openUntil
}

// setState moves to s and starts a new generation. Callers hold b.mu.
func (b *Breaker) setState(s BreakerState) {
	b.state = s
	b.gen++
	b.probing = false
}
