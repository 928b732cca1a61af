package call_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/pipeline"
	"github.com/parley-voice/parley/pipeline/fake"
	"github.com/parley-voice/parley/plugins"
	"github.com/parley-voice/parley/runtime/call"
	"github.com/parley-voice/parley/runtime/events"
)

// newToolRig is newRig with the agent's tools built from the default
// environment plus tools; the agent lists every one of them.
func newToolRig(t *testing.T, extra string, tts pipeline.TTS, llm pipeline.LLM, edit func(*agents.Config), tools ...plugins.Tool) *rig {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	env := plugins.Default().Clone()
	extra += "tools:\n"
	for _, tool := range tools {
		if err := env.RegisterTool(tool); err != nil {
			t.Fatal(err)
		}
		extra += "  - name: " + tool.Spec().Name + "\n"
	}
	cfg, err := agents.Parse("t.yaml", []byte(baseYAML+extra), os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(cfg)
	}
	ts, err := env.Build(toolRefs(cfg))
	if err != nil {
		t.Fatal(err)
	}
	a := &call.Agent{Config: cfg, STT: &fake.STT{Text: "please check"}, TTS: tts, Tools: ts,
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
		_ = ts.Close()
		if err := goleak.Find(ignore); err != nil {
			t.Error(err)
		}
	})
	return r
}

// toolsLLM greets, answers a caller message with all of calls at once, and
// answers tool results with "All done." It keeps every request's messages.
type toolsLLM struct {
	calls []pipeline.ToolCall

	mu   sync.Mutex
	reqs [][]pipeline.Message
}

func (l *toolsLLM) Generate(ctx context.Context, req *pipeline.LLMRequest, sink func(pipeline.LLMChunk)) error {
	l.mu.Lock()
	l.reqs = append(l.reqs, slices.Clone(req.Messages))
	l.mu.Unlock()
	var last pipeline.Message
	if n := len(req.Messages); n > 0 {
		last = req.Messages[n-1]
	}
	switch last.Role {
	case pipeline.RoleUser:
		sink(pipeline.LLMChunk{ToolCalls: l.calls})
	case pipeline.RoleTool:
		sink(pipeline.LLMChunk{Text: "All done."})
	default:
		sink(pipeline.LLMChunk{Text: "Hello, how can I help you today?"})
	}
	return ctx.Err()
}

// lastRequest is the messages of the latest generation.
func (l *toolsLLM) lastRequest() []pipeline.Message {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.reqs) == 0 {
		return nil
	}
	return l.reqs[len(l.reqs)-1]
}

// textTTS is the fake TTS, reporting every text it is asked to speak.
type textTTS struct {
	fake.TTS
	texts chan string
}

func newTextTTS() *textTTS {
	return &textTTS{TTS: fake.TTS{MsPerChar: 10}, texts: make(chan string, 100)}
}

func (t *textTTS) Synthesize(ctx context.Context, req pipeline.TTSRequest, sink func([]int16) error) error {
	t.texts <- req.Text
	return t.TTS.Synthesize(ctx, req, sink)
}

// awaitText waits until the TTS is asked to speak want.
func (t *textTTS) awaitText(tb testing.TB, want string, timeout time.Duration) {
	tb.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case got := <-t.texts:
			if got == want {
				return
			}
		case <-deadline:
			tb.Fatalf("the TTS was not asked to say %q within %s", want, timeout)
		}
	}
}

// spokenTexts drains what the TTS was asked to speak so far.
func (t *textTTS) spokenTexts() []string {
	var out []string
	for {
		select {
		case s := <-t.texts:
			out = append(out, s)
		default:
			return out
		}
	}
}

// find returns the event of type typ about the tool name, seen already or
// still to come.
func (r *rig) find(typ, name string, timeout time.Duration) *events.Event {
	r.t.Helper()
	deadline := time.Now().Add(timeout)
	next := 0
	for {
		for ; next < len(r.seen); next++ {
			if e := r.seen[next]; e.Type == typ && payload(e)["name"] == name {
				return e
			}
		}
		r.await(typ, time.Until(deadline)) // appends to r.seen
	}
}

func mustFunc[A any](t *testing.T, name string, fn func(context.Context, A) (any, error), opts ...plugins.FuncOption) plugins.Tool {
	t.Helper()
	tool, err := plugins.NewFunc(name, "A test tool.", fn, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return tool
}

type noArgs struct{}

// TestToolProgressIsSpokenWhileTheToolRuns: a slow tool reports progress with
// a phrase. The event is emitted, the phrase is spoken while the tool still
// runs, the answer follows, and the phrase stays out of the model's history.
func TestToolProgressIsSpokenWhileTheToolRuns(t *testing.T) {
	const phrase = "Still checking the calendar."
	release := make(chan struct{})
	seen := make(chan plugins.ToolCallInfo, 1)
	keys := make(chan string, 1)
	tool := mustFunc(t, "check_calendar", func(ctx context.Context, _ noArgs) (any, error) {
		info, _ := plugins.CallInfo(ctx)
		seen <- info
		keys <- plugins.IdempotencyKey(ctx)
		plugins.ReportProgress(ctx, plugins.Progress{Message: "searching the week", Say: phrase, Fraction: 0.5})
		select {
		case <-release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return map[string]string{"free": "9am"}, nil
	})
	llm := &toolsLLM{calls: []pipeline.ToolCall{{ID: "call_cal", Name: "check_calendar"}}}
	tts := newTextTTS()
	r := newToolRig(t, "", tts, llm, nil, tool)
	r.await(events.AgentSpeechEnded, 10*time.Second)
	r.speak(400*time.Millisecond, 500*time.Millisecond)

	called := r.await(events.ToolCalled, 5*time.Second)
	pr := r.await(events.ToolProgress, 5*time.Second)
	p := payload(pr)
	if p["tool_call_id"] != "call_cal" || p["name"] != "check_calendar" || p["message"] != "searching the week" ||
		p["fraction"] != 0.5 || p["spoken"] != true || p["turn"] != payload(called)["turn"] {
		t.Errorf("tool.progress %v", p)
	}
	// The phrase is synthesised and played while the tool is still blocked.
	tts.awaitText(t, phrase, 5*time.Second)
	r.await(events.AgentSpeechStarted, 5*time.Second)
	if r.sawType(events.ToolCompleted) {
		t.Fatal("the tool completed before it was released")
	}
	close(release)
	done := r.await(events.ToolCompleted, 5*time.Second)
	if payload(done)["ok"] != true {
		t.Fatalf("tool.completed %v", payload(done))
	}
	resp := r.await(events.AgentResponse, 5*time.Second)
	if payload(resp)["text"] != "All done." {
		t.Errorf("reply %v", payload(resp)["text"])
	}
	r.await(events.TurnCompleted, 10*time.Second)

	var sawTool bool
	for _, m := range llm.lastRequest() {
		if strings.Contains(m.Content, "Still checking") {
			t.Errorf("the progress phrase is in the model's history: %+v", m)
		}
		sawTool = sawTool || (m.Role == pipeline.RoleTool && m.ToolCallID == "call_cal")
	}
	if !sawTool {
		t.Errorf("the last request lacks the tool result: %+v", llm.lastRequest())
	}
	info, key := <-seen, <-keys
	if info.CallID != r.c.ID() || info.AgentID != "t" || info.ToolCallID != "call_cal" || info.Tool != "check_calendar" ||
		info.Round != 1 || info.Turn != payload(called)["turn"] {
		t.Errorf("the tool saw call info %+v", info)
	}
	if key == "" || key != info.IdempotencyKey() {
		t.Errorf("the tool saw idempotency key %q, want %q", key, info.IdempotencyKey())
	}
}

// TestToolProgressIsNotSpokenTooOften: a second phrase soon after the first is
// reported but not spoken, and a tool that reports after its deadline passed
// is not heard from at all.
func TestToolProgressIsNotSpokenTooOften(t *testing.T) {
	next := make(chan struct{})
	lateDone := make(chan struct{})
	chatty := mustFunc(t, "chatty", func(ctx context.Context, _ noArgs) (any, error) {
		plugins.ReportProgress(ctx, plugins.Progress{Say: "One moment."})
		<-next
		plugins.ReportProgress(ctx, plugins.Progress{Message: "still going", Say: "Almost there."})
		<-next
		return "ok", nil
	})
	late := mustFunc(t, "late", func(ctx context.Context, _ noArgs) (any, error) {
		defer close(lateDone)
		<-ctx.Done()
		// Ignores its deadline and goes on reporting.
		time.Sleep(100 * time.Millisecond)
		plugins.ReportProgress(ctx, plugins.Progress{Message: "too late", Say: "Sorry for the wait."})
		return "late", nil
	}, plugins.WithTimeout(300*time.Millisecond))
	llm := &toolsLLM{calls: []pipeline.ToolCall{{ID: "c1", Name: "chatty"}, {ID: "c2", Name: "late"}}}
	tts := newTextTTS()
	r := newToolRig(t, "", tts, llm, nil, chatty, late)
	r.await(events.AgentSpeechEnded, 10*time.Second)
	r.speak(400*time.Millisecond, 500*time.Millisecond)

	first := r.await(events.ToolProgress, 5*time.Second)
	if payload(first)["spoken"] != true {
		t.Fatalf("first progress %v: want it spoken", payload(first))
	}
	tts.awaitText(t, "One moment.", 5*time.Second)
	next <- struct{}{}
	second := r.await(events.ToolProgress, 5*time.Second)
	if p := payload(second); p["spoken"] != false || p["message"] != "still going" {
		t.Errorf("second progress %v: want it reported, not spoken", p)
	}
	timedOut := r.find(events.ToolCompleted, "late", 5*time.Second)
	if p := payload(timedOut); p["name"] != "late" || p["ok"] != false || !strings.Contains(p["error"].(string), "timed out") {
		t.Errorf("tool.completed %v: want late to time out", p)
	}
	<-lateDone
	next <- struct{}{}
	r.await(events.TurnCompleted, 10*time.Second)
	r.c.Hangup(call.ReasonCallerHangup)
	r.await(events.CallEnded, 10*time.Second)
	for _, e := range r.seen {
		if e.Type == events.ToolProgress && payload(e)["name"] == "late" {
			t.Errorf("a report made after the tool's deadline was published: %v", payload(e))
		}
	}
	for _, s := range tts.spokenTexts() {
		if s == "Almost there." || s == "Sorry for the wait." {
			t.Errorf("spoke %q", s)
		}
	}
}
