package pipeline

import "unsafe"

// messageOverhead is what a chat API adds per message (role, separators), in
// tokens; OpenAI documents about 3 to 4.
const messageOverhead = 4

// EstimateTokens is a cheap estimate of the tokens in s: one per 4 bytes,
// rounded up, which is close for English with the tokenizers of current
// models and errs high for most other text. It needs no tokenizer.
func EstimateTokens(s string) int { return (len(s) + 3) / 4 }

// MessageTokens estimates the tokens of m with count: its content, tool call
// names and arguments, the tool call id it answers, and a fixed overhead.
// count must not keep the strings it is given: tool call arguments are passed
// without a copy.
func MessageTokens(m *Message, count func(string) int) int {
	n := messageOverhead + count(m.Content)
	for i := range m.ToolCalls {
		tc := &m.ToolCalls[i]
		// Viewing the arguments as a string without copying them keeps the
		// per-turn check free of allocations; count only reads it.
		args := unsafe.String(unsafe.SliceData(tc.Arguments), len(tc.Arguments))
		n += messageOverhead + count(tc.Name) + count(args)
	}
	if m.ToolCallID != "" {
		n += count(m.ToolCallID)
	}
	return n
}

// TrimHistory fits a conversation into about maxTokens tokens, as counted by
// count (EstimateTokens when nil; see MessageTokens), by leaving out its oldest turns. It keeps
// every system message, then the newest turns that fit. It cuts only where a
// caller's message begins a turn and no tool results after the cut answer
// tool calls before it, so an assistant message with tool calls is never
// separated from its results (an orphaned tool message is an error for
// OpenAI's API) and the kept history starts with the caller speaking. The
// newest turn is always kept whole, even when it alone is over the budget: the
// model needs the question it answers.
//
// maxTokens <= 0 means no limit. When nothing has to go, msgs itself is
// returned and nothing is allocated; otherwise the result is a new slice that
// shares the messages' contents with msgs.
func TrimHistory(msgs []Message, maxTokens int, count func(string) int) []Message {
	if maxTokens <= 0 || len(msgs) == 0 {
		return msgs
	}
	if count == nil {
		count = EstimateTokens
	}
	total, system := 0, 0
	for i := range msgs {
		n := MessageTokens(&msgs[i], count)
		total += n
		if msgs[i].Role == RoleSystem {
			system += n
		}
	}
	if total <= maxTokens {
		return msgs
	}
	// Walk back from the newest message, remembering the oldest place to cut
	// whose suffix fits.
	budget := maxTokens - system
	cut, acc, openTools := -1, 0, 0
	for i := len(msgs) - 1; i >= 0; i-- {
		m := &msgs[i]
		switch m.Role {
		case RoleSystem:
			continue
		case RoleTool:
			openTools++
		case RoleAssistant:
			if len(m.ToolCalls) > 0 {
				openTools = 0
			}
		}
		acc += MessageTokens(m, count)
		if m.Role != RoleUser || openTools > 0 {
			continue
		}
		if acc > budget && cut >= 0 {
			break
		}
		cut = i
	}
	if cut <= 0 {
		// No place to cut (no caller message yet), or everything fits after all.
		return msgs
	}
	keptSystem := 0
	for i := range cut {
		if msgs[i].Role == RoleSystem {
			keptSystem++
		}
	}
	out := make([]Message, 0, keptSystem+len(msgs)-cut)
	for i := range cut {
		if msgs[i].Role == RoleSystem {
			out = append(out, msgs[i])
		}
	}
	return append(out, msgs[cut:]...)
}
