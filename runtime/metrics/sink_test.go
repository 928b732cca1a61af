package metrics_test

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/parley-voice/parley/runtime/events"
	"github.com/parley-voice/parley/runtime/metrics"
)

func event(typ, callID, agent string, payload map[string]any) *events.Event {
	return &events.Event{Type: typ, ID: events.NewEventID(time.Now()), APIVersion: events.APIVersion,
		CallID: callID, AgentID: agent, Timestamp: time.Now(), Payload: payload}
}

// TestSinkDerivesCallAndTurnMetrics publishes the events of two calls on a
// bus and checks every call and turn metric.
func TestSinkDerivesCallAndTurnMetrics(t *testing.T) {
	m := metrics.New(metrics.Options{MaxCalls: 10})
	bus := events.NewBus()
	defer bus.Close()
	bus.AddSink(m)
	pub := func(typ, callID, agent string, p map[string]any) { bus.Publish(event(typ, callID, agent, p)) }

	pub(events.CallStarted, "call_1", "sales", map[string]any{"transport": "twilio"})
	pub(events.CallStarted, "call_2", "sales", map[string]any{"transport": "websocket"})
	pub(events.CallStarted, "call_2", "sales", map[string]any{"transport": "websocket"}) // a duplicate counts once
	pub(events.TurnCompleted, "call_1", "sales", map[string]any{"turn": uint64(1), "interrupted": false,
		"latency_ms": map[string]float64{"end_of_turn": 12, "stt_final": 150, "llm_first_token": 420, "first_sentence": 30,
			"tts_first_audio": 180, "first_frame_out": 8, "response": 900}})
	pub(events.TurnCompleted, "call_1", "sales", map[string]any{"turn": uint64(2), "interrupted": true,
		"latency_ms": map[string]any{"stt_final": 50.0, "bogus": 1.0}}) // as decoded from JSON
	pub(events.TurnBudgetExceeded, "call_1", "sales", map[string]any{"stage": "llm_first_token"})
	pub(events.CallInterrupted, "call_1", "sales", map[string]any{"turn": uint64(2)})
	pub(events.AgentResumed, "call_1", "sales", map[string]any{"turn": uint64(2)})
	pub(events.AgentResumed, "call_1", "sales", map[string]any{"turn": uint64(2)})
	pub(events.ProviderError, "call_1", "sales", map[string]any{"stage": "tts", "provider": "elevenlabs"})
	pub(events.ProviderFallback, "call_1", "sales", map[string]any{"stage": "llm", "from": "openai:a", "to": "openai:b"})
	pub(events.ToolCompleted, "call_1", "sales", map[string]any{"name": "lookup", "ok": true, "duration_ms": 250.0})
	pub(events.ToolCompleted, "call_1", "sales", map[string]any{"name": "lookup", "ok": false, "duration_ms": 50.0})
	pub(events.CallWatchdog, "call_1", "sales", nil)
	pub(events.SpeechPartial, "call_1", "sales", map[string]any{"text": "hel"}) // no metric
	pub(events.CallEnded, "call_1", "sales", map[string]any{"reason": "caller_hangup", "duration_ms": 61000.0,
		"dropped_frames": uint64(7), "pacing": map[string]any{"frames_written": uint64(3000), "underruns": uint64(2),
			"lateness_p99_ms": 4.5}})

	f := scrapeHandler(t, m.Handler())
	checks := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"parley_calls_started_total", []string{"agent=sales", "transport=twilio"}, 1},
		{"parley_calls_started_total", []string{"agent=sales", "transport=websocket"}, 1},
		{"parley_calls_live", []string{"agent=sales", "transport=twilio"}, 0},
		{"parley_calls_live", []string{"agent=sales", "transport=websocket"}, 1},
		{"parley_calls_ended_total", []string{"agent=sales", "reason=caller_hangup"}, 1},
		{"parley_calls_max", nil, 10},
		{"parley_turns_completed_total", []string{"agent=sales", "interrupted=false"}, 1},
		{"parley_turns_completed_total", []string{"agent=sales", "interrupted=true"}, 1},
		{"parley_turn_budget_exceeded_total", []string{"agent=sales", "stage=llm_first_token"}, 1},
		{"parley_turn_barge_ins_total", []string{"agent=sales", "outcome=interrupted"}, 1},
		{"parley_turn_barge_ins_total", []string{"agent=sales", "outcome=false"}, 2},
		{"parley_provider_errors_total", []string{"agent=sales", "stage=tts", "provider=elevenlabs"}, 1},
		{"parley_provider_fallbacks_total", []string{"agent=sales", "stage=llm"}, 1},
		{"parley_tool_calls_total", []string{"agent=sales", "tool=lookup", "outcome=ok"}, 1},
		{"parley_tool_calls_total", []string{"agent=sales", "tool=lookup", "outcome=error"}, 1},
		{"parley_call_watchdog_total", []string{"agent=sales"}, 1},
		{"parley_call_dropped_frames_total", []string{"agent=sales"}, 7},
		{"parley_call_frame_underruns_total", []string{"agent=sales"}, 2},
	}
	for _, c := range checks {
		if got := f.value(c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v (have %s)", c.name, c.labels, got, c.want, f.series(c.name))
		}
	}
	hists := []struct {
		name   string
		labels []string
		count  int64
		sum    float64
	}{
		{"parley_turn_stage_duration_seconds", []string{"agent=sales", "stage=llm_first_token"}, 1, 0.42},
		{"parley_turn_stage_duration_seconds", []string{"agent=sales", "stage=stt_final"}, 2, 0.2},
		{"parley_turn_stage_duration_seconds", []string{"agent=sales", "stage=end_of_turn"}, 1, 0.012},
		{"parley_turn_response_seconds", []string{"agent=sales"}, 1, 0.9},
		{"parley_tool_duration_seconds", []string{"agent=sales", "tool=lookup"}, 2, 0.3},
		{"parley_call_duration_seconds", []string{"agent=sales"}, 1, 61},
		{"parley_call_frame_lateness_p99_seconds", []string{"agent=sales"}, 1, 0.0045},
	}
	for _, h := range hists {
		n, sum := f.hist(h.name, h.labels...)
		if n != h.count || math.Abs(sum-h.sum) > 1e-9 {
			t.Errorf("%s%v: count %d sum %v, want %d and %v", h.name, h.labels, n, sum, h.count, h.sum)
		}
	}
	if f.find("parley_turn_stage_duration_seconds", "stage=bogus") != nil {
		t.Error("an unknown stage of latency_ms became a series")
	}
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total"} {
		if f[name] == nil {
			t.Errorf("no %s: the Go and process collectors are missing", name)
		}
	}
}

// TestLabelsAreBounded checks that values that callers or an LLM control
// cannot grow the number of series without bound.
func TestLabelsAreBounded(t *testing.T) {
	m := metrics.New(metrics.Options{})
	for i := range 1000 {
		m.Accept(event(events.ToolCompleted, "call_1", "a", map[string]any{"name": fmt.Sprintf("made_up_%d", i), "ok": false}))
		m.Accept(event(events.CallEnded, fmt.Sprintf("call_%d", i), "a", map[string]any{"reason": fmt.Sprintf("the caller said bye %d", i)}))
		m.Accept(event(events.CallStarted, fmt.Sprintf("c_%d", i), "a", map[string]any{"transport": fmt.Sprintf("pigeon%d", i)}))
	}
	m.Accept(event(events.CallEnded, "call_x", "a", map[string]any{"reason": "server_shutdown"}))
	f := scrapeHandler(t, m.Handler())
	if n := len(f["parley_tool_calls_total"].GetMetric()); n > 201 {
		t.Errorf("%d tool series for 1000 made-up tool names", n)
	}
	if got := f.value("parley_tool_calls_total", "tool=other", "outcome=error"); got != 800 {
		t.Errorf("tool=other counted %v, want 800", got)
	}
	if n := len(f["parley_calls_ended_total"].GetMetric()); n > 34 {
		t.Errorf("%d reason series for 1000 reasons", n)
	}
	if got := f.value("parley_calls_ended_total", "reason=server_shutdown"); got != 1 {
		t.Errorf("a documented reason past the cap counted %v, want 1 under its own name", got)
	}
	if got := f.value("parley_calls_started_total", "transport=other"); got != 1000 {
		t.Errorf("unknown transports counted %v under other, want 1000 (have %s)", got, f.series("parley_calls_started_total"))
	}
	for name, fam := range f {
		for _, s := range fam.Metric {
			for _, l := range s.Label {
				if l.GetName() == "call_id" {
					t.Errorf("%s has a call_id label", name)
				}
			}
		}
	}
}

// BenchmarkMetricsSink measures the sink on the call's goroutine for a
// turn's worth of events.
func BenchmarkMetricsSink(b *testing.B) {
	m := metrics.New(metrics.Options{})
	turn := event(events.TurnCompleted, "call_1", "demo", map[string]any{"turn": uint64(1), "interrupted": false,
		"latency_ms": map[string]float64{"end_of_turn": 12, "stt_final": 150, "llm_first_token": 420, "first_sentence": 30,
			"tts_first_audio": 180, "first_frame_out": 8, "response": 900}})
	evs := []*events.Event{
		event(events.SpeechStarted, "call_1", "demo", map[string]any{"at_ms": 1.0}),
		event(events.SpeechPartial, "call_1", "demo", map[string]any{"text": "hel"}),
		event(events.SpeechStopped, "call_1", "demo", map[string]any{"duration_ms": 1.0}),
		event(events.SpeechTranscribed, "call_1", "demo", map[string]any{"text": "hello"}),
		event(events.CallStateChanged, "call_1", "demo", map[string]any{"from": "listening", "to": "thinking"}),
		event(events.AgentResponse, "call_1", "demo", map[string]any{"text": "hi"}),
		event(events.ToolCompleted, "call_1", "demo", map[string]any{"name": "lookup", "ok": true, "duration_ms": 20.0}),
		event(events.AgentSpeechStarted, "call_1", "demo", nil),
		event(events.AgentSpeechEnded, "call_1", "demo", nil),
		turn,
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		for _, e := range evs {
			m.Accept(e)
		}
	}
}

// BenchmarkMetricsSinkCall measures a call's start and end, which touch the
// live-call table.
func BenchmarkMetricsSinkCall(b *testing.B) {
	m := metrics.New(metrics.Options{})
	start := event(events.CallStarted, "call_1", "demo", map[string]any{"transport": "websocket"})
	end := event(events.CallEnded, "call_1", "demo", map[string]any{"reason": "caller_hangup", "duration_ms": 1000.0,
		"dropped_frames": uint64(0), "pacing": map[string]any{"frames_written": uint64(10), "lateness_p99_ms": 1.0}})
	b.ReportAllocs()
	for range b.N {
		m.Accept(start)
		m.Accept(end)
	}
}
