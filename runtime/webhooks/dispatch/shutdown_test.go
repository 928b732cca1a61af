package dispatch_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/runtime/events"
	"github.com/parley-voice/parley/runtime/webhooks"
	"github.com/parley-voice/parley/runtime/webhooks/dispatch"
	"github.com/parley-voice/parley/runtime/webhooks/internal/whtest"
)

// A shutdown lets deliveries in flight finish, hands back the ones not
// started, and the next start on the same data directory delivers the rest.
func TestShutdownKeepsUndeliveredEventsForTheNextStart(t *testing.T) {
	rcv := whtest.NewReceiver(t)
	rcv.Respond = func(*whtest.Receipt, int) (int, time.Duration) { return http.StatusNoContent, 200 * time.Millisecond }
	dir := t.TempDir()
	cfg := dispatch.Config{DataDir: dir, Endpoints: []webhooks.Endpoint{endpoint("crm", rcv.URL)}}
	d := open(t, cfg)
	const n = 200
	for i := range n {
		d.Accept(whtest.Event(fmt.Sprintf("call_%03d", i), 1))
	}
	// The first requests are in flight (8 lanes × 200 ms each).
	eventually(t, "requests in flight", func() bool { return rcv.Requests() >= 4 })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	start := time.Now()
	if err := d.Close(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("Close took %s with a 200 ms receiver", took)
	}
	before := rcv.Distinct()
	if before == 0 || before >= n {
		t.Fatalf("%d of %d delivered before the restart; the test needs some but not all", before, n)
	}
	rcv.SetRespond(nil) // fast now
	open(t, cfg)
	rcv.WaitDistinct(t, n, 20*time.Second)
	t.Logf("%d delivered before shutdown, all %d after restart, %d duplicates", before, n, rcv.Duplicates())
}

// Deliveries still in flight at the shutdown deadline are cancelled, not
// counted as attempts, and delivered after the restart.
func TestShutdownDeadlineCancelsSlowDeliveries(t *testing.T) {
	rcv := whtest.NewReceiver(t)
	rcv.Respond = func(*whtest.Receipt, int) (int, time.Duration) { return http.StatusNoContent, 10 * time.Second }
	dir := t.TempDir()
	ep := endpoint("crm", rcv.URL)
	ep.Timeout = agents.Duration(time.Second) // the shutdown cancels the attempt before this
	ep.ConnectTimeout = agents.Duration(500 * time.Millisecond)
	cfg := dispatch.Config{DataDir: dir, Endpoints: []webhooks.Endpoint{ep}, AckWait: 2 * time.Second}
	d := open(t, cfg)
	ev := whtest.Event("call_slow", 1)
	d.Accept(ev)
	eventually(t, "the request in flight", func() bool { return rcv.Requests() == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_ = d.Close(ctx)
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("Close took %s past a 300 ms deadline", took)
	}
	rcv.SetRespond(nil)
	d2 := open(t, cfg)
	rcv.WaitDistinct(t, 1, 20*time.Second)
	recs, err := d2.Attempts(context.Background(), ev.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Canceled {
			t.Fatalf("a cancelled attempt was logged: %+v", r)
		}
	}
}

func TestOversizedEventIsRefusedAtEmitForThatEndpointOnly(t *testing.T) {
	small, big := whtest.NewReceiver(t), whtest.NewReceiver(t)
	tight := endpoint("tight", small.URL)
	tight.MaxPayloadBytes = 2048
	var mu sync.Mutex
	var rejected []*webhooks.PayloadTooLargeError
	d := open(t, dispatch.Config{
		Endpoints: []webhooks.Endpoint{tight, endpoint("roomy", big.URL)},
		OnPayloadRejected: func(ev *events.Event, pe *webhooks.PayloadTooLargeError) {
			mu.Lock()
			rejected = append(rejected, pe)
			mu.Unlock()
		},
	})
	ev := whtest.Event("call_big", 1)
	ev.Payload = map[string]any{"text": strings.Repeat("long transcript ", 400)}
	d.Accept(ev)
	big.WaitDistinct(t, 1, 10*time.Second)
	eventually(t, "the rejection", func() bool { mu.Lock(); defer mu.Unlock(); return len(rejected) == 1 })
	if pe := rejected[0]; pe.EndpointID != "tight" || pe.EventID != ev.ID || pe.Limit != 2048 || pe.Size <= 2048 {
		t.Fatalf("rejection %+v", pe)
	}
	eventually(t, "the dead letter", func() bool {
		dl, _ := d.DeadLetters(context.Background(), dispatch.DLQQuery{Endpoint: "tight"})
		return len(dl) == 1 && strings.Contains(dl[0].Reason, "payload too large")
	})
	if small.Requests() != 0 {
		t.Fatalf("the oversized event was sent to the tight endpoint")
	}
}

// A full local buffer drops new events, counts them, and never blocks the
// caller of Accept.
func TestFullBufferDropsAndCounts(t *testing.T) {
	rcv := whtest.NewReceiver(t)
	d := open(t, dispatch.Config{Endpoints: []webhooks.Endpoint{endpoint("crm", rcv.URL)}, Buffer: 8, MaxPublishing: 8})
	const n = 20000
	start := time.Now()
	for i := range n {
		d.Accept(whtest.Event("call_flood", uint64(i+1)))
	}
	perEvent := time.Since(start) / n
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := d.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	st := d.Stats()
	if st.Accepted != n || st.Stored+st.Dropped != n || st.Dropped == 0 {
		t.Fatalf("stats %+v: want %d accepted = stored + dropped, some dropped", st, n)
	}
	rcv.WaitDistinct(t, int(st.Stored), 30*time.Second)
	t.Logf("buffer 8: %d stored, %d dropped, Accept took %s per event", st.Stored, st.Dropped, perEvent)
}
