package bench

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/parley-voice/parley/runtime/call"
)

// TestRunTurnsStreaming runs both streaming modes briefly and checks that
// every turn's first sentence was timed to its TTS request, and that the SSE
// mode timed its baseline client too.
func TestRunTurnsStreaming(t *testing.T) {
	defer goleak.VerifyNone(t)
	for _, mode := range []StreamMode{StreamInProcess, StreamSSE} {
		t.Run(string(mode), func(t *testing.T) {
			rep, err := RunTurns(context.Background(), Config{Calls: 5, Duration: 3 * time.Second, Warmup: 3 * time.Second,
				Speech: 400 * time.Millisecond, Pause: 300 * time.Millisecond, Stream: mode, TokenDelay: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			s := rep.Stream
			if s == nil || s.Mode != mode {
				t.Fatalf("stream report %+v", s)
			}
			t.Logf("incomplete %d stalls %d ended early %d", rep.IncompleteTurns, rep.Stalls, rep.EndedEarly)
			t.Logf("turns %d, to TTS %+v, baseline %+v, from the client %+v, unmatched %d", rep.Turns, s.ToTTS, s.Baseline, s.FromClient, s.Unmatched)
			if rep.Turns == 0 || s.ToTTS.N < rep.Turns/2 || s.Unmatched != 0 {
				t.Errorf("%d turns, %d timed to the TTS request, %d unmatched", rep.Turns, s.ToTTS.N, s.Unmatched)
			}
			if s.ToTTS.P50 <= 0 || s.ToTTS.P50 > s.ToTTS.P99 || s.ToTTS.P99 > s.ToTTS.Max {
				t.Errorf("inconsistent distribution %+v", s.ToTTS)
			}
			if (mode == StreamSSE) != (s.Baseline.N > 0) || (mode == StreamSSE) != (s.FromClient.N == s.ToTTS.N) {
				t.Errorf("mode %s has %d baseline samples and %d from the client for %d turns", mode, s.Baseline.N, s.FromClient.N, s.ToTTS.N)
			}
			if mode == StreamSSE && s.FromClient.P50 > s.ToTTS.P50 {
				t.Errorf("from the client (%v) longer than from the server (%v)", s.FromClient.P50, s.ToTTS.P50)
			}
			if rep.LeakedGoroutines != 0 {
				t.Errorf("%d goroutines outlived the calls", rep.LeakedGoroutines)
			}
		})
	}
}

// TestStreamConfig refuses what a streaming run cannot do.
func TestStreamConfig(t *testing.T) {
	for _, c := range []Config{{Stream: "grpc"}, {Stream: StreamSSE, Agent: &call.Agent{}}, {Stream: StreamInProcess, TokenDelay: -1}} {
		if _, err := c.withDefaults(); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

// TestCompleting finds the token after which the chunker emits the first sentence.
func TestCompleting(t *testing.T) {
	toks := []string{"Order", " 12", " is", " ready", ".", " Thanks", "."}
	if i, s := completing(toks); i != 5 || s != "Order 12 is ready." {
		t.Errorf("completing = %d %q", i, s)
	}
}

// BenchmarkStreamingTurn measures, per turn, the runtime's share between the
// model's streamed tokens and the TTS request: from the emission of the chunk
// that completes the reply's first sentence to the TTS Synthesize call for
// it, with 50 concurrent calls for 20 s (a few hundred turns). The SSE
// variants run the real OpenAI client against providertest's fake over
// loopback and report the same-run baseline of a bare SSE client; share is
// total minus baseline, percentile by percentile, and client-* the runtime's
// share measured directly from the OpenAI client's hand-over. One run per invocation:
// ns/op is meaningless and reported as 0. docs/BENCHMARKS.md records results.
func BenchmarkStreamingTurn(b *testing.B) {
	for _, v := range []struct {
		name  string
		mode  StreamMode
		delay time.Duration
	}{
		{"inprocess", StreamInProcess, 0},
		{"sse", StreamSSE, 0},
		{"sse-20ms-tokens", StreamSSE, 20 * time.Millisecond},
	} {
		b.Run(v.name, func(b *testing.B) {
			rep, err := RunTurns(context.Background(), Config{Calls: 50, Duration: 20 * time.Second,
				Speech: 600 * time.Millisecond, Pause: 300 * time.Millisecond, Stream: v.mode, TokenDelay: v.delay})
			if err != nil {
				b.Fatal(err)
			}
			s := rep.Stream
			us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 }
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(float64(s.ToTTS.N), "turns")
			b.ReportMetric(us(s.ToTTS.P50), "p50-µs")
			b.ReportMetric(us(s.ToTTS.P99), "p99-µs")
			b.ReportMetric(us(s.ToTTS.Max), "max-µs")
			if v.mode == StreamSSE {
				b.ReportMetric(us(s.Baseline.P50), "base-p50-µs")
				b.ReportMetric(us(s.Baseline.P99), "base-p99-µs")
				b.ReportMetric(us(s.ToTTS.P50-s.Baseline.P50), "share-p50-µs")
				b.ReportMetric(us(s.ToTTS.P99-s.Baseline.P99), "share-p99-µs")
				b.ReportMetric(us(s.FromClient.P50), "client-p50-µs")
				b.ReportMetric(us(s.FromClient.P99), "client-p99-µs")
			}
			b.Logf("load before %s, after %s; %d turns (%d incomplete), %d first sentences unmatched",
				rep.LoadBefore, rep.LoadAfter, rep.Turns, rep.IncompleteTurns, s.Unmatched)
		})
	}
}
