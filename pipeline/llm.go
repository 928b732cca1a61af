package pipeline

import (
	"context"
	"encoding/json"
)

// LLM generates the agent's reply: a hosted language model, or the deterministic
// flow engine that plugs in at the same place. One LLM value serves one call, so
// implementations may keep per-call state (the flow engine's current node).
type LLM interface {
	// Generate starts a reply to the conversation in req. Chunks go to sink from the
	// calling goroutine; Generate returns when the reply is complete, ctx is cancelled
	// (ctx.Err()), or it fails. sink must not block.
	Generate(ctx context.Context, req *LLMRequest, sink func(LLMChunk)) error
}

// Role of a message in the conversation.
type Role string

// Roles of conversation messages, as chat completion APIs name them.
const (
	RoleSystem    Role = "system"
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
	RoleTool      Role = "tool"
)

// Message is one entry of the conversation history.
type Message struct {
	Role    Role   `json:"role"`
	Content string `json:"content,omitempty"`
	// ToolCalls the assistant asked for in this message.
	ToolCalls []ToolCall `json:"tool_calls,omitempty"`
	// ToolCallID links a RoleTool message to the call it answers.
	ToolCallID string `json:"tool_call_id,omitempty"`
	// Interrupted marks an assistant message cut short by barge-in; Content holds
	// only what the caller heard.
	Interrupted bool `json:"interrupted,omitempty"`
}

// ToolCall is a request from the reply generator to run a tool.
type ToolCall struct {
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments"`
}

// ToolSpec describes a tool offered to the reply generator.
type ToolSpec struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Parameters  json.RawMessage `json:"parameters"`
}

// LLMRequest is the input of one generation.
type LLMRequest struct {
	// Messages is the conversation so far, oldest first, system prompt included.
	Messages []Message
	Tools    []ToolSpec
	// Vars are per-call variables (caller number, CRM data) for prompt templates.
	Vars map[string]string
	// CallID and AgentID identify the call the reply is for, for generators that
	// run outside the process (a customer's backend behind a webhook).
	CallID  string
	AgentID string
	// Turn counts the caller's turns; 0 before the caller has spoken (a greeting).
	Turn int
}

// Intent is what a deterministic engine recognised in the caller's words.
type Intent struct {
	Name       string            `json:"name"`
	Confidence float64           `json:"confidence"`
	Slots      map[string]string `json:"slots,omitempty"`
}

// Usage counts tokens for a generation.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
}

// LLMChunk is a piece of a streamed reply. Exactly one field is usually set.
type LLMChunk struct {
	// Text is the next fragment of the spoken reply.
	Text string
	// ToolCalls are complete tool calls (arguments assembled).
	ToolCalls []ToolCall
	// Intent is set by engines that classify the caller's words.
	Intent *Intent
	Usage  *Usage
	// End asks the call to hang up, or transfer, once the reply has been spoken.
	End *EndCall
}

// EndCall is a reply generator's decision to end the call after its reply.
type EndCall struct {
	// Transfer is where to transfer the caller (a phone number or SIP URI);
	// empty hangs up.
	Transfer string
	// Reason explains the decision, e.g. "resolved"; for a hang-up it becomes the
	// call.ended reason (default agent_hangup).
	Reason string
}

// InlineLLM is implemented by reply generators that answer in process without
// blocking or doing I/O (the flow engine). When Inline reports true the call actor
// calls Generate on its own goroutine, saving two goroutine switches per turn.
type InlineLLM interface {
	LLM
	Inline() bool
}
