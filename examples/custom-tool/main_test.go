package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-voice/parley/pipeline/espeak"
	"github.com/parley-voice/parley/pipeline/sphinx"
	"github.com/parley-voice/parley/plugins"
	"github.com/parley-voice/parley/runtime/caller"
	"github.com/parley-voice/parley/runtime/events"
)

func TestCheckStockIsRegistered(t *testing.T) {
	env, err := newTools(NewInventory())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"check_stock", "hold_item", "end_call"} {
		if !slices.Contains(env.Names(), n) {
			t.Fatalf("%s is not in the environment: %v", n, env.Names())
		}
	}
	f, _ := env.Lookup("check_stock")
	tool, err := f(nil)
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Required   []string `json:"required"`
		Properties map[string]struct {
			Enum []string `json:"enum"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(tool.Spec().Parameters, &schema); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(schema.Required, []string{"product"}) || len(schema.Properties["product"].Enum) != 3 {
		t.Errorf("schema %s: want product required, with 3 enum values", tool.Spec().Parameters)
	}
	for _, tc := range []struct {
		args, want string
	}{
		{`{"product":"kettles"}`, `{"product":"kettles","in_stock":7,"restock":"more arrive on monday"}`},
		{`{"product":"mugs"}`, `{"product":"mugs","in_stock":42,"restock":"no restock needed"}`},
	} {
		res, err := tool.Call(context.Background(), json.RawMessage(tc.args))
		if err != nil || res.Content != tc.want {
			t.Errorf("check_stock(%s) = %q, %v; want %q", tc.args, res.Content, err, tc.want)
		}
	}
	// The schema is enforced before the function runs.
	if _, err := tool.Call(context.Background(), json.RawMessage(`{"product":"spoons"}`)); err == nil {
		t.Error("check_stock accepted a product outside the enum")
	}
}

// TestCheckStockReportsProgressWhenSlow: a slow stock system makes check_stock
// report progress with a phrase to say; a quick one does not.
func TestCheckStockReportsProgressWhenSlow(t *testing.T) {
	for _, tt := range []struct {
		latency time.Duration
		want    int
	}{{0, 0}, {300 * time.Millisecond, 1}} {
		inv := NewInventory()
		inv.Latency, inv.SlowAfter = tt.latency, 50*time.Millisecond
		var mu sync.Mutex
		var reports []plugins.Progress
		ctx := plugins.WithProgress(context.Background(), func(p plugins.Progress) {
			mu.Lock()
			reports = append(reports, p)
			mu.Unlock()
		})
		res, err := inv.Check(ctx, StockArgs{Product: "kettles"})
		if err != nil || res.(Stock).InStock != 7 {
			t.Fatalf("latency %s: Check = %v, %v", tt.latency, res, err)
		}
		mu.Lock()
		if len(reports) != tt.want || (tt.want > 0 && reports[0].Say == "") {
			t.Errorf("latency %s: reports %+v, want %d with a phrase", tt.latency, reports, tt.want)
		}
		mu.Unlock()
	}
}

// TestHoldItemIsIdempotent: the same tool call run twice puts one item aside;
// another tool call puts another.
func TestHoldItemIsIdempotent(t *testing.T) {
	inv := NewInventory()
	call := func(toolCallID string) context.Context {
		return plugins.WithCallInfo(context.Background(), plugins.ToolCallInfo{CallID: "call_A", Turn: 1, Round: 1, ToolCallID: toolCallID, Tool: "hold_item"})
	}
	first, err := inv.HoldItem(call("c1"), StockArgs{Product: "kettles"})
	if err != nil {
		t.Fatal(err)
	}
	again, err := inv.HoldItem(call("c1"), StockArgs{Product: "kettles"})
	if err != nil || again != first {
		t.Fatalf("retry gave %v, %v; want %v", again, err, first)
	}
	if n := inv.counts["kettles"]; n != 6 {
		t.Errorf("%d kettles left after one hold, want 6", n)
	}
	second, err := inv.HoldItem(call("c2"), StockArgs{Product: "kettles"})
	if err != nil || second.(Hold).Hold == first.(Hold).Hold || inv.counts["kettles"] != 5 {
		t.Errorf("another tool call gave %v, %v with %d left", second, err, inv.counts["kettles"])
	}
	if _, err := inv.HoldItem(call("c3"), StockArgs{Product: "glasses"}); !errors.Is(err, errNoneLeft) {
		t.Errorf("holding an item out of stock: %v", err)
	}
}

func TestAgentProvisions(t *testing.T) {
	cfg, err := loadAgent("")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ID != "stock-check" || cfg.LLM.Provider != "flow" {
		t.Fatalf("agent %s with llm %s", cfg.ID, cfg.LLM.Provider)
	}
	srv, err := newServer(cfg, NewInventory(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	a, ok := srv.Agent("stock-check")
	if !ok {
		t.Fatal("agent stock-check is not provisioned")
	}
	if _, ok := a.Tools.Lookup("check_stock"); !ok {
		t.Errorf("the provisioned agent has no check_stock tool")
	}
}

// TestCallUsesTheTool runs the program as `go run` would, with a slow stock
// system, calls the agent with real speech (espeak-ng for the caller,
// PocketSphinx on the server) and checks that the flow called check_stock,
// spoke its progress phrase while it waited, and spoke its result.
func TestCallUsesTheTool(t *testing.T) {
	if err := espeak.Available(); err != nil {
		t.Fatalf("espeak-ng is required (run make deps): %v", err)
	}
	if err := sphinx.Available(); err != nil {
		t.Fatalf("PocketSphinx is required (run make deps): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--latency", "1500ms"}, io.Discard, func(a string) { addrc <- a })
	}()
	var addr string
	select {
	case addr = <-addrc:
	case err := <-done:
		t.Fatalf("run: %v", err)
	}
	tts, err := espeak.New(espeak.Config{})
	if err != nil {
		t.Fatal(err)
	}
	// WaitEnd leaves time for the 1.5 s lookup and the answer after the last line.
	res, err := caller.Run(ctx, caller.Config{URL: "ws://" + addr + "/v1/ws", Agent: "stock-check",
		Lines: []caller.Line{{Text: "do you have kettles"}}, TTS: tts, Voice: "en-us+m3", WaitEnd: 4 * time.Second})
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	var called, progress, completed bool
	var replies []string
	for _, e := range res.Events {
		switch e.Type {
		case events.ToolCalled:
			called = called || e.Payload["name"] == "check_stock"
		case events.ToolProgress:
			if e.Payload["name"] == "check_stock" && !completed {
				progress = true
				if e.Payload["spoken"] != true {
					t.Errorf("tool.progress %v: the agent was silent, so the phrase should be spoken", e.Payload)
				}
			}
		case events.ToolCompleted:
			completed = completed || (e.Payload["name"] == "check_stock" && e.Payload["ok"] == true)
		case events.AgentResponse:
			if s, _ := e.Payload["text"].(string); s != "" {
				replies = append(replies, s)
			}
		}
	}
	if !called || !progress || !completed {
		t.Errorf("check_stock called %v, reported progress %v, completed %v; replies %q", called, progress, completed, replies)
	}
	if !slices.ContainsFunc(replies, func(s string) bool { return strings.Contains(s, "We have 7 kettles in stock") }) {
		t.Errorf("no reply used the tool's result: %q", replies)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
}
