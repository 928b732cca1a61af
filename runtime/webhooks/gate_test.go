package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/parley-voice/parley/agents"
)

func TestGateBreaker(t *testing.T) {
	clk := newFakeClock()
	g := NewGate(Endpoint{ID: "crm", CircuitBreaker: &BreakerPolicy{Failures: 2, CoolDown: agents.Duration(time.Minute)}}, clk)
	ctx := context.Background()
	attempt := func(a Attempt) {
		t.Helper()
		p, err := g.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		p.Done(a)
		p.Done(a) // twice is harmless
	}
	attempt(Attempt{Outcome: OutcomeDelivered, Status: 200})
	h := g.Health()
	if h.EndpointID != "crm" || !h.Enabled || h.State != BreakerClosed || h.LastSuccess != clk.Now() || h.Delivered != 1 || h.InFlight != 0 || h.MaxInFlight != 8 {
		t.Fatalf("health %+v", h)
	}
	clk.Advance(time.Second)
	attempt(Attempt{Outcome: OutcomeRetry, Status: 503, Err: "crm answered 503"})
	attempt(Attempt{Outcome: OutcomeRetry, Canceled: true, Err: "cancelled"}) // not the endpoint's fault
	attempt(Attempt{Outcome: OutcomeRejected, Err: "too large"})              // nor this
	if h := g.Health(); h.State != BreakerClosed || h.ConsecutiveFailures != 1 || h.Rejected != 1 || h.LastError != "crm answered 503" {
		t.Fatalf("health %+v", h)
	}
	attempt(Attempt{Outcome: OutcomeRetry, Timeout: true, Err: "timeout"})
	h = g.Health()
	if h.State != BreakerOpen || h.ConsecutiveFailures != 2 || h.Failed != 2 || !h.OpenUntil.Equal(clk.Now().Add(time.Minute)) || h.LastErrorAt != clk.Now() {
		t.Fatalf("health %+v", h)
	}
	if _, err := g.Acquire(ctx); !errors.Is(err, ErrCircuitOpen) {
		t.Fatalf("Acquire while open = %v", err)
	}
	clk.Advance(time.Minute)
	probe, err := g.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Acquire(ctx); !errors.Is(err, ErrCircuitOpen) {
		t.Fatalf("second Acquire while probing = %v", err)
	}
	probe.Done(Attempt{Outcome: OutcomeDelivered, Status: 204})
	if h := g.Health(); h.State != BreakerClosed || h.ConsecutiveFailures != 0 || h.LastStatus != 204 {
		t.Fatalf("health after the probe %+v", h)
	}
}

func TestGateGone(t *testing.T) {
	g := NewGate(Endpoint{ID: "crm"}, newFakeClock())
	p, _ := g.Acquire(context.Background())
	p.Done(Attempt{Outcome: OutcomeGone, Status: 410, Err: "gone"})
	_, err := g.Acquire(context.Background())
	if !errors.Is(err, ErrEndpointDisabled) || !strings.Contains(err.Error(), "410 Gone") {
		t.Fatalf("Acquire after 410 = %v", err)
	}
	if h := g.Health(); h.Enabled || !strings.Contains(h.DisabledReason, "410") {
		t.Fatalf("health %+v", h)
	}
	g.Enable()
	if _, err := g.Acquire(context.Background()); err != nil {
		t.Fatalf("after Enable: %v", err)
	}

	off := NewGate(Endpoint{ID: "off", Enabled: new(false)}, nil)
	if _, err := off.Acquire(context.Background()); !errors.Is(err, ErrEndpointDisabled) {
		t.Fatalf("config-disabled endpoint: %v", err)
	}
	off.Enable()
	off.Disable("maintenance")
	if h := off.Health(); h.Enabled || h.DisabledReason != "maintenance" {
		t.Fatalf("health %+v", h)
	}
}

func TestGateConcurrencyAndRate(t *testing.T) {
	clk := newFakeClock()
	g := NewGate(Endpoint{ID: "crm", MaxInFlight: 2, RateLimit: 1, Burst: 3}, clk)
	ctx := context.Background()
	p1, _ := g.Acquire(ctx)
	p2, _ := g.Acquire(ctx)
	if h := g.Health(); h.InFlight != 2 {
		t.Fatalf("in flight %d", h.InFlight)
	}
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if _, err := g.Acquire(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("third Acquire = %v", err)
	}
	p1.Done(Attempt{Outcome: OutcomeDelivered})
	p2.Done(Attempt{Outcome: OutcomeDelivered})

	// Third token of the burst, then the rate limit holds the fourth.
	p3, err := g.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p3.Done(Attempt{Outcome: OutcomeDelivered})
	got := make(chan error, 1)
	go func() {
		p, err := g.Acquire(ctx)
		if err == nil {
			p.Done(Attempt{Outcome: OutcomeDelivered})
		}
		got <- err
	}()
	waitFor(t, "the rate limiter's timer", func() bool { return clk.Waiters() == 1 })
	clk.Advance(time.Second)
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if h := g.Health(); h.InFlight != 0 || h.Delivered != 4 {
		t.Fatalf("health %+v", h)
	}
}

// TestGateIsolation: a gate whose endpoint hangs holds only its own slots; a
// second endpoint's gate acquires at once.
func TestGateIsolation(t *testing.T) {
	slow := NewGate(Endpoint{ID: "slow", MaxInFlight: 1}, nil)
	fast := NewGate(Endpoint{ID: "fast", MaxInFlight: 1}, nil)
	held, _ := slow.Acquire(context.Background())
	defer held.Done(Attempt{Outcome: OutcomeDelivered})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	p, err := fast.Acquire(ctx)
	if err != nil {
		t.Fatalf("healthy endpoint blocked by a slow one: %v", err)
	}
	p.Done(Attempt{Outcome: OutcomeDelivered})
}

func TestHealthJSON(t *testing.T) {
	clk := newFakeClock()
	g := NewGate(Endpoint{ID: "crm"}, clk)
	b, err := json.Marshal(g.Health())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"endpoint_id":"crm","enabled":true,"state":"closed","consecutive_failures":0,"in_flight":0,"max_in_flight":8,"delivered":0,"failed":0,"rejected":0}`
	if string(b) != want {
		t.Errorf("JSON\n got %s\nwant %s", b, want)
	}
}
