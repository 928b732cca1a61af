package fallback

import (
	"context"
	"testing"
	"time"

	"github.com/parley-voice/parley/pipeline"
)

// TestCooldownSkipsAFailedProvider: after the primary failed over, later
// requests go straight to the fallback (no second wait, no second switch)
// until the cooldown has passed; then the primary is tried again.
func TestCooldownSkipsAFailedProvider(t *testing.T) {
	primary := &scriptedLLM{err: retryable(503)}
	middle := &scriptedLLM{err: retryable(503)}
	spare := &scriptedLLM{chunks: []string{"ok"}}
	var switches []Switch
	l := &LLM{Providers: []Named[pipeline.LLM]{{"a", primary}, {"b", middle}, {"c", spare}}, Cooldown: 300 * time.Millisecond,
		OnSwitch: func(s Switch) { switches = append(switches, s) }}
	gen := func() {
		t.Helper()
		if err := l.Generate(context.Background(), &pipeline.LLMRequest{}, func(pipeline.LLMChunk) {}); err != nil {
			t.Fatal(err)
		}
	}
	gen()
	if primary.calls != 1 || middle.calls != 1 || spare.calls != 1 || len(switches) != 2 || switches[1].To != "c" {
		t.Fatalf("first request: calls %d/%d/%d, switches %+v", primary.calls, middle.calls, spare.calls, switches)
	}
	gen()
	if primary.calls != 1 || middle.calls != 1 || spare.calls != 2 || len(switches) != 2 {
		t.Fatalf("within the cooldown the failed providers were tried again: calls %d/%d/%d, switches %+v",
			primary.calls, middle.calls, spare.calls, switches)
	}
	time.Sleep(400 * time.Millisecond)
	primary.err = nil
	primary.chunks = []string{"back"}
	gen()
	if primary.calls != 2 || spare.calls != 2 {
		t.Fatalf("after the cooldown the primary was not tried again: calls %d/%d/%d", primary.calls, middle.calls, spare.calls)
	}
}

// TestCooldownNeverSkipsTheLastProvider: with every provider benched, the
// last one still answers.
func TestCooldownNeverSkipsTheLastProvider(t *testing.T) {
	a := &scriptedLLM{err: retryable(500)}
	b := &scriptedLLM{err: retryable(500)}
	l := &LLM{Providers: []Named[pipeline.LLM]{{"a", a}, {"b", b}}, Cooldown: time.Minute}
	for range 3 {
		_ = l.Generate(context.Background(), &pipeline.LLMRequest{}, func(pipeline.LLMChunk) {})
	}
	if a.calls != 1 || b.calls != 3 {
		t.Fatalf("calls a=%d b=%d, want a tried once and b every time", a.calls, b.calls)
	}
}
