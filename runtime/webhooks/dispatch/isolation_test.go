package dispatch_test

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-voice/parley/runtime/events"
	"github.com/parley-voice/parley/runtime/webhooks"
	"github.com/parley-voice/parley/runtime/webhooks/dispatch"
	"github.com/parley-voice/parley/runtime/webhooks/internal/whtest"
)

// The isolation acceptance test of issue 3: one endpoint down with a 10,000-event
// backlog, one that answers after 10 s, and one healthy; the healthy one's p99
// delivery latency must stay within 1.25× of its p99 when it is alone, both
// measured in this run under the same steady load.
const (
	isoRate    = 250             // events emitted per second in each measurement (under -race the dispatcher alone keeps up with a few hundred a second)
	isoWindow  = 4 * time.Second // how long the steady load lasts
	isoCalls   = 100             // calls the load is spread over (per-call lanes)
	isoBacklog = 10000           // events queued for the down endpoint first
	isoWarmup  = 200             // events delivered before measuring, not measured
	isoRatio   = 1.25
	// isoFloor: p99s below it count as it. On a shared 2-core VM (and under
	// -race) a sub-millisecond p99 moves by more than 25 % with any scheduling
	// hiccup; what the test guards against — deliveries queueing behind a
	// dead or slow endpoint — costs milliseconds to seconds.
	isoFloor = 2 * time.Millisecond
	// The slow endpoint answers after isoSlow, within its 15 s default timeout.
	isoSlow = 10 * time.Second
)

// backlogType is an event type only the down endpoint takes.
const backlogType = events.CallStateChanged

func TestHealthyEndpointIsolatedFromDownAndSlowEndpoints(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about 30 s")
	}
	healthyEvents := []string{"speech.*"} // the load's type; not backlogType

	// Phase A: the healthy endpoint alone.
	alone := whtest.NewReceiver(t)
	dA := open(t, dispatch.Config{Endpoints: []webhooks.Endpoint{withEvents(endpoint("healthy", alone.URL), healthyEvents)}})
	warm(t, dA, alone, "a")
	sentA := steadyLoad(t, dA, "a")
	alone.WaitDistinct(t, isoWarmup+len(sentA), 30*time.Second)
	latA := latencies(t, alone, sentA, nil)
	closeNow(t, dA)

	// Phase B: the same endpoint next to a dead one with a deep backlog and
	// one that answers after 10 s.
	healthy := whtest.NewReceiver(t)
	slow := whtest.NewReceiver(t)
	slow.Respond = func(*whtest.Receipt, int) (int, time.Duration) { return 204, isoSlow }
	eps := []webhooks.Endpoint{
		endpoint("down", refusedURL(t)),
		withEvents(endpoint("slow", slow.URL), healthyEvents),
		withEvents(endpoint("healthy", healthy.URL), healthyEvents),
	}
	dB := open(t, dispatch.Config{Endpoints: eps})
	for i := range isoBacklog {
		ev := whtest.Event(fmt.Sprintf("backlog_%03d", i%isoCalls), uint64(i/isoCalls+1))
		ev.Type = backlogType
		dB.Accept(ev)
	}
	flush(t, dB)
	if st := dB.Stats(); st.Dropped != 0 || st.Stored != isoBacklog {
		t.Fatalf("backlog not stored: %+v", st)
	}
	warm(t, dB, healthy, "b")
	startB := time.Now()
	sentB := steadyLoad(t, dB, "b")
	healthy.WaitDistinct(t, isoWarmup+len(sentB), 30*time.Second)
	byWindow := map[int]time.Duration{} // worst latency in each 500 ms of the load
	latB := latencies(t, healthy, sentB, func(sent time.Time, l time.Duration) {
		w := int(sent.Sub(startB) / (500 * time.Millisecond))
		byWindow[w] = max(byWindow[w], l)
	})
	var worst []string
	for w := range len(byWindow) {
		worst = append(worst, byWindow[w].Round(100*time.Microsecond).String())
	}
	t.Logf("healthy, with bad endpoints: worst latency in each 500 ms of the load: %s", strings.Join(worst, " "))

	a, b := pct(latA, 0.99), pct(latB, 0.99)
	t.Logf("healthy endpoint, %d events at %d/s: alone p50 %v p99 %v max %v; with a down endpoint (%d backlog) and a 10s one: p50 %v p99 %v max %v; p99 ratio %.2f",
		len(latA), isoRate, pct(latA, 0.5), a, latA[len(latA)-1], isoBacklog, pct(latB, 0.5), b, latB[len(latB)-1], float64(b)/float64(a))
	// The latency bound is checked without the race detector (make test runs
	// this test a second time without -race); under it the test still checks
	// that everything is delivered and isolated, and logs the ratio.
	if limit := time.Duration(isoRatio * float64(max(a, isoFloor))); max(b, isoFloor) > limit && !raceDetector {
		t.Errorf("healthy p99 with bad endpoints %v > %.2f × max(alone %v, floor %v) = %v", b, isoRatio, a, isoFloor, limit)
	}
	if healthy.BadSignatures() != 0 || alone.BadSignatures() != 0 {
		t.Errorf("bad signatures: %d alone, %d with others", alone.BadSignatures(), healthy.BadSignatures())
	}

	// The slow endpoint is not starved: its requests go out, and its answers
	// come back and are counted as deliveries.
	ctx := context.Background()
	eventually10 := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(isoSlow + 10*time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	eventually10("the slow endpoint's first answers", func() bool {
		s, err := dB.Endpoint(ctx, "slow")
		if err != nil {
			t.Fatal(err)
		}
		return s.Node.Delivered >= 1
	})
	if slow.Requests() == 0 {
		t.Errorf("the slow endpoint got no requests")
	}

	// The down endpoint really was down and still holds its backlog (and the
	// load), neither delivered nor lost.
	down, err := dB.Endpoint(ctx, "down")
	if err != nil {
		t.Fatal(err)
	}
	if down.Node.Delivered != 0 || down.Health.Failed == 0 {
		t.Errorf("down endpoint: %d delivered, %d failed attempts", down.Node.Delivered, down.Health.Failed)
	}
	if held := down.Pending + down.Retrying + down.DeadLettered; held < isoBacklog {
		t.Errorf("down endpoint holds %d events (pending %d, retrying %d, dead %d), want ≥ %d",
			held, down.Pending, down.Retrying, down.DeadLettered, isoBacklog)
	}
	h, err := dB.Endpoint(ctx, "healthy")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("down: pending %d, retrying %d, failed attempts %d, breaker %v; slow: %d requests; healthy: skipped %d",
		down.Pending, down.Retrying, down.Health.Failed, down.Health.State, slow.Requests(), h.Node.Skipped)
	// The backlog's type is not among the healthy endpoint's filters, so its
	// consumer's subject filter keeps those events from it altogether.
	if h.Node.Skipped != 0 {
		t.Errorf("healthy endpoint was handed %d events its filters do not match", h.Node.Skipped)
	}
	closeNow(t, dB) // the slow endpoint's requests are cancelled and stay queued
}

func withEvents(ep webhooks.Endpoint, globs []string) webhooks.Endpoint {
	ep.Events = globs
	return ep
}

// refusedURL is a loopback address nothing listens on: connections are refused.
func refusedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/hook"
}

func flush(t *testing.T, d *dispatch.Dispatcher) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := d.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// closeNow closes d without waiting for slow deliveries (they stay queued).
func closeNow(t *testing.T, d *dispatch.Dispatcher) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = d.Close(ctx)
}

// warm delivers a few events to r first, so that connections are open and the
// queue's files exist before measuring.
func warm(t *testing.T, d *dispatch.Dispatcher, r *whtest.Receiver, phase string) {
	t.Helper()
	for i := range isoWarmup {
		d.Accept(whtest.Event(fmt.Sprintf("%s_warm_%02d", phase, i%isoCalls), uint64(i/isoCalls+1)))
	}
	r.WaitDistinct(t, isoWarmup, 30*time.Second)
}

// steadyLoad emits isoRate events a second for isoWindow, spread over
// isoCalls calls, and returns when each was emitted by event id.
func steadyLoad(t *testing.T, d *dispatch.Dispatcher, phase string) map[string]time.Time {
	t.Helper()
	total := int(isoRate * isoWindow / time.Second)
	sent := make(map[string]time.Time, total)
	start := time.Now()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for i := 0; i < total; {
		due := min(total, int(time.Since(start)*isoRate/time.Second)+1)
		for ; i < due; i++ {
			ev := whtest.Event(fmt.Sprintf("%s_call_%03d", phase, i%isoCalls), uint64(i/isoCalls+1))
			now := time.Now()
			ev.Timestamp = now
			sent[ev.ID] = now
			d.Accept(ev)
		}
		<-tick.C
	}
	return sent
}

// latencies returns, sorted, emit-to-receipt latency of every event in sent.
// each, when set, sees every one with its emit time.
func latencies(t *testing.T, r *whtest.Receiver, sent map[string]time.Time, each func(sent time.Time, l time.Duration)) []time.Duration {
	t.Helper()
	out := make([]time.Duration, 0, len(sent))
	for _, rc := range r.Receipts() {
		if at, ok := sent[rc.EventID]; ok {
			out = append(out, rc.At.Sub(at))
			if each != nil {
				each(at, rc.At.Sub(at))
			}
			delete(sent, rc.EventID) // a duplicate counts once, at its first arrival
		}
	}
	if len(sent) != 0 {
		t.Fatalf("%d events of the load never arrived", len(sent))
	}
	slices.Sort(out)
	return out
}

func pct(sorted []time.Duration, p float64) time.Duration {
	return sorted[int(p*float64(len(sorted)-1)+0.5)]
}
