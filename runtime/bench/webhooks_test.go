package bench

import (
	"context"
	"testing"
)

func TestRunWebhooksSmall(t *testing.T) {
	rep, err := RunWebhooks(context.Background(), WebhooksConfig{Events: 500, Warmup: 50, InFlight: 8, Calls: 50, DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Latency.N != 500 || rep.BaselineLatency.N != 500 {
		t.Fatalf("measured %d durable and %d baseline events, want 500 each", rep.Latency.N, rep.BaselineLatency.N)
	}
	if rep.PerSecond <= 0 || rep.BaselinePerSecond <= 0 || rep.Ratio <= 0 {
		t.Fatalf("rates: durable %.0f/s, baseline %.0f/s, ratio %.2f", rep.PerSecond, rep.BaselinePerSecond, rep.Ratio)
	}
	if rep.Dropped != 0 || rep.ReceiverBad != 0 || rep.Unacked != 0 {
		t.Fatalf("dropped %d, rejected %d, unacked %d", rep.Dropped, rep.ReceiverBad, rep.Unacked)
	}
	t.Logf("durable %.0f/s p99 %v; baseline %.0f/s", rep.PerSecond, rep.Latency.P99, rep.BaselinePerSecond)
}
