package webhooks

import "time"

// Clock is the time source of the rate limiter, circuit breaker and gate,
// injected so that tests can move time by hand instead of sleeping.
type Clock interface {
	Now() time.Time
	// After fires once d has passed, like time.After.
	After(d time.Duration) <-chan time.Time
}

// SystemClock is the real clock.
var SystemClock Clock = systemClock{}

type systemClock struct{}

func (systemClock) Now() time.Time                         { return time.Now() }
func (systemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
