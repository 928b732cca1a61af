package call_test

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/pipeline"
	"github.com/parley-voice/parley/pipeline/fake"
	"github.com/parley-voice/parley/plugins"
	_ "github.com/parley-voice/parley/plugins/all"
	"github.com/parley-voice/parley/runtime/call"
	"github.com/parley-voice/parley/runtime/events"
)

const baseYAML = `
id: t
stt: {provider: fake}
tts: {provider: fake}
llm: {provider: fake}
turn: {endpointing: 300ms, min_interrupt_duration: 100ms}
`

// memConn is an in-memory transport.
type memConn struct {
	mu     sync.Mutex
	frames int
	clears int
	closed string
}

func (m *memConn) WriteFrame(pcm []int16) error {
	m.mu.Lock()
	m.frames++
	m.mu.Unlock()
	return nil
}
func (m *memConn) Clear() error { m.mu.Lock(); m.clears++; m.mu.Unlock(); return nil }
func (m *memConn) Close(reason string) error {
	m.mu.Lock()
	m.closed = reason
	m.mu.Unlock()
	return nil
}

type rig struct {
	t    *testing.T
	c    *call.Call
	conn *memConn
	sub  *events.Subscription
	bus  *events.Bus
	seen []*events.Event
}

// newRig starts a call on an agent parsed from baseYAML plus extra, with the
// given fake providers; edit may change the parsed config (bypassing validation
// limits, for short timeouts).
func newRig(t *testing.T, extra string, stt *fake.STT, tts pipeline.TTS, llm pipeline.LLM, edit func(*agents.Config)) *rig {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	cfg, err := agents.Parse("t.yaml", []byte(baseYAML+extra), os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(cfg)
	}
	tools, err := plugins.Default().Build(toolRefs(cfg))
	if err != nil {
		t.Fatal(err)
	}
	a := &call.Agent{Config: cfg, STT: stt, TTS: tts, Tools: tools,
		NewLLM: func(map[string]string) pipeline.LLM { return llm }}
	r := &rig{t: t, conn: &memConn{}, bus: events.NewBus()}
	r.sub = r.bus.Subscribe(10000, "")
	r.c, err = call.Start(context.Background(), a, call.Params{Transport: "test", SampleRate: 16000}, r.conn, r.bus, call.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.c.Hangup(call.ReasonCallerHangup)
		select {
		case <-r.c.Done():
		case <-time.After(10 * time.Second):
			t.Error("call did not end")
		}
		r.bus.Close()
		if err := goleak.Find(ignore); err != nil {
			t.Error(err)
		}
	})
	return r
}

func toolRefs(cfg *agents.Config) []plugins.Ref {
	var refs []plugins.Ref
	for _, tr := range cfg.Tools {
		var opts json.RawMessage
		if len(tr.Options) > 0 {
			opts, _ = json.Marshal(tr.Options)
		}
		refs = append(refs, plugins.Ref{Name: tr.Name, As: tr.As, Options: opts})
	}
	return refs
}

// await returns the next event of type typ (skipping others).
func (r *rig) await(typ string, timeout time.Duration) *events.Event {
	r.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case e := <-r.sub.C():
			r.seen = append(r.seen, e)
			if e.Type == typ {
				return e
			}
		case <-deadline:
			var types []string
			for _, e := range r.seen {
				types = append(types, e.Type)
			}
			r.t.Fatalf("no %s within %s; saw %s", typ, timeout, strings.Join(types, " "))
		}
	}
}

func (r *rig) sawType(typ string) bool {
	for _, e := range r.seen {
		if e.Type == typ {
			return true
		}
	}
	return false
}

func payload(e *events.Event) map[string]any { return e.Payload.(map[string]any) }

// speak feeds d of a loud tone then silence, in real time, from a goroutine.
func (r *rig) speak(d, silence time.Duration) {
	frames := int(d / (20 * time.Millisecond))
	quiet := int(silence / (20 * time.Millisecond))
	go func() {
		for i := 0; i < frames+quiet; i++ {
			f := make([]int16, 320)
			if i < frames {
				for j := range f {
					f[j] = int16(6000 * math.Sin(2*math.Pi*220*float64(i*320+j)/16000))
				}
			}
			r.c.Audio(f)
			time.Sleep(20 * time.Millisecond)
		}
	}()
}

func TestTurnWithFakes(t *testing.T) {
	r := newRig(t, "", &fake.STT{Text: "hello there"}, &fake.TTS{}, &fake.LLM{}, nil)
	r.await(events.AgentSpeechEnded, 10*time.Second)
	r.speak(600*time.Millisecond, 600*time.Millisecond)
	tr := r.await(events.SpeechTranscribed, 5*time.Second)
	if payload(tr)["text"] != "hello there" {
		t.Fatalf("transcribed %v", payload(tr)["text"])
	}
	resp := r.await(events.AgentResponse, 5*time.Second)
	if payload(resp)["text"] != "You said: hello there." {
		t.Fatalf("reply %v", payload(resp)["text"])
	}
	tc := r.await(events.TurnCompleted, 10*time.Second)
	lat := payload(tc)["latency_ms"].(map[string]float64)
	for _, s := range pipeline.Stages {
		if _, ok := lat[s]; !ok {
			t.Errorf("turn.completed lacks stage %s: %v", s, lat)
		}
	}
}

func TestSilenceRepromptThenHangup(t *testing.T) {
	r := newRig(t, "", &fake.STT{}, &fake.TTS{MsPerChar: 5}, &fake.LLM{}, func(c *agents.Config) {
		c.Timeouts.Silence = agents.Duration(300 * time.Millisecond)
		c.Timeouts.MaxReprompts = 1
	})
	first := r.await(events.SilenceTimeout, 5*time.Second)
	if payload(first)["reprompt"] != 1 {
		t.Errorf("first silence timeout: %v", payload(first))
	}
	resp := r.await(events.AgentResponse, 5*time.Second)
	if payload(resp)["text"] != "Are you still there?" {
		t.Errorf("re-prompt said %v", payload(resp)["text"])
	}
	r.await(events.SilenceTimeout, 5*time.Second)
	end := r.await(events.CallEnded, 10*time.Second)
	if payload(end)["reason"] != call.ReasonSilence {
		t.Errorf("ended with %v", payload(end)["reason"])
	}
}

func TestMaxCallDuration(t *testing.T) {
	r := newRig(t, "", &fake.STT{}, &fake.TTS{MsPerChar: 5}, &fake.LLM{}, func(c *agents.Config) {
		c.Timeouts.MaxCallDuration = agents.Duration(500 * time.Millisecond)
	})
	end := r.await(events.CallEnded, 10*time.Second)
	if payload(end)["reason"] != call.ReasonMaxDuration {
		t.Errorf("ended with %v", payload(end)["reason"])
	}
}

// stuckTTS never produces audio until cancelled.
type stuckTTS struct{}

func (stuckTTS) Synthesize(ctx context.Context, _ pipeline.TTSRequest, _ func([]int16) error) error {
	<-ctx.Done()
	return ctx.Err()
}

func TestWatchdogEndsStuckReply(t *testing.T) {
	r := newRig(t, "", &fake.STT{}, stuckTTS{}, &fake.LLM{}, func(c *agents.Config) {
		c.Timeouts.Watchdog = agents.Duration(300 * time.Millisecond)
	})
	wd := r.await(events.CallWatchdog, 5*time.Second)
	if payload(wd)["state"] != call.StateGreeting {
		t.Errorf("watchdog in state %v", payload(wd)["state"])
	}
	st := r.await(events.CallStateChanged, 2*time.Second)
	if payload(st)["to"] != call.StateListening {
		t.Errorf("after the watchdog the call went to %v", payload(st)["to"])
	}
}

func TestBudgetFiller(t *testing.T) {
	extra := `
budgets:
  default: 200ms
  stages: {llm_first_token: 100ms}
  on_exceeded: {action: filler, stage: llm_first_token, filler_phrases: ["One moment."]}
`
	r := newRig(t, extra, &fake.STT{Text: "what time is it"}, &fake.TTS{MsPerChar: 10}, &fake.LLM{FirstToken: 400 * time.Millisecond}, nil)
	r.await(events.AgentSpeechEnded, 10*time.Second)
	r.seen = nil
	r.speak(500*time.Millisecond, 500*time.Millisecond)
	be := r.await(events.TurnBudgetExceeded, 5*time.Second)
	if payload(be)["stage"] != pipeline.StageLLMFirstToken || payload(be)["pending"] != true {
		t.Errorf("budget event %v", payload(be))
	}
	// The filler is heard before the LLM's first token arrives.
	r.await(events.AgentSpeechStarted, 5*time.Second)
	if r.sawType(events.AgentResponse) {
		t.Error("the reply started before the filler")
	}
	r.await(events.TurnCompleted, 10*time.Second)
}

func TestToolCallRound(t *testing.T) {
	llm := &fake.LLM{ToolOn: map[string]pipeline.ToolCall{
		"bye": {ID: "call_1", Name: "end_call", Arguments: json.RawMessage(`{"reason":"caller said bye"}`)},
	}}
	r := newRig(t, "tools: [{name: end_call}]\n", &fake.STT{Text: "ok bye"}, &fake.TTS{MsPerChar: 5}, llm, nil)
	r.await(events.AgentSpeechEnded, 10*time.Second)
	r.speak(400*time.Millisecond, 500*time.Millisecond)
	called := r.await(events.ToolCalled, 5*time.Second)
	if payload(called)["name"] != "end_call" {
		t.Errorf("tool.called %v", payload(called))
	}
	done := r.await(events.ToolCompleted, 5*time.Second)
	if payload(done)["ok"] != true || payload(done)["action"] != "end_call" {
		t.Errorf("tool.completed %v", payload(done))
	}
	end := r.await(events.CallEnded, 10*time.Second)
	if payload(end)["reason"] != "caller said bye" && payload(end)["reason"] != call.ReasonAgentHangup {
		t.Errorf("ended with %v", payload(end)["reason"])
	}
}

// TestNoReplyAcrossPause: the caller pauses mid-sentence long enough to end the
// turn, then goes on before the (slow) reply is heard. The first reply is
// dropped and the whole utterance is answered once.
func TestNoReplyAcrossPause(t *testing.T) {
	r := newRig(t, "", &fake.STT{Script: []string{"i want to", "move my appointment"}}, &fake.TTS{MsPerChar: 5},
		&fake.LLM{FirstToken: 700 * time.Millisecond}, nil)
	r.await(events.AgentSpeechEnded, 10*time.Second)
	r.speak(400*time.Millisecond, 400*time.Millisecond) // 400 ms pause > 300 ms endpointing
	r.await(events.SpeechTranscribed, 5*time.Second)
	time.Sleep(450 * time.Millisecond)
	r.speak(400*time.Millisecond, 600*time.Millisecond)
	resp := r.await(events.AgentResponse, 5*time.Second)
	if got := payload(resp)["text"]; got != "You said: i want to move my appointment." {
		t.Errorf("reply %q: want one reply to the whole utterance", got)
	}
}
