package openai

import (
	"encoding/json"
	"strconv"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/parley-voice/parley/pipeline"
)

// emptyToolResult replaces an empty tool result: go-openai omits empty content and
// the API then rejects the tool message.
const emptyToolResult = "(no result)"

// emptySchema is sent for a tool without parameters; the API requires an object schema.
var emptySchema = json.RawMessage(`{"type":"object","properties":{}}`)

// toMessages converts the conversation to the chat completions format.
func toMessages(msgs []pipeline.Message) []goopenai.ChatCompletionMessage {
	out := make([]goopenai.ChatCompletionMessage, 0, len(msgs))
	for _, m := range msgs {
		cm := goopenai.ChatCompletionMessage{Role: string(m.Role), Content: m.Content}
		switch m.Role {
		case pipeline.RoleAssistant:
			for _, tc := range m.ToolCalls {
				args := string(tc.Arguments)
				if args == "" {
					args = "{}"
				}
				cm.ToolCalls = append(cm.ToolCalls, goopenai.ToolCall{
					ID:       tc.ID,
					Type:     goopenai.ToolTypeFunction,
					Function: goopenai.FunctionCall{Name: tc.Name, Arguments: args},
				})
			}
		case pipeline.RoleTool:
			cm.ToolCallID = m.ToolCallID
			if cm.Content == "" {
				cm.Content = emptyToolResult
			}
		}
		out = append(out, cm)
	}
	return out
}

// toTools converts tool specs to function tools with JSON schema parameters.
func toTools(specs []pipeline.ToolSpec) []goopenai.Tool {
	if len(specs) == 0 {
		return nil
	}
	out := make([]goopenai.Tool, 0, len(specs))
	for _, s := range specs {
		params := s.Parameters
		if len(params) == 0 || string(params) == "null" {
			params = emptySchema
		}
		out = append(out, goopenai.Tool{
			Type: goopenai.ToolTypeFunction,
			Function: &goopenai.FunctionDefinition{
				Name:        s.Name,
				Description: s.Description,
				Parameters:  params,
			},
		})
	}
	return out
}

// toolAssembler joins tool call fragments streamed across chunks. Fragments are keyed
// by index when the server sends one (the first index may be 1); without an index, a
// fragment with a new id starts a call and one without continues the last call.
type toolAssembler struct {
	calls   []*partialCall
	byIndex map[int]*partialCall
}

type partialCall struct {
	id, name string
	args     []byte
}

func (a *toolAssembler) add(frags []goopenai.ToolCall) {
	for _, f := range frags {
		p := a.find(f)
		if p.id == "" {
			p.id = f.ID
		}
		if p.name == "" {
			p.name = f.Function.Name
		}
		p.args = append(p.args, f.Function.Arguments...)
	}
}

func (a *toolAssembler) find(f goopenai.ToolCall) *partialCall {
	if f.Index != nil {
		if p, ok := a.byIndex[*f.Index]; ok {
			return p
		}
		if a.byIndex == nil {
			a.byIndex = map[int]*partialCall{}
		}
		p := &partialCall{}
		a.byIndex[*f.Index] = p
		a.calls = append(a.calls, p)
		return p
	}
	if f.ID != "" {
		for _, p := range a.calls {
			if p.id == f.ID {
				return p
			}
		}
	}
	if f.ID == "" && len(a.calls) > 0 {
		return a.calls[len(a.calls)-1]
	}
	p := &partialCall{}
	a.calls = append(a.calls, p)
	return p
}

// take returns the assembled calls, in the order they started, and resets.
// Missing ids are generated so that tool results can refer to them; arguments that
// are not valid JSON are passed on as a JSON string for the tool to reject.
func (a *toolAssembler) take() []pipeline.ToolCall {
	if len(a.calls) == 0 {
		return nil
	}
	out := make([]pipeline.ToolCall, 0, len(a.calls))
	for i, p := range a.calls {
		id := p.id
		if id == "" {
			id = "call_" + strconv.Itoa(i)
		}
		args := json.RawMessage(p.args)
		switch {
		case len(args) == 0:
			args = json.RawMessage("{}")
		case !json.Valid(args):
			args, _ = json.Marshal(string(p.args))
		}
		out = append(out, pipeline.ToolCall{ID: id, Name: p.name, Arguments: args})
	}
	a.calls, a.byIndex = nil, nil
	return out
}
