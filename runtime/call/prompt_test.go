package call_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
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

// recordingLLM is the fake LLM, remembering every request it is given.
type recordingLLM struct {
	fake.LLM
	reqs chan *pipeline.LLMRequest
}

func newRecordingLLM() *recordingLLM { return &recordingLLM{reqs: make(chan *pipeline.LLMRequest, 32)} }

func (l *recordingLLM) Generate(ctx context.Context, req *pipeline.LLMRequest, sink func(pipeline.LLMChunk)) error {
	l.reqs <- req
	return l.LLM.Generate(ctx, req, sink)
}

func (l *recordingLLM) next(t *testing.T) *pipeline.LLMRequest {
	t.Helper()
	select {
	case req := <-l.reqs:
		return req
	case <-time.After(10 * time.Second):
		t.Fatal("no LLM request")
		return nil
	}
}

// startCall starts a call of the agent in doc with params p; newLLMVars
// receives the variables the agent's NewLLM was given.
func startCall(t *testing.T, doc string, p call.Params, stt *fake.STT, llm pipeline.LLM, edit func(*agents.Config), newLLMVars chan<- map[string]string) *rig {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	cfg, err := agents.Parse("t.yaml", []byte(doc), os.LookupEnv)
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
	a := &call.Agent{Config: cfg, STT: stt, TTS: &fake.TTS{}, Tools: tools,
		NewLLM: func(vars map[string]string) pipeline.LLM {
			if newLLMVars != nil {
				newLLMVars <- vars
			}
			return llm
		}}
	r := &rig{t: t, conn: &memConn{}, bus: events.NewBus()}
	r.sub = r.bus.Subscribe(10000, "")
	p.Transport, p.SampleRate = "test", 16000
	if r.c, err = call.Start(context.Background(), a, p, r.conn, r.bus, call.Options{}); err != nil {
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

const promptYAML = `
id: support
stt: {provider: fake}
tts: {provider: fake}
vars: {customer_name: there, plan: basic}
greeting: "Hi {{customer_name}}, welcome back."
llm:
  provider: fake
  system_prompt: "Help {{customer_name}} ({{plan}} plan), calling from {{from}} on call {{call_id}}."
turn: {endpointing: 300ms, min_interrupt_duration: 100ms}
`

// The call's variables (here as the call-start hook would set them) fill the
// system prompt and the greeting; a value is inserted as it is.
func TestSystemPromptAndGreetingUseCallVars(t *testing.T) {
	llm := newRecordingLLM()
	vars := make(chan map[string]string, 1)
	r := startCall(t, promptYAML, call.Params{CallID: "CA42", From: "+15550100", To: "+15550199",
		Vars: map[string]string{"from": "+15550100", "to": "+15550199", "customer_name": "Ada {{plan}}"}},
		&fake.STT{Text: "where is my order"}, llm, nil, vars)

	got := <-vars
	for k, want := range map[string]string{"customer_name": "Ada {{plan}}", "plan": "basic", "from": "+15550100",
		"to": "+15550199", "call_id": "CA42", "agent_id": "support"} {
		if got[k] != want {
			t.Errorf("NewLLM vars[%s] = %q, want %q", k, got[k], want)
		}
	}
	greet := r.await(events.AgentResponse, 5*time.Second)
	if text := payload(greet)["text"]; text != "Hi Ada {{plan}}, welcome back." {
		t.Errorf("greeting %q", text)
	}
	r.await(events.AgentSpeechEnded, 10*time.Second)
	r.speak(600*time.Millisecond, 600*time.Millisecond)
	req := llm.next(t)
	if len(req.Messages) == 0 || req.Messages[0].Role != pipeline.RoleSystem {
		t.Fatalf("request has no system message: %+v", req.Messages)
	}
	const want = "Help Ada {{plan}} (basic plan), calling from +15550100 on call CA42."
	if req.Messages[0].Content != want {
		t.Errorf("system message %q, want %q", req.Messages[0].Content, want)
	}
	if req.Vars["customer_name"] != "Ada {{plan}}" || req.Vars["call_id"] != "CA42" {
		t.Errorf("request vars %v", req.Vars)
	}
}

// Over llm.history_tokens, the request leaves out the oldest turns but keeps
// the system prompt; the call's transcript keeps everything.
func TestRequestHistoryIsTrimmed(t *testing.T) {
	llm := newRecordingLLM()
	doc := strings.Replace(promptYAML, "greeting: \"Hi {{customer_name}}, welcome back.\"\n", "", 1)
	doc = strings.Replace(doc, `system_prompt: "Help {{customer_name}} ({{plan}} plan), calling from {{from}} on call {{call_id}}."`, `system_prompt: "Be brief."`, 1)
	r := startCall(t, doc, call.Params{}, &fake.STT{Script: []string{"first question here", "second one"}}, llm,
		func(c *agents.Config) { c.LLM.HistoryTokens = 30 }, nil) // below the validated minimum, to trim early

	// The greeting: system prompt only. Then system 7 + greeting 10 + question
	// 9 estimated tokens fit in 30.
	if req := llm.next(t); len(req.Messages) != 1 {
		t.Fatalf("greeting request: %+v", req.Messages)
	}
	r.await(events.AgentSpeechEnded, 10*time.Second)
	r.speak(600*time.Millisecond, 600*time.Millisecond)
	if req := llm.next(t); len(req.Messages) != 3 || req.Messages[2].Content != "first question here" {
		t.Fatalf("first turn request: %+v", req.Messages)
	}
	r.await(events.AgentSpeechEnded, 10*time.Second)
	r.speak(600*time.Millisecond, 600*time.Millisecond)
	req := llm.next(t)
	var got []string
	for _, m := range req.Messages {
		got = append(got, string(m.Role)+":"+m.Content)
	}
	if strings.Join(got, "|") != "system:Be brief.|user:second one" {
		t.Errorf("second turn request = %q", got)
	}
	r.await(events.AgentSpeechEnded, 10*time.Second)
	r.c.Hangup(call.ReasonCallerHangup)
	end := r.await(events.CallEnded, 10*time.Second)
	raw, _ := json.Marshal(payload(end)["transcript"])
	var lines []map[string]any
	if err := json.Unmarshal(raw, &lines); err != nil || len(lines) < 5 || lines[1]["text"] != "first question here" {
		t.Errorf("transcript %s, want the whole call", raw)
	}
}
