package bench

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestRunTurns runs a small benchmark (10 calls, 3 s window) and checks only that
// turns completed and the report is consistent: timings on a shared machine are
// not something a test can assert.
func TestRunTurns(t *testing.T) {
	defer goleak.VerifyNone(t)
	window := 3 * time.Second
	if testing.Short() {
		window = 2 * time.Second
	}
	rep, err := RunTurns(context.Background(), Config{Calls: 10, Duration: window, Warmup: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", rep)
	if rep.Turns == 0 {
		t.Fatal("no turn completed during the window")
	}
	if rep.Share.N != rep.Turns || rep.Share.P50 > rep.Share.P99 || rep.Share.P99 > rep.Share.Max {
		t.Errorf("runtime share distribution is inconsistent: %+v with %d turns", rep.Share, rep.Turns)
	}
	for _, s := range rep.Stages {
		if s.N != rep.Turns {
			t.Errorf("stage %s has %d samples, want %d", s.Name, s.N, rep.Turns)
		}
	}
	if rep.CallerSide.N == 0 {
		t.Error("no reply timed from the caller's side")
	}
	if rep.FramesIn == 0 || rep.FramesOut == 0 || rep.OutLateness.N == 0 {
		t.Errorf("frames in %d, out %d, timed %d: audio did not flow both ways", rep.FramesIn, rep.FramesOut, rep.OutLateness.N)
	}
	if rep.EndedEarly != 0 || rep.LeakedGoroutines != 0 {
		t.Errorf("%d calls ended early, %d goroutines leaked", rep.EndedEarly, rep.LeakedGoroutines)
	}
	if rep.GoroutinesPerCall < 1 {
		t.Errorf("%.1f goroutines per call: the calls were not running mid-window", rep.GoroutinesPerCall)
	}
}

func TestHistQuantiles(t *testing.T) {
	var h hist
	for i := 1; i <= 1000; i++ {
		h.record(time.Duration(i) * time.Microsecond)
	}
	d := h.dist()
	near := func(got, want time.Duration) bool { return got > want*96/100 && got < want*104/100 }
	if d.N != 1000 || !near(d.P50, 500*time.Microsecond) || !near(d.P99, 990*time.Microsecond) || d.Max != time.Millisecond {
		t.Errorf("quantiles of 1..1000 µs: %+v", d)
	}
	for _, v := range []uint64{0, 1, 63, 64, 65, 1 << 40, 1<<63 - 1} {
		if b := bucketOf(v); b < 0 || b >= histBuckets {
			t.Errorf("bucketOf(%d) = %d, out of range", v, b)
		}
	}
}

func TestConfigRejectsBadValues(t *testing.T) {
	for _, c := range []Config{
		{Calls: -1},
		{SampleRate: 16001},
		{Speech: 100 * time.Millisecond},
		{SpeechLevel: -70, NoiseLevel: -60},
		{Shards: -2},
	} {
		if _, err := c.withDefaults(); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}
