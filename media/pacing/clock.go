package pacing

import "time"

// Clock is the player's source of time, so tests can run it on a fake clock.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// NewTimer returns a stopped-or-running timer that fires once after d.
	NewTimer(d time.Duration) Timer
}

// Timer is a one-shot timer with time.Timer's Go 1.23+ semantics: after Stop or
// Reset returns, no stale value is received from C.
type Timer interface {
	// C delivers the time when the timer fires.
	C() <-chan time.Time
	// Reset arms the timer to fire after d.
	Reset(d time.Duration)
	// Stop disarms the timer.
	Stop()
}

// realClock is the wall clock.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time   { return r.t.C }
func (r realTimer) Reset(d time.Duration) { r.t.Reset(d) }
func (r realTimer) Stop()                 { r.t.Stop() }
