package flow

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/agents/internal/tmpl"
	"github.com/parley-voice/parley/pipeline"
)

// Session is one call's run through a flow: the current node, the slots
// captured so far, the last tool result and the tool calls still awaiting a
// result. It implements pipeline.LLM. Generate is safe to call from several
// goroutines, though a call normally uses one.
type Session struct {
	f *Flow

	mu      sync.Mutex
	node    string
	vars    map[string]string
	slots   map[string]string
	result  any
	pending map[string]string // tool call id → node that made the call
	calls   int
	greeted bool
	// lastKey identifies the input the last reply answered; the same input
	// again (a retried request) gets the same reply without moving the flow.
	lastKey string
	last    []pipeline.LLMChunk
}

// Node returns the name of the current node.
func (s *Session) Node() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.node
}

// Slots returns a copy of the slot values captured so far.
func (s *Session) Slots() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.slots)
}

// Generate answers the conversation in req. With no caller or tool message yet
// it speaks the start node. When the last messages are the caller's, their words
// are matched at the current node (its transitions, then the global ones): on a
// match it reports the intent, moves to the transition's node and speaks it (then
// any tool call or call action); otherwise it says the fallback and the node's
// reprompt. When the last messages are tool results, the flow continues at the
// calling node's on_result (or on_error). Replies that were interrupted change
// nothing: the flow stays where it moved. Cancelling ctx stops the reply and
// returns ctx.Err().
func (s *Session) Generate(ctx context.Context, req *pipeline.LLMRequest, sink func(pipeline.LLMChunk)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	chunks, err := s.respond(req)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	for _, ch := range chunks {
		if err := ctx.Err(); err != nil {
			return err
		}
		sink(ch)
	}
	return nil
}

// respond computes the reply to req and moves the flow; the caller holds s.mu.
func (s *Session) respond(req *pipeline.LLMRequest) ([]pipeline.LLMChunk, error) {
	var msgs []pipeline.Message
	var reqVars map[string]string
	if req != nil {
		msgs, reqVars = req.Messages, req.Vars
	}
	last := len(msgs) - 1
	for last >= 0 && msgs[last].Role == pipeline.RoleSystem {
		last--
	}
	first := last
	if last >= 0 {
		for first > 0 && msgs[first-1].Role == msgs[last].Role {
			first--
		}
	}
	key := inputKey(msgs, first, last)
	if key == s.lastKey {
		return slices.Clone(s.last), nil
	}

	r := &reply{s: s, vars: s.callVars(reqVars)}
	var err error
	switch {
	case last < 0:
		if s.greeted {
			return nil, nil
		}
		s.greeted = true
		err = r.enter(s.f.start, 0)
	case msgs[last].Role == pipeline.RoleUser:
		s.greeted = true
		texts := make([]string, 0, last-first+1)
		for _, m := range msgs[first : last+1] {
			texts = append(texts, m.Content)
		}
		err = r.onUser(strings.Join(texts, " "))
	case msgs[last].Role == pipeline.RoleTool:
		for _, m := range msgs[first : last+1] {
			if err = r.onTool(m); err != nil {
				break
			}
		}
	default:
		// The last message is the agent's own: nothing new to answer.
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	s.lastKey, s.last = key, r.chunks
	return slices.Clone(r.chunks), nil
}

// inputKey identifies the input of a reply: the history length, the trailing
// run of caller (or tool) messages and the message before it.
func inputKey(msgs []pipeline.Message, first, last int) string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(len(msgs)))
	for i := max(first-1, 0); i <= last && i >= 0; i++ {
		m := msgs[i]
		b.WriteByte(0)
		b.WriteString(string(m.Role))
		b.WriteByte(1)
		b.WriteString(m.Content)
		b.WriteByte(1)
		b.WriteString(m.ToolCallID)
	}
	return b.String()
}

// callVars merges the request's variables over the session's.
func (s *Session) callVars(req map[string]string) map[string]string {
	if len(req) == 0 {
		return s.vars
	}
	out := maps.Clone(s.vars)
	maps.Copy(out, req)
	return out
}

func (s *Session) nextCallID() string {
	s.calls++
	return "call_" + strconv.Itoa(s.calls)
}

// reply builds one reply.
type reply struct {
	s      *Session
	vars   map[string]string
	chunks []pipeline.LLMChunk
	text   bool
}

func (r *reply) say(t tmpl.Template) {
	text := strings.Join(strings.Fields(r.fill(t)), " ")
	if text == "" {
		return
	}
	if r.text {
		text = " " + text
	}
	r.text = true
	r.chunks = append(r.chunks, pipeline.LLMChunk{Text: text})
}

func (r *reply) fill(t tmpl.Template) string {
	return t.Fill(func(ref string) string {
		if ref == "result" || strings.HasPrefix(ref, "result.") {
			return r.s.resultField(ref)
		}
		if v, ok := r.s.slots[ref]; ok {
			return v
		}
		return r.vars[ref]
	})
}

// onUser matches the caller's words at the current node.
func (r *reply) onUser(text string) error {
	s, f := r.s, r.s.f
	n := f.nodes[s.node]
	u := f.analyse(text)
	transitions := append(slices.Clone(n.transitions), f.global...)
	var candidates []string
	for _, t := range transitions {
		if t.intent != "" && !slices.Contains(candidates, t.intent) {
			candidates = append(candidates, t.intent)
		}
	}
	best, matched := f.bestIntent(u, candidates)

	listen := slices.Clone(n.capture)
	if matched {
		listen = append(listen, f.intents[best.name].slots...)
	}
	var captured map[string]string
	for _, name := range listen {
		if m, ok := u.found[name]; ok {
			if captured == nil {
				captured = map[string]string{}
			}
			captured[name] = m.value
			s.slots[name] = m.value
		}
	}

	for _, t := range transitions {
		if t.intent != "" && (!matched || best.name != t.intent) {
			continue
		}
		if t.whenSlot != "" && captured[t.whenSlot] == "" {
			continue
		}
		in := &pipeline.Intent{Name: t.intent, Confidence: best.score, Slots: captured}
		if t.intent == "" {
			in.Name, in.Confidence = InformIntent, 1
		}
		r.chunks = append(r.chunks, pipeline.LLMChunk{Intent: in})
		clear(s.pending)
		return r.enter(t.next, 0)
	}

	r.say(f.fallback)
	r.say(n.reprompt)
	return r.redo(n)
}

// redo repeats what a node does besides speaking when the caller was not
// understood there: a call action (an interrupted goodbye still hangs up) or a
// tool call that never got its result (the reply was cut short before it ran).
func (r *reply) redo(n *node) error {
	var calls []pipeline.ToolCall
	if n.tool != nil {
		for id, at := range r.s.pending {
			if at == n.name {
				delete(r.s.pending, id)
				tc, err := r.toolCall(n)
				if err != nil {
					return err
				}
				calls = append(calls, tc)
				break
			}
		}
	}
	calls = append(calls, r.actionCalls(n)...)
	if len(calls) > 0 {
		r.chunks = append(r.chunks, pipeline.LLMChunk{ToolCalls: calls})
	}
	return nil
}

// enter moves to a node and speaks it, calls its tool and action, and follows
// its next.
func (r *reply) enter(name string, depth int) error {
	n := r.s.f.nodes[name]
	r.s.node = name
	r.say(n.say)
	var calls []pipeline.ToolCall
	if n.tool != nil {
		tc, err := r.toolCall(n)
		if err != nil {
			return err
		}
		calls = append(calls, tc)
	}
	calls = append(calls, r.actionCalls(n)...)
	if len(calls) > 0 {
		r.chunks = append(r.chunks, pipeline.LLMChunk{ToolCalls: calls})
	}
	if n.next != "" && depth < maxChain {
		return r.enter(n.next, depth+1)
	}
	return nil
}

func (r *reply) toolCall(n *node) (pipeline.ToolCall, error) {
	args, err := json.Marshal(r.fillArgs(n.tool.args))
	if err != nil {
		return pipeline.ToolCall{}, fmt.Errorf("flow: node %q: encoding the arguments of tool %q: %w", n.name, n.tool.name, err)
	}
	id := r.s.nextCallID()
	r.s.pending[id] = n.name
	return pipeline.ToolCall{ID: id, Name: n.tool.name, Arguments: args}, nil
}

// fillArgs fills the templates in tool arguments; nil becomes an empty object.
func (r *reply) fillArgs(v any) any {
	switch v := v.(type) {
	case nil:
		return map[string]any{}
	case string:
		t, err := tmpl.Parse(v)
		if err != nil {
			return v
		}
		return r.fill(t)
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			if e == nil {
				out[k] = nil
				continue
			}
			out[k] = r.fillArgs(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			if e == nil {
				continue
			}
			out[i] = r.fillArgs(e)
		}
		return out
	}
	return v
}

func (r *reply) actionCalls(n *node) []pipeline.ToolCall {
	var args map[string]string
	var name string
	switch n.action {
	case agents.ActionEndCall:
		reason := n.reason
		if reason == "" {
			reason = "the conversation reached " + n.name
		}
		name, args = agents.EndCallTool, map[string]string{"reason": reason}
	case agents.ActionTransfer:
		name, args = agents.TransferCallTool, map[string]string{"to": n.transferTo}
		if n.reason != "" {
			args["reason"] = n.reason
		}
	default:
		return nil
	}
	b, _ := json.Marshal(args) // a map of strings always encodes
	return []pipeline.ToolCall{{ID: r.s.nextCallID(), Name: name, Arguments: b}}
}

// onTool continues the flow after the result of a call the flow made; results of
// other calls (end_call, transfer_call, or calls from before the caller moved
// the flow elsewhere) are ignored.
func (r *reply) onTool(m pipeline.Message) error {
	s := r.s
	at, ok := s.pending[m.ToolCallID]
	if !ok {
		return nil
	}
	delete(s.pending, m.ToolCallID)
	n := s.f.nodes[at]
	result, failed := parseResult(m.Content)
	s.result = result
	next := n.onResult
	if failed && n.onError != "" {
		next = n.onError
	}
	if next == "" {
		return nil
	}
	return r.enter(next, 0)
}

// parseResult decodes a tool result: JSON when it is JSON, else the text. A
// result is a failure when it is an object with a non-empty "error" field, as
// the runtime reports failed tools.
func parseResult(content string) (any, bool) {
	dec := json.NewDecoder(strings.NewReader(content))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return content, false
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return v, false
	}
	e, has := obj["error"]
	failed := has && e != nil && e != false && e != ""
	return v, failed
}

// resultField looks up {{result}} or {{result.a.b}} in the last tool result; a
// missing field is empty.
func (s *Session) resultField(ref string) string {
	v := s.result
	if rest, ok := strings.CutPrefix(ref, "result."); ok {
		for _, key := range strings.Split(rest, ".") {
			switch c := v.(type) {
			case map[string]any:
				v = c[key]
			case []any:
				i, err := strconv.Atoi(key)
				if err != nil || i < 0 || i >= len(c) {
					return ""
				}
				v = c[i]
			default:
				return ""
			}
		}
	}
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

var _ pipeline.LLM = (*Session)(nil)

// Inline reports that Generate only computes (no I/O, no waiting), so the call
// actor may run it on its own goroutine.
func (s *Session) Inline() bool { return true }

var _ pipeline.InlineLLM = (*Session)(nil)
