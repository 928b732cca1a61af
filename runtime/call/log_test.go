package call_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/pipeline"
	"github.com/parley-voice/parley/pipeline/fake"
	"github.com/parley-voice/parley/plugins"
	"github.com/parley-voice/parley/runtime/call"
	"github.com/parley-voice/parley/runtime/events"
)

// lockedBuffer is a bytes.Buffer safe for the call's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) lines() []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.b.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// TestEveryCallLogLineHasCallAndTurn: every line a call logs carries its call
// id and the caller's current turn, read when the line is written.
func TestEveryCallLogLineHasCallAndTurn(t *testing.T) {
	cfg, err := agents.Parse("t.yaml", []byte(baseYAML), os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	tools, err := plugins.Default().Build(toolRefs(cfg))
	if err != nil {
		t.Fatal(err)
	}
	var buf lockedBuffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	llm := &fake.LLM{}
	a := &call.Agent{Config: cfg, STT: &fake.STT{Text: "hello there"}, TTS: &fake.TTS{MsPerChar: 5}, Tools: tools,
		NewLLM: func(map[string]string) pipeline.LLM { return llm }}
	r := &rig{t: t, conn: &memConn{}, bus: events.NewBus()}
	r.sub = r.bus.Subscribe(10000, "")
	r.c, err = call.Start(context.Background(), a, call.Params{Transport: "test", SampleRate: 16000}, r.conn, r.bus, call.Options{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	r.await(events.AgentSpeechEnded, 5*time.Second)
	r.speak(600*time.Millisecond, 900*time.Millisecond)
	r.await(events.TurnCompleted, 10*time.Second)
	r.c.Hangup(call.ReasonCallerHangup)
	r.c.Wait()
	r.bus.Close()

	lines := buf.lines()
	if len(lines) < 2 {
		t.Fatalf("the call logged %d lines, want at least call started and call ended", len(lines))
	}
	for _, l := range lines {
		if l["call_id"] != r.c.ID() {
			t.Errorf("log line %q has call_id %v, want %s", l["msg"], l["call_id"], r.c.ID())
		}
		if _, ok := l["turn"].(float64); !ok {
			t.Errorf("log line %q has no turn: %v", l["msg"], l)
		}
	}
	first, last := lines[0], lines[len(lines)-1]
	if first["msg"] != "call started" || first["turn"] != 0.0 {
		t.Errorf("first line %v, want call started at turn 0", first)
	}
	if last["msg"] != "call ended" || last["turn"] != 1.0 {
		t.Errorf("last line %v, want call ended at turn 1", last)
	}
}
