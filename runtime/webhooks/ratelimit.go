package webhooks

import (
	"context"
	"sync"
	"time"
)

// RateLimiter is a token bucket: tokens accrue at a steady rate up to a burst,
// and each request takes one. A limiter with a rate of 0 or less lets
// everything through. It is safe for concurrent use.
type RateLimiter struct {
	clock Clock
	rate  float64 // tokens per second; <= 0 means unlimited
	burst float64

	mu     sync.Mutex
	tokens float64 // may go negative: tokens reserved by waiting callers
	last   time.Time
}

// NewRateLimiter returns a limiter allowing perSecond requests per second on
// average and burst at once (at least 1). It starts full. A nil clock is the
// system clock.
func NewRateLimiter(perSecond float64, burst int, clock Clock) *RateLimiter {
	if clock == nil {
		clock = SystemClock
	}
	b := float64(max(burst, 1))
	return &RateLimiter{clock: clock, rate: perSecond, burst: b, tokens: b, last: clock.Now()}
}

// Unlimited reports whether the limiter lets everything through.
func (l *RateLimiter) Unlimited() bool { return l == nil || l.rate <= 0 }

// refill adds the tokens accrued since the last call. Callers hold l.mu.
func (l *RateLimiter) refill(now time.Time) {
	if elapsed := now.Sub(l.last); elapsed > 0 {
		l.tokens = min(l.burst, l.tokens+elapsed.Seconds()*l.rate)
		l.last = now
	}
}

// Allow takes a token if one is available now.
func (l *RateLimiter) Allow() bool {
	if l.Unlimited() {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refill(l.clock.Now())
	if l.tokens >= 1 {
		l.tokens--
		return true
	}
	return false
}

// Reserve takes a token, possibly one that has not accrued yet, and returns
// how long the caller must wait before using it (0 when available now).
func (l *RateLimiter) Reserve() time.Duration {
	if l.Unlimited() {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refill(l.clock.Now())
	l.tokens--
	if l.tokens >= 0 {
		return 0
	}
	return time.Duration(-l.tokens / l.rate * float64(time.Second))
}

// Wait blocks until a token is available or ctx ends; in the latter case the
// token is given back.
func (l *RateLimiter) Wait(ctx context.Context) error {
	d := l.Reserve()
	if d <= 0 {
		return nil
	}
	select {
	case <-l.clock.After(d):
		return nil
	case <-ctx.Done():
		l.giveBack()
		return ctx.Err()
	}
}

// giveBack returns a token taken by Reserve or Wait that was not used.
func (l *RateLimiter) giveBack() {
	if l.Unlimited() {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refill(l.clock.Now())
	l.tokens = min(l.burst, l.tokens+1)
}

// Tokens returns the tokens available now; negative when callers are waiting.
func (l *RateLimiter) Tokens() float64 {
	if l.Unlimited() {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refill(l.clock.Now())
	return l.tokens
}
