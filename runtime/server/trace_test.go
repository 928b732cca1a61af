package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/media/native"
	"github.com/parley-voice/parley/pipeline"
	"github.com/parley-voice/parley/pipeline/fake"
	"github.com/parley-voice/parley/plugins"
	"github.com/parley-voice/parley/runtime/call"
	"github.com/parley-voice/parley/runtime/events"
	"github.com/parley-voice/parley/runtime/server"
	"github.com/parley-voice/parley/runtime/telemetry"
)

// openSpans counts spans started and not yet ended, to find leaks.
type openSpans struct {
	mu   sync.Mutex
	open map[trace.SpanID]string
}

func (o *openSpans) OnStart(_ context.Context, s sdktrace.ReadWriteSpan) {
	o.mu.Lock()
	o.open[s.SpanContext().SpanID()] = s.Name()
	o.mu.Unlock()
}

func (o *openSpans) OnEnd(s sdktrace.ReadOnlySpan) {
	o.mu.Lock()
	delete(o.open, s.SpanContext().SpanID())
	o.mu.Unlock()
}

func (o *openSpans) names() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []string
	for _, n := range o.open {
		out = append(out, n)
	}
	return out
}

func (*openSpans) Shutdown(context.Context) error   { return nil }
func (*openSpans) ForceFlush(context.Context) error { return nil }

func attrOf(s sdktrace.ReadOnlySpan, key string) attribute.Value {
	for _, a := range s.Attributes() {
		if string(a.Key) == key {
			return a.Value
		}
	}
	return attribute.Value{}
}

// TestTraceOfACallWithAToolCall runs a scripted call whose first turn makes
// the LLM call a tool, with the spans going to an in-memory exporter, and
// checks the span tree: call ⊃ turn ⊃ stt.final, llm.generate (two rounds),
// tool and tts.synthesize; every span carries the call id and belongs to one
// trace; the tool ran inside its span (its ctx carries it, so what the tool
// does can be traced under it) and ended OK; the events of the turn carry
// the turn's traceparent; and no span is left open once the call is over.
func TestTraceOfACallWithAToolCall(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	leaks := &openSpans{open: map[trace.SpanID]string{}}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithSpanProcessor(leaks))
	defer func() { _ = tp.Shutdown(context.Background()) }()

	var toolSpan trace.SpanContext
	var toolMu sync.Mutex
	env := plugins.Default().Clone()
	if err := env.RegisterTool(plugins.MustFunc("order_status", "Looks up an order.", func(ctx context.Context, args struct {
		Order string `json:"order"`
	}) (any, error) {
		toolMu.Lock()
		toolSpan = trace.SpanContextFromContext(ctx)
		toolMu.Unlock()
		return map[string]string{"order": args.Order, "status": "shipped"}, nil
	})); err != nil {
		t.Fatal(err)
	}
	agent := parseAgent(t, testAgent+"tools:\n  - name: order_status\n")
	llm := &fake.LLM{ToolOn: map[string]pipeline.ToolCall{
		"hello": {ID: "tc_1", Name: "order_status", Arguments: json.RawMessage(`{"order":"1234"}`)},
	}}
	ts := newTestServer(t, server.Config{
		Agents:      []*agents.Config{agent},
		Tools:       env,
		Providers:   &server.Providers{FakeSTT: &fake.STT{Text: "hello"}, FakeTTS: &fake.TTS{}, FakeLLM: llm},
		CallOptions: call.Options{Tracer: tp.Tracer(telemetry.InstrumentationName)},
	})
	rec := record(ts)
	p := mustDial(t, ts)
	p.awaitListening()
	p.speak(640)
	p.event(events.AgentResponse, func(e native.ClientEvent) bool {
		s, _ := e.Payload["text"].(string)
		return strings.Contains(s, "shipped")
	})
	p.event(events.TurnCompleted, nil)
	p.hangUp()
	callID := p.cl.CallID()
	evs := rec.untilEnded(t, callID)
	deadline := time.Now().Add(wait)
	for ts.srv.LiveCalls() > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if open := leaks.names(); len(open) > 0 {
		t.Errorf("spans still open after the call ended: %v", open)
	}

	spans := exp.GetSpans().Snapshots()
	byName := map[string][]sdktrace.ReadOnlySpan{}
	byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		byName[s.Name()] = append(byName[s.Name()], s)
		byID[s.SpanContext().SpanID()] = s
	}
	if len(byName["call"]) != 1 {
		t.Fatalf("%d call spans; spans: %v", len(byName["call"]), names(spans))
	}
	root := byName["call"][0]
	if root.Parent().IsValid() {
		t.Error("the call span has a parent")
	}
	for key, want := range map[string]string{"parley.call_id": callID, "parley.agent_id": "test",
		"parley.transport": "websocket", "parley.end_reason": call.ReasonCallerHangup} {
		if got := attrOf(root, key).AsString(); got != want {
			t.Errorf("call span %s = %q, want %q", key, got, want)
		}
	}
	for _, s := range spans {
		if s.SpanContext().TraceID() != root.SpanContext().TraceID() {
			t.Errorf("span %s is in another trace", s.Name())
		}
		if got := attrOf(s, "parley.call_id").AsString(); got != callID {
			t.Errorf("span %s has call id %q, want %q", s.Name(), got, callID)
		}
		if s.EndTime().Before(s.StartTime()) {
			t.Errorf("span %s ends before it starts", s.Name())
		}
	}

	// The caller's turn: a child of the call, from speech start, with its
	// timeline as events.
	var turn sdktrace.ReadOnlySpan
	for _, s := range byName["turn"] {
		if s.Parent().SpanID() != root.SpanContext().SpanID() {
			t.Errorf("turn span %v is not a child of the call", s.Attributes())
		}
		if attrOf(s, "parley.reply").AsString() == "caller" {
			turn = s
		}
	}
	if turn == nil {
		t.Fatalf("no span for the caller's turn; turns: %d", len(byName["turn"]))
	}
	if n := attrOf(turn, "parley.turn").AsInt64(); n != 1 {
		t.Errorf("caller turn number %d, want 1", n)
	}
	if attrOf(turn, "parley.outcome").AsString() != "completed" || attrOf(turn, "parley.interrupted").AsBool() {
		t.Errorf("turn outcome %v", turn.Attributes())
	}
	marks := map[string]bool{}
	for _, e := range turn.Events() {
		marks[e.Name] = true
	}
	for _, m := range []string{"speech_start", "end_of_turn_decided", "final_transcript", "llm_first_token", "tts_first_audio", "first_frame_out"} {
		if !marks[m] {
			t.Errorf("turn span lacks the %s mark; has %v", m, marks)
		}
	}
	children := map[string][]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		if s.Parent().SpanID() == turn.SpanContext().SpanID() {
			children[s.Name()] = append(children[s.Name()], s)
		}
	}
	if n := len(children["llm.generate"]); n != 2 {
		t.Errorf("%d llm.generate spans in the turn, want 2 (the tool call, then the answer)", n)
	}
	for _, s := range children["llm.generate"] {
		if attrOf(s, "parley.provider").AsString() != "fake" || s.SpanKind() != trace.SpanKindClient {
			t.Errorf("llm.generate %v", s.Attributes())
		}
	}
	if len(children["stt.final"]) != 1 || len(children["tts.synthesize"]) == 0 {
		t.Errorf("turn children: %v", keys(children))
	}
	for _, s := range children["tts.synthesize"] {
		if attrOf(s, "parley.characters").AsInt64() == 0 || attrOf(s, "parley.samples").AsInt64() == 0 {
			t.Errorf("tts.synthesize %v", s.Attributes())
		}
	}
	if len(children["tool"]) != 1 {
		t.Fatalf("%d tool spans in the turn, want 1; turn children: %v", len(children["tool"]), keys(children))
	}
	tool := children["tool"][0]
	if attrOf(tool, "parley.tool.name").AsString() != "order_status" || attrOf(tool, "parley.tool.call_id").AsString() != "tc_1" ||
		attrOf(tool, "parley.outcome").AsString() != "ok" {
		t.Errorf("tool span %v", tool.Attributes())
	}
	if tool.Status().Code != codes.Ok {
		t.Errorf("tool span status %v, want Ok", tool.Status())
	}
	toolMu.Lock()
	if toolSpan.SpanID() != tool.SpanContext().SpanID() {
		t.Errorf("the tool ran in span %v, not its own span %v", toolSpan.SpanID(), tool.SpanContext().SpanID())
	}
	toolMu.Unlock()
	// The second LLM round starts after the tool span ended.
	if r2 := latest(children["llm.generate"]); r2.StartTime().Before(tool.EndTime()) {
		t.Error("the answering llm.generate started before the tool ended")
	}

	// Events carry the traceparent of the span they were emitted in.
	turnTP := telemetry.FormatTraceParent(turn.SpanContext())
	callTP := telemetry.FormatTraceParent(root.SpanContext())
	for _, e := range evs {
		switch e.Type {
		case events.ToolCalled, events.ToolCompleted:
			if e.TraceParent != turnTP {
				t.Errorf("%s traceparent %q, want the turn's %q", e.Type, e.TraceParent, turnTP)
			}
		case events.CallStarted, events.CallEnded:
			if e.TraceParent != callTP {
				t.Errorf("%s traceparent %q, want the call's %q", e.Type, e.TraceParent, callTP)
			}
		}
		if b, _ := json.Marshal(e); strings.Contains(string(b), "traceparent") || strings.Contains(string(b), turnTP[3:35]) {
			t.Fatalf("the trace context leaked into the envelope: %s", b)
		}
	}
}

func names(spans []sdktrace.ReadOnlySpan) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name())
	}
	return out
}

func keys(m map[string][]sdktrace.ReadOnlySpan) string {
	var out []string
	for k, v := range m {
		out = append(out, fmt.Sprintf("%s×%d", k, len(v)))
	}
	return strings.Join(out, ", ")
}

func latest(spans []sdktrace.ReadOnlySpan) sdktrace.ReadOnlySpan {
	var l sdktrace.ReadOnlySpan
	for _, s := range spans {
		if l == nil || s.StartTime().After(l.StartTime()) {
			l = s
		}
	}
	return l
}
