package pacing

import (
	"sync"
	"time"
)

// virtualClock is a fake Clock on which sleeping takes no real time: arming a
// timer for d moves the clock forward by d and fires the timer at once. Tests can
// also move it themselves (a slow Write, a pause in the conversation).
type virtualClock struct {
	mu  sync.Mutex
	now time.Time
}

func newVirtualClock() *virtualClock {
	return &virtualClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *virtualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *virtualClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

func (c *virtualClock) NewTimer(time.Duration) Timer {
	return &jumpTimer{c: c, ch: make(chan time.Time, 1)}
}

type jumpTimer struct {
	c  *virtualClock
	ch chan time.Time
}

func (t *jumpTimer) C() <-chan time.Time { return t.ch }

func (t *jumpTimer) Reset(d time.Duration) {
	t.Stop()
	t.ch <- t.c.Advance(d)
}

func (t *jumpTimer) Stop() {
	select {
	case <-t.ch:
	default:
	}
}
