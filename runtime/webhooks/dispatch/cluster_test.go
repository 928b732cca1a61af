//go:build linux

package dispatch_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/runtime/webhooks"
	"github.com/parley-voice/parley/runtime/webhooks/dispatch"
	"github.com/parley-voice/parley/runtime/webhooks/internal/whtest"
)

// TestClusterNATSNodeKilledMidBurst is issue 3's cluster test: three
// nats-server processes in a JetStream cluster, two parley nodes (two
// dispatchers, each connected to a different server), and the server that
// leads the events stream, which one parley node is connected to, is killed
// with SIGKILL in the middle of a burst. Nothing is lost.
func TestClusterNATSNodeKilledMidBurst(t *testing.T) {
	start := time.Now()
	cluster := whtest.StartNATSCluster(t, 3)
	ready := time.Since(start)
	rcv := whtest.NewReceiver(t)

	logs := &crashBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("parley nodes' logs (end):\n%s", crashTail(logs.String(), 6000))
		}
	})
	ep := endpoint("crm", rcv.URL)
	ep.Timeout = agents.Duration(2 * time.Second) // AckWait must be at least twice this
	node := func(name string, order ...int) *dispatch.Dispatcher {
		return open(t, dispatch.Config{
			URL: cluster.URL(order...),
			// Connect to the first server listed, so the two parley nodes sit
			// on different servers.
			NATSOptions: []nats.Option{nats.DontRandomize()},
			Replicas:    3,
			// Every server reserves the streams' MaxBytes; keep the
			// reservation well within the test servers' limit.
			MaxEventBytes:   1 << 30,
			MaxAttemptBytes: 256 << 20,
			Node:            name,
			Endpoints:       []webhooks.Endpoint{ep},
			// Deliveries in flight on the killed server come back after this.
			AckWait: 5 * time.Second,
			Logger:  slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})).With("node", name),
		})
	}
	a := node("parley-a", 0, 1, 2) // on n1; it creates the streams
	victim := cluster.StreamLeader(t, "PARLEY_EVENTS")
	// parley-b connects to the stream leader, unless parley-a already does.
	order := []int{victim}
	for i := range cluster.Nodes {
		if i != victim {
			order = append(order, i)
		}
	}
	if victim == 0 {
		order = []int{1, 2, 0}
	}
	b := node("parley-b", order...)
	onVictim := "parley-b"
	if victim == 0 {
		onVictim = "parley-a"
	}
	t.Logf("cluster ready in %s; the events stream leader is %s, which %s is connected to",
		ready.Round(time.Millisecond), cluster.Nodes[victim].Name, onVictim)

	const burst = 6000
	ids := make([]string, burst)
	var killedAt time.Duration
	burstStart := time.Now()
	for i := range burst {
		if i == burst/2 {
			// Mid-burst, with deliveries under way: their acknowledgements,
			// and the publishes of the events still coming, go through the
			// killed server.
			crashWaitFor(t, "the first deliveries", 30*time.Second, func() bool { return rcv.Distinct() >= 500 })
			cluster.Kill(t, victim)
			killedAt = time.Since(start)
			t.Logf("killed nats-server %s (SIGKILL) after %d of %d events accepted, %d delivered",
				cluster.Nodes[victim].Name, i, burst, rcv.Distinct())
		}
		ev := whtest.Event(fmt.Sprintf("call_%03d", i%200), uint64(i/200+1))
		ids[i] = ev.ID
		if i%2 == 0 {
			a.Accept(ev)
		} else {
			b.Accept(ev)
		}
		if i%100 == 99 {
			time.Sleep(2 * time.Millisecond) // a burst, not one instant
		}
	}
	emitted := time.Since(burstStart)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, d := range []*dispatch.Dispatcher{a, b} {
		if err := d.Flush(ctx); err != nil {
			t.Fatalf("flushing: %v", err)
		}
	}
	stored := time.Since(start)
	for name, d := range map[string]*dispatch.Dispatcher{"parley-a": a, "parley-b": b} {
		if st := d.Stats(); st.Accepted != burst/2 || st.Stored != burst/2 || st.Dropped != 0 {
			t.Fatalf("%s: producer stats %+v, want %d accepted and stored, none dropped", name, st, burst/2)
		}
	}
	rcv.WaitDistinct(t, burst, 90*time.Second)
	for _, id := range ids {
		if !rcv.Has(id) {
			t.Fatalf("event %s never arrived", id)
		}
	}
	if bad := rcv.BadSignatures(); bad != 0 {
		t.Fatalf("%d requests failed signature verification", bad)
	}
	dups := rcv.Duplicates()
	if dups >= burst {
		t.Fatalf("%d duplicates for %d events", dups, burst)
	}
	var delivered [2]uint64
	for i, d := range []*dispatch.Dispatcher{a, b} {
		if eps, err := d.Endpoints(ctx); err == nil && len(eps) == 1 {
			delivered[i] = eps[0].Node.Delivered
		}
	}
	summary := fmt.Sprintf("cluster test: %d/%d distinct event_ids delivered, %d duplicates, %d requests "+
		"(parley-a delivered %d, parley-b %d; republished %d+%d); burst emitted in %s, stream leader %s killed at %s, "+
		"all stored at %s, all delivered at %s",
		rcv.Distinct(), burst, dups, rcv.Requests(), delivered[0], delivered[1], a.Stats().Republished, b.Stats().Republished,
		emitted.Round(time.Millisecond), cluster.Nodes[victim].Name, killedAt.Round(time.Millisecond),
		stored.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	t.Log(summary)
	fmt.Println(summary)
}
