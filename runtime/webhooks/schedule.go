package webhooks

import (
	"cmp"
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
	schedule := policy.Schedule
	if len(schedule) == 0 {
		schedule = defaultSchedule
	}
	if n < 1 {
		n = 1
	}
	if n >= len(schedule) {
		return time.Time{}, false
	}
	j := DefaultJitter
	if policy.Jitter != nil {
		j = *policy.Jitter
	}
	maxRetryAfter := cmp.Or(policy.MaxRetryAfter.Std(), DefaultMaxRetryAfter)
	floor := cmp.Or(policy.MinAfterThrottle.Std(), DefaultMinAfterThrottle)
	if rnd == nil {
		rnd = rand.Float64
	}
	r := min(max(rnd(), 0), 1)

	d := time.Duration(float64(schedule[n].Std()) * (1 + j*(2*r-1)))
	if ra := min(a.RetryAfter, maxRetryAfter); ra > d {
		d = ra
	}
	if a.Throttled() && d < floor {
		d = time.Duration(float64(floor) * (1 + j*r))
	}
	return now.Add(d), true
}
