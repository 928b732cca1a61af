package call_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/pipeline"
	"github.com/parley-voice/parley/plugins"
	"github.com/parley-voice/parley/runtime/events"
)

// TestToolsRunInParallelWithTheirOwnTimeouts: the tool calls of one round run
// at once, each under its own deadline (the tool's, else the agent's
// timeouts.tool_timeout); one timing out fails alone; an oversized result is
// cut before the model sees it.
func TestToolsRunInParallelWithTheirOwnTimeouts(t *testing.T) {
	const slow = time.Second
	sleeper := func(name string) plugins.Tool {
		return mustFunc(t, name, func(ctx context.Context, _ noArgs) (any, error) {
			select {
			case <-time.After(slow):
				return name + " ok", nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		})
	}
	blocker := func(ctx context.Context, _ noArgs) (any, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	stuck := mustFunc(t, "stuck", blocker, plugins.WithTimeout(250*time.Millisecond))
	stuckDefault := mustFunc(t, "stuck_default", blocker)
	big := mustFunc(t, "big", func(context.Context, noArgs) (any, error) { return strings.Repeat("x", 40000), nil })
	llm := &toolsLLM{calls: []pipeline.ToolCall{
		{ID: "c1", Name: "slow_a"}, {ID: "c2", Name: "slow_b"}, {ID: "c3", Name: "stuck"},
		{ID: "c4", Name: "stuck_default"}, {ID: "c5", Name: "big"},
	}}
	r := newToolRig(t, "", newTextTTS(), llm, func(c *agents.Config) {
		c.Timeouts.ToolTimeout = agents.Duration(1500 * time.Millisecond)
	}, sleeper("slow_a"), sleeper("slow_b"), stuck, stuckDefault, big)
	r.await(events.AgentSpeechEnded, 10*time.Second)
	r.speak(400*time.Millisecond, 500*time.Millisecond)

	first := r.await(events.ToolCalled, 5*time.Second)
	done := map[string]map[string]any{}
	var order []string
	var last *events.Event
	for len(done) < 5 {
		e := r.await(events.ToolCompleted, 10*time.Second)
		p := payload(e)
		done[p["name"].(string)] = p
		order = append(order, p["name"].(string))
		last = e
	}
	for _, name := range []string{"slow_a", "slow_b", "big"} {
		if done[name]["ok"] != true {
			t.Errorf("%s failed: %v", name, done[name])
		}
	}
	for name, limit := range map[string]time.Duration{"stuck": 250 * time.Millisecond, "stuck_default": 1500 * time.Millisecond} {
		p := done[name]
		ms := p["duration_ms"].(float64)
		if p["ok"] != false || !strings.Contains(p["error"].(string), "timed out after "+limit.String()) {
			t.Errorf("%s: %v; want it to time out after %s", name, p, limit)
		}
		if ms < float64(limit.Milliseconds()) || ms > float64(limit.Milliseconds())+1000 {
			t.Errorf("%s ran %.0f ms, want about %s", name, ms, limit)
		}
	}
	if order[0] != "big" && order[0] != "stuck" {
		t.Errorf("completion order %v: the quick tools should finish first", order)
	}
	// Run one after the other, the round would take 1 s + 1 s + 0.25 s + 1.5 s.
	if span := last.Timestamp.Sub(first.Timestamp); span > 2500*time.Millisecond {
		t.Errorf("the round took %s: the tools did not run in parallel", span)
	}
	resp := r.await(events.AgentResponse, 5*time.Second)
	if payload(resp)["text"] != "All done." {
		t.Errorf("reply %v", payload(resp)["text"])
	}
	// The model sees every result; big's is cut to Options.MaxToolResult (16 KiB).
	results := map[string]string{}
	for _, m := range llm.lastRequest() {
		if m.Role == pipeline.RoleTool {
			results[m.ToolCallID] = m.Content
		}
	}
	if len(results) != 5 {
		t.Fatalf("the model got %d tool results: %v", len(results), results)
	}
	if c := results["c5"]; len(c) > 16<<10+64 || !strings.HasSuffix(c, "[truncated: result was 40000 bytes]") {
		t.Errorf("big result fed back: %d bytes ending %q", len(c), c[max(0, len(c)-60):])
	}
	if !strings.Contains(results["c3"], "timed out") || results["c1"] != "slow_a ok" {
		t.Errorf("results fed back: c1 %q, c3 %q", results["c1"], results["c3"])
	}
}
