package agents

// Node actions: what a flow node does to the call after speaking.
const (
	// ActionEndCall hangs up once the node's text has been spoken; the engine
	// emits a call of the end_call tool.
	ActionEndCall = "end_call"
	// ActionTransfer transfers the call to the node's transfer_to once its text
	// has been spoken; the engine emits a call of the transfer_call tool.
	ActionTransfer = "transfer"
)

// Tool names the flow engine calls for node actions. They are the built-in tools
// of plugins/builtin and must be listed in the agent's tools.
const (
	EndCallTool      = "end_call"
	TransferCallTool = "transfer_call"
)

// Slot types.
const (
	// SlotText matches listed values (and their synonyms) or a pattern.
	SlotText = "text"
	// SlotDigits matches spoken digits ("four two oh seven") and yields "4207".
	SlotDigits = "digits"
)

// FlowConfig is a deterministic conversation graph that the flow engine runs in
// place of a language model, so that an agent works without any API key.
type FlowConfig struct {
	// Start is the node spoken when the call starts.
	Start string `yaml:"start" json:"start" jsonschema:"required"`
	// Fallback is said when the caller's words match nothing at the current node, before the node's reprompt. Default "Sorry, I didn't catch that.".
	Fallback string `yaml:"fallback,omitempty" json:"fallback"`
	// Threshold is the lowest intent score, above 0 and at most 1, that counts as a match. Default 0.5.
	Threshold float64 `yaml:"threshold,omitempty" json:"threshold"`
	// Vars declares per-call variables texts may use, with default values, like the agent's top-level vars (texts may use those and the built-ins from, to, call_id and agent_id too). The runtime may set them per call (for example caller details from a CRM).
	Vars map[string]string `yaml:"vars,omitempty" json:"vars,omitempty"`
	// Intents are what the caller may want, learned from example sentences and keywords.
	Intents map[string]FlowIntent `yaml:"intents,omitempty" json:"intents,omitempty"`
	// Slots are values the caller may give (a day, a time, an order number).
	Slots map[string]FlowSlot `yaml:"slots,omitempty" json:"slots,omitempty"`
	// Global lists transitions that apply at every node, after the node's own transitions.
	Global []FlowTransition `yaml:"global,omitempty" json:"global,omitempty"`
	// Nodes are the steps of the conversation, by name.
	Nodes map[string]FlowNode `yaml:"nodes" json:"nodes" jsonschema:"required"`

	// agentVars are the names of the agent's top-level vars, which texts may
	// use too; set when the agent config is parsed or validated.
	agentVars []string
}

// FlowIntent is something the caller may want.
type FlowIntent struct {
	// Examples are sentences a caller might say, in plain words. {{slot}} stands for any value of a slot, e.g. "book an appointment on {{day}}".
	Examples []string `yaml:"examples,omitempty" json:"examples,omitempty"`
	// Keywords are words or short phrases that alone are enough to recognise the intent.
	Keywords []string `yaml:"keywords,omitempty" json:"keywords,omitempty"`
}

// FlowSlot is a value the caller may give.
type FlowSlot struct {
	// Type is "text" (listed values or a pattern) or "digits" (spoken digits such as "four two oh seven", captured as "4207"). Default "text".
	Type string `yaml:"type,omitempty" json:"type,omitempty"`
	// Values are the accepted values, in plain words; the captured value is the listed spelling.
	Values []string `yaml:"values,omitempty" json:"values,omitempty"`
	// Synonyms maps a value to other ways of saying it, e.g. {"ten a m": ["ten in the morning"]}.
	Synonyms map[string][]string `yaml:"synonyms,omitempty" json:"synonyms,omitempty"`
	// Pattern is a regular expression (RE2) matched against the normalised words (lowercase, numbers spelled out); the first group, or the whole match, is the value.
	Pattern string `yaml:"pattern,omitempty" json:"pattern,omitempty"`
	// Length is the exact number of digits of a digits slot; 0 accepts 1 to 20 digits.
	Length int `yaml:"length,omitempty" json:"length,omitempty"`
}

// FlowTransition moves the conversation to another node when the caller's words
// match. With both intent and when_slot set, both must match.
type FlowTransition struct {
	// Intent must be the best match among the intents possible at this point.
	Intent string `yaml:"intent,omitempty" json:"intent,omitempty"`
	// WhenSlot must have been captured from the caller's words in this turn.
	WhenSlot string `yaml:"when_slot,omitempty" json:"when_slot,omitempty"`
	// Next is the node to go to.
	Next string `yaml:"next" json:"next" jsonschema:"required"`
}

// FlowNode is one step of the conversation: what the agent says, what it listens
// for, and where it goes next.
type FlowNode struct {
	// Say is spoken when the node is entered. It may use {{slot}}, {{var}} and, after a tool call, {{result.field}}.
	Say string `yaml:"say,omitempty" json:"say,omitempty"`
	// Reprompt is spoken after the fallback when the caller's words match nothing here; default Say.
	Reprompt string `yaml:"reprompt,omitempty" json:"reprompt,omitempty"`
	// Capture lists the slots to listen for at this node.
	Capture []string `yaml:"capture,omitempty" json:"capture,omitempty"`
	// Transitions are tried in order against the caller's words; the first that matches wins.
	Transitions []FlowTransition `yaml:"transitions,omitempty" json:"transitions,omitempty"`
	// Next moves on straight after speaking, without waiting for the caller.
	Next string `yaml:"next,omitempty" json:"next,omitempty"`
	// Tool is called after speaking; its result continues the flow at on_result or on_error.
	Tool *FlowToolCall `yaml:"tool,omitempty" json:"tool,omitempty"`
	// OnResult is the node to go to when the tool returns.
	OnResult string `yaml:"on_result,omitempty" json:"on_result,omitempty"`
	// OnError is the node to go to when the tool fails (its result has an "error" field); default on_result.
	OnError string `yaml:"on_error,omitempty" json:"on_error,omitempty"`
	// Action ends the call ("end_call") or transfers it ("transfer") once the node's text has been spoken.
	Action string `yaml:"action,omitempty" json:"action,omitempty"`
	// TransferTo is where "transfer" sends the caller: an E.164 phone number (+15550100) or a sip: URI.
	TransferTo string `yaml:"transfer_to,omitempty" json:"transfer_to,omitempty"`
	// Reason explains the action in the call.ended or call.transferred event.
	Reason string `yaml:"reason,omitempty" json:"reason,omitempty"`
}

// FlowToolCall is a tool a node calls.
type FlowToolCall struct {
	// Name is the tool's name as listed in the agent's tools (its "as" name).
	Name string `yaml:"name" json:"name" jsonschema:"required"`
	// Args are the tool's JSON arguments; strings may use {{slot}} and {{var}}.
	Args map[string]any `yaml:"args,omitempty" json:"args,omitempty"`
}
