package pipeline

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
)

// conv builds a conversation from a compact notation: "s:text" system,
// "u:text" caller, "a:text" agent, "c:name" agent calling tool name, "t:text"
// tool result. Each content is padded so that every message costs 10 tokens
// with countBytes (4 of overhead, 6 of content).
func conv(spec ...string) []Message {
	var out []Message
	calls := 0
	for _, s := range spec {
		kind, text, _ := strings.Cut(s, ":")
		text = pad(text)
		switch kind {
		case "s":
			out = append(out, Message{Role: RoleSystem, Content: text})
		case "u":
			out = append(out, Message{Role: RoleUser, Content: text})
		case "a":
			out = append(out, Message{Role: RoleAssistant, Content: text})
		case "c":
			calls++
			// 4 of overhead + name + arguments "{}" = 6 + 2 + 4 (message) = 16.
			out = append(out, Message{Role: RoleAssistant, ToolCalls: []ToolCall{{ID: "c" + strconv.Itoa(calls), Name: text[:4], Arguments: json.RawMessage(`{}`)}}})
		case "t":
			out = append(out, Message{Role: RoleTool, Content: text[:4], ToolCallID: "c" + strconv.Itoa(calls)})
		}
	}
	return out
}

func pad(s string) string { return (s + "______")[:6] }

func countBytes(s string) int { return len(s) }

// labels turns messages back into the notation of conv, for comparing.
func labels(msgs []Message) string {
	var parts []string
	for _, m := range msgs {
		switch {
		case len(m.ToolCalls) > 0:
			parts = append(parts, "c:"+m.ToolCalls[0].Name)
		case m.Role == RoleTool:
			parts = append(parts, "t:"+m.Content)
		default:
			parts = append(parts, string(m.Role)[:1]+":"+strings.TrimRight(m.Content, "_"))
		}
	}
	return strings.Join(parts, " ")
}

func TestTrimHistory(t *testing.T) {
	long := conv("s:sys", "a:hello", "u:q1", "a:r1", "u:q2", "a:r2", "u:q3", "a:r3", "u:q4")
	tools := conv("s:sys", "u:q1", "a:r1", "u:q2", "c:look", "t:res1", "c:book", "t:res2", "a:r2", "u:q3")
	tests := []struct {
		name  string
		msgs  []Message
		limit int
		want  string
	}{
		{"no limit", long, 0, "s:sys a:hello u:q1 a:r1 u:q2 a:r2 u:q3 a:r3 u:q4"},
		{"fits exactly", long, 90, "s:sys a:hello u:q1 a:r1 u:q2 a:r2 u:q3 a:r3 u:q4"},
		{"drops the oldest turns first", long, 89, "s:sys u:q1 a:r1 u:q2 a:r2 u:q3 a:r3 u:q4"},
		{"keeps what fits", long, 60, "s:sys u:q2 a:r2 u:q3 a:r3 u:q4"},
		{"cuts before a caller message", long, 59, "s:sys u:q3 a:r3 u:q4"},
		{"newest turn always kept", long, 1, "s:sys u:q4"},
		{"no caller message to cut at", conv("s:sys", "a:hello", "a:more"), 5, "s:sys a:hello a:more"},
		{"system messages anywhere are kept", conv("s:sys", "u:q1", "a:r1", "s:note", "u:q2", "a:r2", "u:q3"), 50, "s:sys s:note u:q2 a:r2 u:q3"},
		// q1 a r1 = 20, the tool turn = 10+16+8+16+8+10 = 68, q3 = 10, system 10.
		{"tool turn kept whole", tools, 88, "s:sys u:q2 c:look t:res1 c:book t:res2 a:r2 u:q3"},
		{"tool turn dropped whole", tools, 87, "s:sys u:q3"},
		{"newest turn with tools kept whole", conv("s:sys", "u:q1", "a:r1", "u:q2", "c:look", "t:res1"), 20, "s:sys u:q2 c:look t:res1"},
		// A caller message between tool calls and their results (a barge-in
		// while a tool ran) is no place to cut.
		{"never orphans tool results", conv("s:sys", "u:q1", "c:look", "u:q2", "t:res1", "a:r1", "u:q3"), 50, "s:sys u:q3"},
		{"no system prompt", conv("u:q1", "a:r1", "u:q2"), 15, "u:q2"},
		{"empty", nil, 10, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := labels(tt.msgs)
			got := TrimHistory(tt.msgs, tt.limit, countBytes)
			if labels(got) != tt.want {
				t.Errorf("TrimHistory(%d) =\n  %s\nwant\n  %s", tt.limit, labels(got), tt.want)
			}
			if labels(tt.msgs) != before {
				t.Errorf("TrimHistory changed its input: %s", labels(tt.msgs))
			}
			for i, m := range got {
				if m.Role == RoleTool && (i == 0 || !answered(got[:i], m.ToolCallID)) {
					t.Errorf("tool message %d answers no tool call before it", i)
				}
			}
		})
	}
}

func answered(msgs []Message, id string) bool {
	for _, m := range msgs {
		for _, tc := range m.ToolCalls {
			if tc.ID == id {
				return true
			}
		}
	}
	return false
}

func TestEstimateTokens(t *testing.T) {
	for s, want := range map[string]int{"": 0, "a": 1, "four": 1, "hello": 2, strings.Repeat("x", 400): 100} {
		if got := EstimateTokens(s); got != want {
			t.Errorf("EstimateTokens(%q) = %d, want %d", s, got, want)
		}
	}
	m := Message{Role: RoleAssistant, Content: "abcd", ToolCalls: []ToolCall{{Name: "look", Arguments: json.RawMessage(`{"a":1}`)}}}
	if got := MessageTokens(&m, EstimateTokens); got != 4+1+4+1+2 {
		t.Errorf("MessageTokens = %d", got)
	}
}

// A history within its budget, the case of every turn of an ordinary call,
// costs no allocation.
func TestTrimHistoryDoesNotAllocateWhenItFits(t *testing.T) {
	msgs := benchHistory(40)
	allocs := testing.AllocsPerRun(100, func() { TrimHistory(msgs, 1<<20, nil) })
	if allocs != 0 {
		t.Errorf("TrimHistory allocated %v times for a history that fits", allocs)
	}
	allocs = testing.AllocsPerRun(100, func() { TrimHistory(msgs, 500, nil) })
	if allocs != 1 {
		t.Errorf("TrimHistory allocated %v times trimming, want 1 (the result)", allocs)
	}
}

// benchHistory is a system prompt and n turns of about 25 words a side, every
// fourth with a tool call.
func benchHistory(n int) []Message {
	msgs := []Message{{Role: RoleSystem, Content: strings.Repeat("You are a helpful support agent. ", 30)}}
	for i := range n {
		msgs = append(msgs, Message{Role: RoleUser, Content: strings.Repeat("where is my order please ", 5)})
		if i%4 == 0 {
			id := "call_" + strconv.Itoa(i)
			msgs = append(msgs,
				Message{Role: RoleAssistant, ToolCalls: []ToolCall{{ID: id, Name: "lookup_order", Arguments: json.RawMessage(`{"order":"4207"}`)}}},
				Message{Role: RoleTool, ToolCallID: id, Content: `{"status":"shipped","eta":"tomorrow"}`})
		}
		msgs = append(msgs, Message{Role: RoleAssistant, Content: strings.Repeat("your order ships tomorrow morning ", 5)})
	}
	return msgs
}

func BenchmarkTrimHistory(b *testing.B) {
	for _, bc := range []struct {
		name  string
		turns int
		limit int
	}{
		{"fits/20turns", 20, benchHistoryTokens},
		{"trims/100turns", 100, benchHistoryTokens},
	} {
		msgs := benchHistory(bc.turns)
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				TrimHistory(msgs, bc.limit, EstimateTokens)
			}
		})
	}
}

// benchHistoryTokens is agents.DefaultHistoryTokens (pipeline
// cannot import agents).
const benchHistoryTokens = 6000
