package dispatch_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/runtime/webhooks"
	"github.com/parley-voice/parley/runtime/webhooks/dispatch"
	"github.com/parley-voice/parley/runtime/webhooks/internal/whtest"
)

// Retries are due on the dispatcher's clock, which these tests move by hand:
// a retry waits in the queue at most RetryPoll (20 ms here) of real time
// before it is checked against the clock again, so hours of schedule pass in
// milliseconds and nothing sleeps for minutes.

func clocked(t *testing.T, eps ...webhooks.Endpoint) (*dispatch.Dispatcher, *whtest.Clock) {
	t.Helper()
	clock := whtest.NewClock()
	d := open(t, dispatch.Config{Endpoints: eps, Clock: clock, RetryPoll: 20 * time.Millisecond,
		Rand: func() float64 { return 0.5 }}) // no jitter: 1 + 0.2×(2×0.5−1) = 1
	return d, clock
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// never checks that cond stays false for a while.
func never(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(300 * time.Millisecond)
	for time.Now().Before(deadline) {
		if cond() {
			t.Fatalf("%s happened too early", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func attempts(t *testing.T, d *dispatch.Dispatcher, id string, n int) []dispatch.AttemptRecord {
	t.Helper()
	var recs []dispatch.AttemptRecord
	eventually(t, "the attempt log", func() bool {
		var err error
		recs, err = d.Attempts(context.Background(), id, "")
		if err != nil {
			t.Fatal(err)
		}
		return len(recs) >= n
	})
	return recs
}

func TestRetryScheduleOnTheClock(t *testing.T) {
	rcv := whtest.NewReceiver(t)
	var fail atomic.Int32
	fail.Store(2)
	rcv.Respond = func(*whtest.Receipt, int) (int, time.Duration) {
		if fail.Add(-1) >= 0 {
			return http.StatusInternalServerError, 0
		}
		return http.StatusNoContent, 0
	}
	d, clock := clocked(t, endpoint("crm", rcv.URL))
	ev := whtest.Event("call_a", 1)
	start := clock.Now()
	d.Accept(ev)
	// The clock moves only once each attempt is logged, i.e. its retry is
	// scheduled from the time the attempt ended.
	attempts(t, d, ev.ID, 1)

	// Attempt 2 is due 5 s after attempt 1.
	clock.Advance(4 * time.Second)
	never(t, "attempt 2 before 5s", func() bool { return len(rcv.Seen()) > 1 })
	clock.Advance(time.Second)
	attempts(t, d, ev.ID, 2)

	// Attempt 3 is due 5 min after attempt 2; it succeeds.
	clock.Advance(4*time.Minute + 59*time.Second)
	never(t, "attempt 3 before 5m", func() bool { return len(rcv.Seen()) > 2 })
	clock.Advance(time.Second)
	eventually(t, "delivery", func() bool { return rcv.Has(ev.ID) })

	recs := attempts(t, d, ev.ID, 3)
	want := []struct {
		status int
		next   time.Time
	}{
		{500, start.Add(5 * time.Second)},
		{500, start.Add(5*time.Second + 5*time.Minute)},
		{204, time.Time{}},
	}
	for i, w := range want {
		r := recs[i]
		if r.N != i+1 || r.Status != w.status || !r.NextAt.Equal(w.next) || r.EndpointID != "crm" || r.EventID != ev.ID {
			t.Errorf("attempt %d: got n=%d status=%d next=%s, want status=%d next=%s", i+1, r.N, r.Status, r.NextAt, w.status, w.next)
		}
	}
	if recs[2].Outcome != webhooks.OutcomeDelivered || recs[0].Err == "" || !strings.Contains(recs[0].ResponseSnippet, "") {
		t.Errorf("attempt records: %+v", recs)
	}
}

func TestRetryAfterAndThrottleFloor(t *testing.T) {
	cases := []struct {
		name       string
		status     int
		retryAfter string
		wait       time.Duration
	}{
		{"retry-after longer than the schedule", http.StatusServiceUnavailable, "120", 120 * time.Second},
		// The 60s floor is spread upwards by up to the jitter: 60s × (1 + 0.2×0.5).
		{"429 waits at least 60s", http.StatusTooManyRequests, "", 66 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rcv := whtest.NewReceiver(t)
			rcv.RetryAfter.Store(c.retryAfter)
			var n atomic.Int32
			rcv.Respond = func(*whtest.Receipt, int) (int, time.Duration) {
				if n.Add(1) == 1 {
					return c.status, 0
				}
				return http.StatusOK, 0
			}
			d, clock := clocked(t, endpoint("crm", rcv.URL))
			ev := whtest.Event("call_b", 1)
			d.Accept(ev)
			attempts(t, d, ev.ID, 1)
			clock.Advance(c.wait - time.Second)
			never(t, "the retry", func() bool { return len(rcv.Seen()) > 1 })
			clock.Advance(time.Second)
			eventually(t, "the retry", func() bool { return rcv.Has(ev.ID) })
			if r := attempts(t, d, ev.ID, 1)[0]; r.Status != c.status || r.NextAt.Sub(r.At) != c.wait {
				t.Errorf("first attempt: status %d, next after %s; want %d, %s", r.Status, r.NextAt.Sub(r.At), c.status, c.wait)
			}
		})
	}
}

func TestExhaustedEventsGoToTheDLQAndReplay(t *testing.T) {
	rcv := whtest.NewReceiver(t)
	var down atomic.Bool
	down.Store(true)
	rcv.Respond = func(*whtest.Receipt, int) (int, time.Duration) {
		if down.Load() {
			return http.StatusBadGateway, 0
		}
		return http.StatusNoContent, 0
	}
	ep := endpoint("crm", rcv.URL)
	ep.Retry = &webhooks.RetryPolicy{Schedule: []agents.Duration{0, agents.Duration(10 * time.Second)}}
	ep.CircuitBreaker = &webhooks.BreakerPolicy{Failures: 1000}
	d, clock := clocked(t, ep)
	ctx := context.Background()

	evs := []*dispatch.DeadLetter{}
	first := whtest.Event("call_c", 1)
	second := whtest.Event("call_d", 1)
	third := whtest.Event("call_e", 1)
	d.Accept(first)
	d.Accept(second)
	attempts(t, d, first.ID, 1)
	attempts(t, d, second.ID, 1)
	clock.Advance(10 * time.Second)
	eventually(t, "the DLQ", func() bool {
		dl, err := d.DeadLetters(ctx, dispatch.DLQQuery{Endpoint: "crm"})
		if err != nil {
			t.Fatal(err)
		}
		evs = evs[:0]
		for i := range dl {
			evs = append(evs, &dl[i])
		}
		return len(dl) == 2
	})
	for _, dl := range evs {
		if dl.Attempts != 2 || !strings.Contains(dl.Reason, "all 2 attempts failed") || !strings.Contains(dl.Reason, "502") {
			t.Errorf("dead letter %+v", *dl)
		}
	}
	midway := clock.Now()
	clock.Advance(time.Hour)
	d.Accept(third)
	attempts(t, d, third.ID, 1)
	clock.Advance(10 * time.Second)
	eventually(t, "third in the DLQ", func() bool {
		dl, _ := d.DeadLetters(ctx, dispatch.DLQQuery{Endpoint: "crm"})
		return len(dl) == 3
	})
	st, err := d.Endpoint(ctx, "crm")
	if err != nil || st.DeadLettered != 3 {
		t.Fatalf("endpoint status %+v, %v", st, err)
	}

	down.Store(false)
	// One event by id.
	res, err := d.Replay(ctx, dispatch.ReplayRequest{Endpoint: "crm", EventID: second.ID})
	if err != nil || res.Replayed != 1 {
		t.Fatalf("replay one: %+v, %v", res, err)
	}
	eventually(t, "the replayed event", func() bool { return rcv.Has(second.ID) })
	// A time range: only first is dead-lettered before midway+1s.
	res, err = d.Replay(ctx, dispatch.ReplayRequest{Endpoint: "crm", Until: midway.Add(time.Second)})
	if err != nil || res.Replayed != 1 || res.EventIDs[0] != first.ID {
		t.Fatalf("replay range: %+v, %v", res, err)
	}
	eventually(t, "the range replay", func() bool { return rcv.Has(first.ID) })
	// The rest.
	res, err = d.Replay(ctx, dispatch.ReplayRequest{Endpoint: "crm", All: true})
	if err != nil || res.Replayed != 1 || res.EventIDs[0] != third.ID {
		t.Fatalf("replay all: %+v, %v", res, err)
	}
	eventually(t, "the full replay", func() bool { return rcv.Has(third.ID) })
	if dl, _ := d.DeadLetters(ctx, dispatch.DLQQuery{}); len(dl) != 0 {
		t.Fatalf("DLQ after replay: %+v", dl)
	}
	for _, r := range rcv.Receipts() {
		if r.CallID == "" || !strings.HasPrefix(r.EventID, "evt_") {
			t.Fatalf("receipt %+v", r)
		}
	}
	if _, err := d.Replay(ctx, dispatch.ReplayRequest{Endpoint: "crm"}); err == nil {
		t.Fatal("a replay that names nothing was accepted")
	}
	if _, err := d.Replay(ctx, dispatch.ReplayRequest{Endpoint: "nope", All: true}); err == nil {
		t.Fatal("a replay of an unknown endpoint was accepted")
	}
}

func TestGoneDisablesTheEndpointUntilEnabled(t *testing.T) {
	rcv := whtest.NewReceiver(t)
	var gone atomic.Bool
	gone.Store(true)
	rcv.Respond = func(*whtest.Receipt, int) (int, time.Duration) {
		if gone.Load() {
			return http.StatusGone, 0
		}
		return http.StatusNoContent, 0
	}
	other := whtest.NewReceiver(t)
	d, _ := clocked(t, endpoint("crm", rcv.URL), endpoint("analytics", other.URL))
	ctx := context.Background()
	first, second := whtest.Event("call_f", 1), whtest.Event("call_f", 2)
	d.Accept(first)
	eventually(t, "410", func() bool { return len(rcv.Seen()) == 1 })
	eventually(t, "the endpoint disabled", func() bool {
		st, err := d.Endpoint(ctx, "crm")
		return err == nil && !st.Health.Enabled && strings.Contains(st.Health.DisabledReason, "410")
	})
	d.Accept(second)
	// The other endpoint goes on; crm gets nothing while disabled.
	other.WaitDistinct(t, 2, 10*time.Second)
	never(t, "a delivery to a disabled endpoint", func() bool { return len(rcv.Seen()) > 1 })
	if dl, _ := d.DeadLetters(ctx, dispatch.DLQQuery{Endpoint: "crm"}); len(dl) != 1 || dl[0].EventID != first.ID || !strings.Contains(dl[0].Reason, "410") {
		t.Fatalf("DLQ after 410: %+v", dl)
	}

	gone.Store(false)
	if err := d.Enable(ctx, "crm"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the held event after enabling", func() bool { return rcv.Has(second.ID) })
	if _, err := d.Replay(ctx, dispatch.ReplayRequest{Endpoint: "crm", EventID: first.ID}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the replayed 410 event", func() bool { return rcv.Has(first.ID) })
	if err := d.Enable(ctx, "nope"); err == nil {
		t.Fatal("enabling an unknown endpoint succeeded")
	}
}
