package webhooks

import (
	"math/rand/v2"
	"time"
)

// NextAttempt says when to make the attempt after attempt number n (1 for the
// first) ended as a; ok is false when there is to be no further attempt: the
// event was delivered, or it goes to the dead-letter queue (the endpoint is
// gone, the event was rejected, or attempt n was the schedule's last).
//
// The delay is policy.Schedule[n] spread by ±Jitter. A Retry-After can only
// lengthen it, up to MaxRetryAfter, and is honoured exactly; after a 429 or a
// timeout the delay is at least MinAfterThrottle, spread upwards by up to
// Jitter so that a burst of throttled events does not return as one burst.
// rnd returns a number in [0, 1) (math/rand/v2.Float64 when nil); tests pass
// a fixed one. Unset policy fields take their defaults.
func NextAttempt(policy RetryPolicy, n int, a Attempt, now time.Time, rnd func() float64) (at time.Time, ok bool) {
	if a.Outcome != OutcomeRetry {
		return time.Time{}, false
	}
	p := policy.WithDefaults()
	if n < 1 {
		n = 1
	}
	if n >= len(p.Schedule) {
		return time.Time{}, false
	}
	if rnd == nil {
		rnd = rand.Float64
	}
	r := min(max(rnd(), 0), 1)
	j := *p.Jitter

	step := p.Schedule[n].Std()
	d := time.Duration(float64(step) * (1 + j*(2*r-1)))
	if ra := min(a.RetryAfter, p.MaxRetryAfter.Std()); ra > d {
		d = ra
	}
	if floor := p.MinAfterThrottle.Std(); a.Throttled() && d < floor {
		d = time.Duration(float64(floor) * (1 + j*r))
	}
	return now.Add(d), true
}
