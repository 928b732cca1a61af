package webhooks

import (
	"errors"
	"testing"
	"time"

	"github.com/parley-voice/parley/agents"
)

func TestBreaker(t *testing.T) {
	clk := newFakeClock()
	b := NewBreaker(BreakerPolicy{}, clk) // 5 failures, 30s
	state := func() BreakerState { s, _, _ := b.State(); return s }
	fail := func() {
		t.Helper()
		tk, err := b.Allow()
		if err != nil {
			t.Fatal(err)
		}
		b.Failure(tk)
	}
	for range 4 {
		fail()
	}
	// A success resets the run.
	tk, _ := b.Allow()
	b.Success(tk)
	if _, n, _ := b.State(); n != 0 {
		t.Fatalf("failures after a success = %d", n)
	}
	for range 4 {
		fail()
	}
	if state() != BreakerClosed {
		t.Fatalf("open after 4 failures")
	}
	// A slow request from before the circuit opens...
	stale, _ := b.Allow()
	fail()
	s, n, until := b.State()
	if s != BreakerOpen || n != 5 || !until.Equal(clk.Now().Add(30*time.Second)) {
		t.Fatalf("after 5 failures: %s, %d, until %s", s, n, until)
	}
	// ...cannot close it.
	b.Success(stale)
	if state() != BreakerOpen {
		t.Fatal("a stale success closed the circuit")
	}
	_, err := b.Allow()
	var oe *OpenError
	if !errors.As(err, &oe) || !errors.Is(err, ErrCircuitOpen) || !oe.Until.Equal(until) || oe.Failures != 5 {
		t.Fatalf("Allow while open = %v", err)
	}
	if b.Peek() == nil {
		t.Fatal("Peek while open = nil")
	}

	// After the cool-down: one probe, the others wait.
	clk.Advance(30 * time.Second)
	if b.Peek() != nil {
		t.Fatal("Peek after the cool-down refused")
	}
	probe, err := b.Allow()
	if err != nil || !probe.probe || state() != BreakerHalfOpen {
		t.Fatalf("probe: %v, %+v, %s", err, probe, state())
	}
	if _, err := b.Allow(); !errors.As(err, &oe) || !oe.Until.Equal(clk.Now().Add(probeBusyRetry)) {
		t.Fatalf("second caller while probing: %v", err)
	}
	// A failed probe opens the circuit for another cool-down.
	b.Failure(probe)
	if s, n, until := b.State(); s != BreakerOpen || n != 6 || !until.Equal(clk.Now().Add(30*time.Second)) {
		t.Fatalf("after a failed probe: %s, %d, %s", s, n, until)
	}
	clk.Advance(30 * time.Second)
	// An aborted probe (cancelled, rejected) frees the probe for someone else.
	probe, _ = b.Allow()
	b.Abort(probe)
	if state() != BreakerHalfOpen {
		t.Fatal("an aborted probe changed the state")
	}
	probe, err = b.Allow()
	if err != nil {
		t.Fatalf("probe after an abort: %v", err)
	}
	// A successful probe closes it.
	b.Success(probe)
	if s, n, _ := b.State(); s != BreakerClosed || n != 0 {
		t.Fatalf("after a good probe: %s, %d", s, n)
	}
	if _, err := b.Allow(); err != nil {
		t.Fatal(err)
	}
}

func TestBreakerThreshold(t *testing.T) {
	clk := newFakeClock()
	b := NewBreaker(BreakerPolicy{Failures: 2, CoolDown: agents.Duration(time.Minute)}, clk)
	for range 2 {
		tk, _ := b.Allow()
		b.Failure(tk)
	}
	clk.Advance(59 * time.Second)
	if _, err := b.Allow(); err == nil {
		t.Fatal("allowed before the cool-down ended")
	}
	b.Reset()
	if _, err := b.Allow(); err != nil {
		t.Fatalf("after Reset: %v", err)
	}
}

func TestBreakerStateText(t *testing.T) {
	for s := range BreakerHalfOpen + 1 {
		b, _ := s.MarshalText()
		var back BreakerState
		if err := back.UnmarshalText(b); err != nil || back != s {
			t.Errorf("%s round trips to %s, %v", s, back, err)
		}
	}
	if BreakerState(9).String() != "BreakerState(9)" {
		t.Error(BreakerState(9).String())
	}
}
