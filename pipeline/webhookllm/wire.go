package webhookllm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/parley-voice/parley/pipeline"
	"github.com/parley-voice/parley/runtime/events"
)

// Request types, the "type" field of every request body.
const (
	// TypeTurn asks for the answer to the caller's final transcript.
	TypeTurn = "turn"
	// TypeToolResults asks for the rest of a turn once the tools the last
	// answer called have run; their results are the last messages.
	TypeToolResults = "tool_results"
	// TypeGreeting asks for the agent's first words when the agent has no
	// greeting of its own.
	TypeGreeting = "greeting"
	// TypeCallStart asks the call-start webhook for per-call variables.
	TypeCallStart = "call.start"
)

// CallInfo describes the call in every request.
type CallInfo struct {
	ID        string            `json:"id"`
	AgentID   string            `json:"agent_id"`
	Transport string            `json:"transport,omitempty"`
	From      string            `json:"from"`
	To        string            `json:"to"`
	Vars      map[string]string `json:"vars,omitempty"`
	Metadata  map[string]string `json:"metadata,omitempty"`
}

// TurnRequest is the body of a turn, tool_results or greeting request. It holds
// the whole conversation, so the backend can be stateless.
type TurnRequest struct {
	Type string   `json:"type"`
	Call CallInfo `json:"call"`
	// Turn counts the caller's turns, from 1; 0 for a greeting.
	Turn int `json:"turn"`
	// Transcript is the caller's final text of this turn.
	Transcript string `json:"transcript"`
	// Messages is the conversation, oldest first: the system prompt if the
	// agent has one, the caller's and the agent's words, tool calls and their
	// results.
	Messages []pipeline.Message `json:"messages"`
	// Tools the answer may call.
	Tools []pipeline.ToolSpec `json:"tools"`
}

// Answer is what the backend returns to a turn request. Every field is
// optional; an empty answer says nothing and listens again.
type Answer struct {
	// Say is spoken to the caller.
	Say string `json:"say,omitempty"`
	// ToolCalls run (in parallel) after Say; their results come back in a
	// tool_results request.
	ToolCalls []AnswerToolCall `json:"tool_calls,omitempty"`
	// Hangup ends the call once Say has been spoken.
	Hangup bool `json:"hangup,omitempty"`
	// TransferTo transfers the call there (a phone number or SIP URI) once Say
	// has been spoken.
	TransferTo string `json:"transfer_to,omitempty"`
	// Reason explains a hang-up or transfer; a hang-up's becomes the
	// call.ended reason (default agent_hangup).
	Reason string `json:"reason,omitempty"`
}

// AnswerToolCall is one tool the backend wants to run.
type AnswerToolCall struct {
	// ID links the result to the call; Parley makes one up when empty.
	ID   string `json:"id,omitempty"`
	Name string `json:"name"`
	// Arguments is a JSON object, or a string holding one (as chat APIs send).
	Arguments json.RawMessage `json:"arguments,omitempty"`
}

// CallStartRequest is the body of a call-start request.
type CallStartRequest struct {
	Type string   `json:"type"`
	Call CallInfo `json:"call"`
}

// CallStartAnswer is what the call-start webhook returns: variables for the
// call's prompts and flow texts, strings (numbers and booleans are turned into
// their JSON text; null leaves the default).
type CallStartAnswer struct {
	Vars map[string]any `json:"vars,omitempty"`
}

// Limits on answers.
const (
	maxToolCalls   = 16
	maxTransferLen = 256
	maxVars        = 100
)

var (
	toolNameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)
	toolIDRE   = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)
	reasonRE   = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)
	varNameRE  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)
)

// turnRequest builds the body of a request for req.
func turnRequest(req *pipeline.LLMRequest) *TurnRequest {
	t := &TurnRequest{
		Type: TypeGreeting,
		Call: CallInfo{ID: req.CallID, AgentID: req.AgentID, From: req.Vars["from"], To: req.Vars["to"], Vars: req.Vars},
		Turn: req.Turn, Messages: req.Messages, Tools: req.Tools,
	}
	for i := len(req.Messages) - 1; i >= 0; i-- {
		if m := req.Messages[i]; m.Role == pipeline.RoleUser {
			t.Type, t.Transcript = TypeTurn, m.Content
			break
		}
	}
	if n := len(req.Messages); n > 0 && req.Messages[n-1].Role == pipeline.RoleTool {
		t.Type = TypeToolResults
	}
	if t.Messages == nil {
		t.Messages = []pipeline.Message{}
	}
	if t.Tools == nil {
		t.Tools = []pipeline.ToolSpec{}
	}
	return t
}

// decodeStrict decodes exactly one JSON value into v, refusing unknown fields.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("unexpected data after the JSON object")
	}
	return nil
}

// parseAnswer decodes and checks a turn answer and returns the chunks it
// becomes, in order: text, tool calls, end of call.
func parseAnswer(data []byte, now time.Time) ([]pipeline.LLMChunk, error) {
	var a Answer
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("empty body (answer 204 No Content to say nothing)")
	}
	if err := decodeStrict(data, &a); err != nil {
		return nil, err
	}
	var out []pipeline.LLMChunk
	if a.Say != "" {
		out = append(out, pipeline.LLMChunk{Text: a.Say})
	}
	if len(a.ToolCalls) > maxToolCalls {
		return nil, fmt.Errorf("tool_calls: %d calls, at most %d", len(a.ToolCalls), maxToolCalls)
	}
	if len(a.ToolCalls) > 0 {
		calls := make([]pipeline.ToolCall, 0, len(a.ToolCalls))
		seen := map[string]bool{}
		for i, tc := range a.ToolCalls {
			if !toolNameRE.MatchString(tc.Name) {
				return nil, fmt.Errorf("tool_calls[%d].name: want 1 to 64 letters, digits, _ or -", i)
			}
			id := tc.ID
			switch {
			case id == "":
				id = "call_" + events.NewULID(now)
			case !toolIDRE.MatchString(id):
				return nil, fmt.Errorf("tool_calls[%d].id: want 1 to 64 letters, digits, _ . : or -", i)
			case seen[id]:
				return nil, fmt.Errorf("tool_calls[%d].id: %q is used twice", i, id)
			}
			seen[id] = true
			args, err := toolArguments(tc.Arguments)
			if err != nil {
				return nil, fmt.Errorf("tool_calls[%d].arguments: %w", i, err)
			}
			calls = append(calls, pipeline.ToolCall{ID: id, Name: tc.Name, Arguments: args})
		}
		out = append(out, pipeline.LLMChunk{ToolCalls: calls})
	}
	a.TransferTo = strings.TrimSpace(a.TransferTo)
	switch {
	case a.Hangup && a.TransferTo != "":
		return nil, errors.New("hangup and transfer_to: give one or the other")
	case a.Reason != "" && !a.Hangup && a.TransferTo == "":
		return nil, errors.New("reason: only applies with hangup or transfer_to")
	case a.Reason != "" && !reasonRE.MatchString(a.Reason):
		return nil, errors.New("reason: want 1 to 64 letters, digits, _ . : or -, e.g. resolved")
	case len(a.TransferTo) > maxTransferLen || strings.IndexFunc(a.TransferTo, unicode.IsControl) >= 0:
		return nil, fmt.Errorf("transfer_to: want a phone number or SIP URI of at most %d characters", maxTransferLen)
	case a.Hangup:
		out = append(out, pipeline.LLMChunk{End: &pipeline.EndCall{Reason: a.Reason}})
	case a.TransferTo != "":
		out = append(out, pipeline.LLMChunk{End: &pipeline.EndCall{Transfer: a.TransferTo, Reason: a.Reason}})
	}
	return out, nil
}

// toolArguments returns a tool call's arguments as a compact JSON object.
func toolArguments(raw json.RawMessage) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return json.RawMessage("{}"), nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		raw = bytes.TrimSpace([]byte(s))
	}
	if len(raw) == 0 || raw[0] != '{' || !json.Valid(raw) {
		return nil, errors.New("want a JSON object, or a string holding one")
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// parseVars decodes and checks a call-start answer. An empty body (204) has no
// variables.
func parseVars(data []byte) (map[string]string, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	var a CallStartAnswer
	if err := decodeStrict(data, &a); err != nil {
		return nil, err
	}
	if len(a.Vars) > maxVars {
		return nil, fmt.Errorf("vars: %d variables, at most %d", len(a.Vars), maxVars)
	}
	out := make(map[string]string, len(a.Vars))
	for k, v := range a.Vars {
		if !varNameRE.MatchString(k) {
			return nil, fmt.Errorf("vars: %q is not a variable name (letters, digits and _, not starting with a digit, at most 64)", clip(k))
		}
		switch v := v.(type) {
		case nil:
		case string:
			out[k] = v
		case json.Number:
			out[k] = v.String()
		case bool:
			out[k] = fmt.Sprint(v)
		default:
			return nil, fmt.Errorf("vars.%s: want a string, number or boolean", k)
		}
	}
	return out, nil
}

func clip(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}
