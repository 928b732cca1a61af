package plugins

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestReportProgressWithoutReporterIsANoOp(t *testing.T) {
	// Must not panic nor block, with or without a deadline in ctx.
	ReportProgress(context.Background(), Progress{Message: "half way", Say: "Still checking.", Fraction: 0.5})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	ReportProgress(ctx, Progress{Message: "x"})
}

func TestReportProgressNormalises(t *testing.T) {
	var got []Progress
	ctx := WithProgress(context.Background(), func(p Progress) { got = append(got, p) })
	long := strings.Repeat("é", MaxProgressSay) // 2 bytes a rune
	tests := []struct {
		in   Progress
		want *Progress // nil: dropped
	}{
		{Progress{Message: "  page 2 of 5 \n", Fraction: 0.4}, &Progress{Message: "page 2 of 5", Fraction: 0.4}},
		{Progress{Say: "Still checking.", Fraction: 7}, &Progress{Say: "Still checking.", Fraction: 1}},
		{Progress{Message: "m", Fraction: -0.5}, &Progress{Message: "m"}},
		{Progress{Message: "m", Fraction: math.NaN()}, &Progress{Message: "m"}},
		{Progress{Say: long}, &Progress{Say: strings.Repeat("é", MaxProgressSay/2)}},
		{Progress{}, nil},
		{Progress{Message: "   ", Say: "\t"}, nil},
	}
	for _, tt := range tests {
		got = nil
		ReportProgress(ctx, tt.in)
		switch {
		case tt.want == nil && len(got) != 0:
			t.Errorf("ReportProgress(%+v) delivered %+v; want it dropped", tt.in, got)
		case tt.want != nil && (len(got) != 1 || got[0] != *tt.want):
			t.Errorf("ReportProgress(%+v) delivered %+v; want %+v", tt.in, got, *tt.want)
		}
	}
	if n := len(clip(strings.Repeat("x", 2*MaxProgressMessage), MaxProgressMessage)); n != MaxProgressMessage {
		t.Errorf("message clipped to %d bytes, want %d", n, MaxProgressMessage)
	}
}

// TestRunPassesContextValues: a tool run through Run sees the reporter and the
// call info its caller put in ctx.
func TestRunPassesContextValues(t *testing.T) {
	reports := make(chan Progress, 1)
	ctx := WithProgress(context.Background(), func(p Progress) { reports <- p })
	info := ToolCallInfo{CallID: "call_A", AgentID: "demo", Turn: 2, Round: 1, ToolCallID: "call_1", Tool: "book"}
	ctx = WithCallInfo(ctx, info)
	var seenKey string
	var seenInfo ToolCallInfo
	tool := &fakeTool{name: "book", fn: func(ctx context.Context, _ json.RawMessage) (Result, error) {
		ReportProgress(ctx, Progress{Message: "booking"})
		seenKey = IdempotencyKey(ctx)
		seenInfo, _ = CallInfo(ctx)
		return Result{Content: "ok"}, nil
	}}
	if _, err := Run(ctx, tool, nil, time.Second, 0); err != nil {
		t.Fatal(err)
	}
	if p := <-reports; p.Message != "booking" {
		t.Errorf("report %+v", p)
	}
	if seenInfo != info || seenKey != info.IdempotencyKey() || seenKey == "" {
		t.Errorf("tool saw %+v, key %q; want %+v, key %q", seenInfo, seenKey, info, info.IdempotencyKey())
	}
}

func TestIdempotencyKey(t *testing.T) {
	if k := IdempotencyKey(context.Background()); k != "" {
		t.Errorf("key outside a call = %q, want empty", k)
	}
	if _, ok := CallInfo(context.Background()); ok {
		t.Error("CallInfo outside a call reports ok")
	}
	base := ToolCallInfo{CallID: "call_01M8D5ZJEFDXEDNKH1S46A26QX", AgentID: "demo", Turn: 3, Round: 1, ToolCallID: "call_abc", Tool: "book"}
	key := IdempotencyKey(WithCallInfo(context.Background(), base))
	if len(key) != 32 || strings.Trim(key, "0123456789abcdef") != "" {
		t.Fatalf("key %q: want 32 lower-case hex digits", key)
	}
	// The same tool call gives the same key, whatever ctx carries it and
	// whatever the agent or tool name.
	again := base
	again.AgentID, again.Tool = "other", "book_v2"
	ctx, cancel := context.WithTimeout(WithCallInfo(context.Background(), again), time.Second)
	defer cancel()
	if k := IdempotencyKey(ctx); k != key {
		t.Errorf("same tool call: key %q, then %q", key, k)
	}
	// Any other tool call gives another key.
	others := map[string]ToolCallInfo{
		"tool call id": {CallID: base.CallID, Turn: 3, Round: 1, ToolCallID: "call_abd"},
		"call id":      {CallID: "call_01M8D5ZJEFDXEDNKH1S46A26QY", Turn: 3, Round: 1, ToolCallID: "call_abc"},
		"turn":         {CallID: base.CallID, Turn: 4, Round: 1, ToolCallID: "call_abc"},
		"round":        {CallID: base.CallID, Turn: 3, Round: 2, ToolCallID: "call_abc"},
	}
	seen := map[string]string{key: "base"}
	for what, info := range others {
		k := info.IdempotencyKey()
		if prev, dup := seen[k]; dup {
			t.Errorf("another %s gives the key of %s: %q", what, prev, k)
		}
		seen[k] = what
	}
	// Ids that would spell the same text when joined still differ.
	a := ToolCallInfo{CallID: "c/1", Turn: 2, Round: 3, ToolCallID: "x"}
	b := ToolCallInfo{CallID: "c", Turn: 1, Round: 2, ToolCallID: "3/x"}
	if a.IdempotencyKey() == b.IdempotencyKey() {
		t.Errorf("%+v and %+v share a key", a, b)
	}
}

// recorder collects delivered reports with their times.
type recorder struct {
	mu  sync.Mutex
	got []Progress
	at  []time.Time
	c   chan struct{}
}

func newRecorder() *recorder { return &recorder{c: make(chan struct{}, 100)} }

func (r *recorder) deliver(p Progress) {
	r.mu.Lock()
	r.got = append(r.got, p)
	r.at = append(r.at, time.Now())
	r.mu.Unlock()
	r.c <- struct{}{}
}

func (r *recorder) snapshot() ([]Progress, []time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Progress(nil), r.got...), append([]time.Time(nil), r.at...)
}

func (r *recorder) await(t *testing.T) {
	t.Helper()
	select {
	case <-r.c:
	case <-time.After(5 * time.Second):
		t.Fatal("no report delivered within 5s")
	}
}

func TestProgressThrottleKeepsTheLatest(t *testing.T) {
	const interval = 100 * time.Millisecond
	rec := newRecorder()
	th := NewProgressThrottle(interval, rec.deliver)
	defer th.Stop()
	th.Report(Progress{Message: "1"})
	if got, _ := rec.snapshot(); len(got) != 1 {
		t.Fatalf("the first report was not delivered at once: %+v", got)
	}
	<-rec.c
	th.Report(Progress{Message: "2", Say: "Still checking."})
	th.Report(Progress{Message: "3"})
	th.Report(Progress{Message: "4", Fraction: 0.8})
	if got, _ := rec.snapshot(); len(got) != 1 {
		t.Fatalf("reports within the interval were delivered at once: %+v", got)
	}
	rec.await(t)
	got, at := rec.snapshot()
	want := Progress{Message: "4", Say: "Still checking.", Fraction: 0.8}
	if len(got) != 2 || got[1] != want {
		t.Fatalf("delivered %+v; want the latest report, keeping the held phrase: %+v", got, want)
	}
	if gap := at[1].Sub(at[0]); gap < interval-2*time.Millisecond {
		t.Errorf("second report %s after the first, want at least %s", gap, interval)
	}
	// Nothing else is held.
	select {
	case <-rec.c:
		got, _ := rec.snapshot()
		t.Errorf("an extra report was delivered: %+v", got)
	case <-time.After(3 * interval):
	}
}

func TestProgressThrottleBoundsTheRate(t *testing.T) {
	const interval = 40 * time.Millisecond
	rec := newRecorder()
	th := NewProgressThrottle(interval, rec.deliver)
	start := time.Now()
	n := 0
	for time.Since(start) < 400*time.Millisecond {
		n++
		th.Report(Progress{Message: "tick", Fraction: float64(n%100) / 100})
		time.Sleep(time.Millisecond)
	}
	th.Stop()
	elapsed := time.Since(start)
	got, at := rec.snapshot()
	if limit := int(elapsed/interval) + 2; len(got) > limit {
		t.Errorf("%d reports in %s delivered %d times, want at most %d", n, elapsed, len(got), limit)
	}
	if len(got) < 3 {
		t.Errorf("%d reports in %s delivered only %d times", n, elapsed, len(got))
	}
	// The recorder timestamps a little after the throttle does: allow 2 ms.
	for i := 1; i < len(at)-1; i++ { // the last one may be Stop's flush
		if gap := at[i].Sub(at[i-1]); gap < interval-2*time.Millisecond {
			t.Errorf("reports %d and %d delivered %s apart, want at least %s", i-1, i, gap, interval)
		}
	}
}

func TestProgressThrottleStop(t *testing.T) {
	const interval = 50 * time.Millisecond
	rec := newRecorder()
	th := NewProgressThrottle(interval, rec.deliver)
	th.Report(Progress{Message: "first"})
	th.Report(Progress{Message: "held"})
	th.Stop()
	got, _ := rec.snapshot()
	if len(got) != 2 || got[1].Message != "held" {
		t.Fatalf("Stop did not deliver the held report: %+v", got)
	}
	th.Report(Progress{Message: "after stop"})
	th.Stop()
	time.Sleep(3 * interval) // the stopped timer must not fire
	if got, _ := rec.snapshot(); len(got) != 2 {
		t.Errorf("reports delivered after Stop: %+v", got)
	}
}
