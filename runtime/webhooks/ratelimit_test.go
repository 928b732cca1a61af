package webhooks

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"
)

func TestRateLimiterBucket(t *testing.T) {
	clk := newFakeClock()
	l := NewRateLimiter(10, 3, clk) // 10/s, burst 3
	for i := range 3 {
		if !l.Allow() {
			t.Fatalf("burst request %d refused", i)
		}
	}
	if l.Allow() {
		t.Fatal("request beyond the burst allowed")
	}
	clk.Advance(50 * time.Millisecond) // half a token
	if l.Allow() {
		t.Fatal("allowed with half a token")
	}
	clk.Advance(50 * time.Millisecond)
	if !l.Allow() {
		t.Fatal("refused after a token accrued")
	}
	clk.Advance(time.Hour) // refills to the burst, not beyond
	if got := l.Tokens(); got != 3 {
		t.Fatalf("tokens after an hour = %v, want 3", got)
	}
}

func TestRateLimiterReserve(t *testing.T) {
	clk := newFakeClock()
	l := NewRateLimiter(4, 1, clk) // one every 250ms
	want := []time.Duration{0, 250 * time.Millisecond, 500 * time.Millisecond, 750 * time.Millisecond}
	for i, w := range want {
		if d := l.Reserve(); d != w {
			t.Errorf("reservation %d waits %s, want %s", i, d, w)
		}
	}
	clk.Advance(time.Second)
	if d := l.Reserve(); d != 0 {
		t.Errorf("after paying the debt: wait %s", d)
	}
}

func TestRateLimiterWait(t *testing.T) {
	clk := newFakeClock()
	l := NewRateLimiter(2, 1, clk)
	if err := l.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- l.Wait(context.Background()) }()
	waitFor(t, "the waiter's timer", func() bool { return clk.Waiters() == 1 })
	select {
	case <-done:
		t.Fatal("Wait returned before its token accrued")
	default:
	}
	clk.Advance(500 * time.Millisecond)
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// A cancelled wait gives its token back.
	ctx, cancel := context.WithCancel(context.Background())
	go func() { done <- l.Wait(ctx) }()
	waitFor(t, "the waiter's timer", func() bool { return clk.Waiters() == 1 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait = %v, want context.Canceled", err)
	}
	if got := l.Tokens(); got != 0 { // the cancelled waiter returned its token
		t.Errorf("tokens = %v, want 0", got)
	}
	clk.Advance(500 * time.Millisecond)
	if !l.Allow() {
		t.Error("refused although the cancelled token came back")
	}
}

func TestRateLimiterUnlimited(t *testing.T) {
	for _, l := range []*RateLimiter{nil, NewRateLimiter(0, 0, newFakeClock())} {
		for range 1000 {
			if !l.Allow() || l.Reserve() != 0 || l.Wait(context.Background()) != nil {
				t.Fatal("unlimited limiter limited")
			}
		}
	}
}

func TestRateLimiterFractionalRate(t *testing.T) {
	clk := newFakeClock()
	l := NewRateLimiter(0.5, 1, clk) // one every 2s
	l.Allow()
	if d := l.Reserve(); math.Abs(d.Seconds()-2) > 1e-9 {
		t.Errorf("wait %s, want 2s", d)
	}
}
