package flow_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/agents/flow"
	"github.com/parley-voice/parley/pipeline"
)

func loadFlow(t testing.TB, name string) *flow.Flow {
	t.Helper()
	data, err := os.ReadFile("../../configs/" + name)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := agents.Parse(name, data, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	f, err := flow.New(cfg.Flow)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// call plays the runtime's part: it keeps the history, appends what the agent
// said (and its tool calls) after every reply, and adds the caller's words and
// tool results.
type call struct {
	t       *testing.T
	llm     pipeline.LLM
	history []pipeline.Message
	vars    map[string]string
}

type turn struct {
	text   string
	intent *pipeline.Intent
	calls  []pipeline.ToolCall
}

func (c *call) generate() turn {
	c.t.Helper()
	var tr turn
	req := &pipeline.LLMRequest{Messages: slices.Clone(c.history), Vars: c.vars}
	err := c.llm.Generate(context.Background(), req, func(ch pipeline.LLMChunk) {
		tr.text += ch.Text
		tr.calls = append(tr.calls, ch.ToolCalls...)
		if ch.Intent != nil {
			if tr.intent != nil {
				c.t.Error("two intents in one reply")
			}
			tr.intent = ch.Intent
		}
	})
	if err != nil {
		c.t.Fatalf("Generate: %v", err)
	}
	if tr.text != "" || len(tr.calls) > 0 {
		c.history = append(c.history, pipeline.Message{Role: pipeline.RoleAssistant, Content: tr.text, ToolCalls: tr.calls})
	}
	return tr
}

func (c *call) user(text string) turn {
	c.t.Helper()
	c.history = append(c.history, pipeline.Message{Role: pipeline.RoleUser, Content: text})
	return c.generate()
}

func (c *call) tool(id, content string) turn {
	c.t.Helper()
	c.history = append(c.history, pipeline.Message{Role: pipeline.RoleTool, ToolCallID: id, Content: content})
	return c.generate()
}

// interrupt marks the last agent message as cut short after prefix.
func (c *call) interrupt(prefix string) {
	last := &c.history[len(c.history)-1]
	last.Content, last.Interrupted = prefix, true
}

func newCall(t *testing.T, f *flow.Flow) *call {
	return &call{t: t, llm: f.NewSession(nil)}
}

func expectSay(t *testing.T, tr turn, contains ...string) {
	t.Helper()
	for _, c := range contains {
		if !strings.Contains(tr.text, c) {
			t.Errorf("agent said %q, want it to contain %q", tr.text, c)
		}
	}
}

func expectIntent(t *testing.T, tr turn, name string, slots map[string]string) {
	t.Helper()
	if tr.intent == nil {
		t.Fatalf("no intent reported, want %q (agent said %q)", name, tr.text)
	}
	if tr.intent.Name != name {
		t.Errorf("intent %q, want %q", tr.intent.Name, name)
	}
	if tr.intent.Confidence < 0.5 || tr.intent.Confidence > 1 {
		t.Errorf("confidence %v", tr.intent.Confidence)
	}
	if len(tr.intent.Slots) != len(slots) {
		t.Errorf("slots %v, want %v", tr.intent.Slots, slots)
	}
	for k, v := range slots {
		if tr.intent.Slots[k] != v {
			t.Errorf("slots %v, want %v", tr.intent.Slots, slots)
		}
	}
}

func expectCall(t *testing.T, tr turn, i int, id, name, args string) {
	t.Helper()
	if len(tr.calls) <= i {
		t.Fatalf("tool calls %v, want a call %d to %s", tr.calls, i, name)
	}
	c := tr.calls[i]
	if c.ID != id || c.Name != name || string(c.Arguments) != args {
		t.Errorf("call %d = %s %s %s, want %s %s %s", i, c.ID, c.Name, c.Arguments, id, name, args)
	}
}

func TestDemoBookingConversation(t *testing.T) {
	c := newCall(t, loadFlow(t, "demo.yaml"))

	tr := c.generate()
	expectSay(t, tr, "Hello, thanks for calling Parley Dental.", "How can I help?")
	if tr.intent != nil || len(tr.calls) > 0 {
		t.Errorf("greeting reported %v %v", tr.intent, tr.calls)
	}

	tr = c.user("Hi, I'd like to make an appointment please")
	expectIntent(t, tr, "book", nil)
	expectSay(t, tr, "Which day would you like?")

	tr = c.user("uh how about wednesday")
	expectIntent(t, tr, flow.InformIntent, map[string]string{"day": "wednesday"})
	expectSay(t, tr, "On wednesday I can offer")

	tr = c.user("ten in the morning")
	expectIntent(t, tr, flow.InformIntent, map[string]string{"time": "ten a m"})
	expectSay(t, tr, "So that is wednesday at ten a m. Shall I book it?")

	tr = c.user("yes please")
	expectIntent(t, tr, "yes", nil)
	expectSay(t, tr, "One moment while I book that.")
	expectCall(t, tr, 0, "call_1", "book_appointment", `{"day":"wednesday","time":"ten a m"}`)

	tr = c.tool("call_1", `{"ok":true,"confirmation":"A12"}`)
	if tr.intent != nil {
		t.Errorf("a tool result reported intent %v", tr.intent)
	}
	expectSay(t, tr, "You are booked for wednesday at ten a m. Is there anything else")

	tr = c.user("no thank you")
	expectIntent(t, tr, "goodbye", nil)
	expectSay(t, tr, "Thank you for calling Parley Dental. Goodbye!")
	expectCall(t, tr, 0, "call_2", agents.EndCallTool, `{"reason":"caller finished"}`)

	// The runtime may feed the end_call result back; it is not the flow's.
	if tr = c.tool("call_2", `{"ok":true,"action":"end_call"}`); tr.text != "" || len(tr.calls) > 0 {
		t.Errorf("end_call result produced %+v", tr)
	}
}

func TestDemoShortcutsAndGlobals(t *testing.T) {
	f := loadFlow(t, "demo.yaml")

	c := newCall(t, f)
	c.generate()
	tr := c.user("can I come in on Friday")
	expectIntent(t, tr, "book", map[string]string{"day": "friday"})
	expectSay(t, tr, "On friday I can offer")

	// Another day at the time question changes the day.
	tr = c.user("actually make it tuesday")
	expectIntent(t, tr, flow.InformIntent, map[string]string{"day": "tuesday"})
	expectSay(t, tr, "On tuesday")

	// Global transitions work at any node.
	tr = c.user("can I talk to the receptionist")
	expectIntent(t, tr, "human", nil)
	expectSay(t, tr, "front desk")
	expectCall(t, tr, 0, "call_1", agents.TransferCallTool, `{"reason":"caller asked for the front desk","to":"+15550100"}`)
}

func TestFallbackAndReprompt(t *testing.T) {
	c := newCall(t, loadFlow(t, "demo.yaml"))
	c.generate()
	c.user("book an appointment")

	tr := c.user("what is the weather like")
	if tr.intent != nil {
		t.Errorf("no match reported intent %v", tr.intent)
	}
	if tr.text != "Sorry, I didn't catch that. Please say a weekday, for example Tuesday." {
		t.Errorf("fallback = %q", tr.text)
	}
	// The node is unchanged: a day still moves on.
	expectSay(t, c.user("monday"), "On monday")
}

func TestToolFailureGoesToOnError(t *testing.T) {
	c := newCall(t, loadFlow(t, "demo.yaml"))
	c.generate()
	c.user("book on monday")
	c.user("two p m")
	tr := c.user("yes")
	expectCall(t, tr, 0, "call_1", "book_appointment", `{"day":"monday","time":"two p m"}`)

	tr = c.tool("call_1", `{"error":"no free slot"}`)
	expectSay(t, tr, "Sorry, I could not book that time.", "Let me put you through to the front desk.")
	expectCall(t, tr, 0, "call_2", agents.TransferCallTool, `{"reason":"caller asked for the front desk","to":"+15550100"}`)
}

func TestInterruptedGoodbye(t *testing.T) {
	f := loadFlow(t, "demo.yaml")

	// The caller talks over the goodbye and asks to book: the goodbye node's
	// own transition takes them back.
	c := newCall(t, f)
	c.generate()
	tr := c.user("bye")
	expectCall(t, tr, 0, "call_1", agents.EndCallTool, `{"reason":"caller finished"}`)
	c.interrupt("Thank you for")
	tr = c.user("wait, I want to book an appointment")
	expectIntent(t, tr, "book", nil)
	expectSay(t, tr, "Which day")

	// Words that match nothing at the goodbye node: the fallback, the goodbye
	// again, and the hang-up again, since the flow has ended.
	c = newCall(t, f)
	c.generate()
	c.user("goodbye")
	c.interrupt("Thank")
	tr = c.user("hmm what")
	expectSay(t, tr, "Sorry, I didn't catch that.", "Goodbye!")
	expectCall(t, tr, 0, "call_2", agents.EndCallTool, `{"reason":"caller finished"}`)

	// Global transitions still apply at a node with no way back.
	c = newCall(t, f)
	c.generate()
	c.user("speak to a person")
	c.interrupt("Let me")
	tr = c.user("goodbye")
	expectIntent(t, tr, "goodbye", nil)
	expectSay(t, tr, "Goodbye!")
}

func TestInterruptedToolCallIsRetried(t *testing.T) {
	c := newCall(t, loadFlow(t, "demo.yaml"))
	c.generate()
	c.user("book on monday")
	c.user("ten a m")
	tr := c.user("yes")
	expectCall(t, tr, 0, "call_1", "book_appointment", `{"day":"monday","time":"ten a m"}`)
	// Barge-in before the tool ran: no result comes back.
	c.interrupt("One moment")
	tr = c.user("sorry what")
	expectSay(t, tr, "Sorry, I didn't catch that. One moment while I book that.")
	expectCall(t, tr, 0, "call_2", "book_appointment", `{"day":"monday","time":"ten a m"}`)
	// The stale call's result is ignored; the new one continues the flow.
	if tr = c.tool("call_1", `{"ok":true}`); tr.text != "" {
		t.Errorf("stale result produced %q", tr.text)
	}
	expectSay(t, c.tool("call_2", `{"ok":true}`), "You are booked for monday at ten a m.")
}

func TestSupportFlowDigitsAndResults(t *testing.T) {
	c := newCall(t, loadFlow(t, "support-flow.yaml"))
	c.vars = map[string]string{"caller_name": "Sam"}
	expectSay(t, c.generate(), "Hi Sam, this is Parley Shop support.")

	tr := c.user("where's my order")
	expectIntent(t, tr, "order_status", nil)
	tr = c.user("four two oh")
	expectIntent(t, tr, flow.InformIntent, map[string]string{"order_number": "420"})
	expectSay(t, tr, "Let me look up order 420.")
	expectCall(t, tr, 0, "call_1", "lookup_order", `{"order_number":"420"}`)

	tr = c.tool("call_1", `{"order":{"id":420},"status":"out for delivery","eta":3}`)
	expectSay(t, tr, "Order 420 is out for delivery. Is there anything else?")

	// Saying the number straight away skips the question.
	c = newCall(t, loadFlow(t, "support-flow.yaml"))
	c.generate()
	tr = c.user("my order number is 7 1 9")
	expectIntent(t, tr, "order_status", map[string]string{"order_number": "719"})
	expectCall(t, tr, 0, "call_1", "lookup_order", `{"order_number":"719"}`)
	expectSay(t, c.tool("call_1", `not json at all`), "Order 719 is . Is there")
}

func TestSessionVars(t *testing.T) {
	f := loadFlow(t, "support-flow.yaml")
	c := &call{t: t, llm: f.NewSession(map[string]string{"caller_name": "Ada"})}
	expectSay(t, c.generate(), "Hi Ada,")
	c = &call{t: t, llm: f.NewSession(map[string]string{"caller_name": "Ada"}), vars: map[string]string{"caller_name": "Bo"}}
	expectSay(t, c.generate(), "Hi Bo,")
	c = newCall(t, f)
	expectSay(t, c.generate(), "Hi there,")
}

func TestRepeatedRequestDoesNotMoveTheFlow(t *testing.T) {
	c := newCall(t, loadFlow(t, "demo.yaml"))
	first := c.generate()
	c.history = c.history[:0]
	if again := c.generate(); again.text != first.text {
		t.Errorf("greeting again = %q", again.text)
	}
	c.history = c.history[:1]
	c.history = append(c.history, pipeline.Message{Role: pipeline.RoleUser, Content: "book an appointment"})
	a := c.generate()
	c.history = c.history[:len(c.history)-1] // as if the reply was never recorded
	b := c.generate()
	if a.text != b.text || a.intent.Name != b.intent.Name {
		t.Errorf("same request answered %q then %q", a.text, b.text)
	}
	if node := c.llm.(*flow.Session).Node(); node != "ask_day" {
		t.Errorf("node = %q, want ask_day", node)
	}
}

func TestNothingNewToAnswer(t *testing.T) {
	c := newCall(t, loadFlow(t, "demo.yaml"))
	c.generate()
	// The last message is the agent's own.
	if tr := c.generate(); tr.text != "" || tr.intent != nil {
		t.Errorf("got %+v", tr)
	}
	// Consecutive caller messages are read together.
	c.history = append(c.history, pipeline.Message{Role: pipeline.RoleUser, Content: "I would like"}, pipeline.Message{Role: pipeline.RoleUser, Content: "an appointment on monday"})
	expectIntent(t, c.generate(), "book", map[string]string{"day": "monday"})
}

func TestGenerateCancelled(t *testing.T) {
	s := loadFlow(t, "demo.yaml").NewSession(nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Generate(ctx, &pipeline.LLMRequest{}, func(pipeline.LLMChunk) { t.Error("chunk after cancel") })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}

	// Cancelled while emitting: the rest of the reply is dropped.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	s = loadFlow(t, "demo.yaml").NewSession(nil)
	var got int
	err = s.Generate(ctx, &pipeline.LLMRequest{Messages: []pipeline.Message{{Role: pipeline.RoleUser, Content: "goodbye"}}}, func(pipeline.LLMChunk) {
		got++
		cancel()
	})
	if !errors.Is(err, context.Canceled) || got != 1 {
		t.Errorf("err = %v after %d chunks", err, got)
	}
	// The flow keeps the state it moved to.
	if node := s.(*flow.Session).Node(); node != "bye" {
		t.Errorf("node = %q", node)
	}
}

func TestConcurrentSessions(t *testing.T) {
	f := loadFlow(t, "demo.yaml")
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newCall(t, f)
			c.generate()
			c.user("book on monday")
			tr := c.user("two p m")
			expectSay(t, tr, "So that is monday at two p m.")
		}()
	}
	wg.Wait()
}

func TestToolArgumentsAreJSON(t *testing.T) {
	fc := &agents.FlowConfig{
		Start: "a", Fallback: "?", Threshold: 0.5,
		Vars: map[string]string{"who": "Ann \"the\" caller"},
		Nodes: map[string]agents.FlowNode{
			"a": {Say: "Working.", Tool: &agents.FlowToolCall{Name: "t", Args: map[string]any{
				"who": "{{who}}", "n": 3, "ok": true, "list": []any{"{{who}}", 1.5, nil}, "nested": map[string]any{"x": "y"},
			}}, OnResult: "b"},
			"b": {Say: "Got {{result.items.1}} and {{result.flag}} and {{result.missing.x}} and {{result.obj}}.", Next: "c"},
			"c": {Say: "Bye", Action: agents.ActionEndCall},
		},
	}
	f, err := flow.New(fc)
	if err != nil {
		t.Fatal(err)
	}
	c := newCall(t, f)
	tr := c.generate()
	var args map[string]any
	if err := json.Unmarshal(tr.calls[0].Arguments, &args); err != nil {
		t.Fatalf("arguments %s: %v", tr.calls[0].Arguments, err)
	}
	if args["who"] != `Ann "the" caller` || args["n"] != 3.0 || args["ok"] != true {
		t.Errorf("args = %v", args)
	}
	tr = c.tool("call_1", `{"items":["a","b"],"flag":false,"obj":{"k":1}}`)
	expectSay(t, tr, `Got b and false and and {"k":1}.`, "Bye")
	expectCall(t, tr, 0, "call_2", agents.EndCallTool, `{"reason":"the conversation reached c"}`)
}

func TestNewRejectsInvalidFlows(t *testing.T) {
	if _, err := flow.New(nil); err == nil {
		t.Error("New(nil) succeeded")
	}
	_, err := flow.New(&agents.FlowConfig{Start: "x", Fallback: "?", Threshold: 0.5})
	if err == nil || !strings.Contains(err.Error(), "flow.nodes: must hold at least one node") {
		t.Errorf("err = %v", err)
	}
}
