package webhookllm

import (
	"encoding/json"
	"testing"
	"time"
)

// FuzzParseAnswer: any answer either fails or yields chunks that hold to the
// documented format: valid tool names, JSON object arguments, at most one end.
func FuzzParseAnswer(f *testing.F) {
	for _, s := range []string{
		`{"say":"hi"}`, `{}`, ``, `{"tool_calls":[{"name":"x","arguments":"{\"a\":1}"}]}`,
		`{"say":"bye","hangup":true,"reason":"done"}`, `{"transfer_to":"+1555"}`, `[1]`, `{"say":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		chunks, err := parseAnswer(data, time.Unix(0, 0))
		if err != nil {
			return
		}
		ends := 0
		for _, ch := range chunks {
			for _, tc := range ch.ToolCalls {
				var obj map[string]any
				if !toolNameRE.MatchString(tc.Name) || tc.ID == "" || json.Unmarshal(tc.Arguments, &obj) != nil || obj == nil {
					t.Fatalf("bad tool call %+v from %q", tc, data)
				}
			}
			if ch.End != nil {
				ends++
			}
		}
		if ends > 1 {
			t.Fatalf("%d ends from %q", ends, data)
		}
	})
}

// FuzzParseVars: any call-start answer either fails or yields valid names.
func FuzzParseVars(f *testing.F) {
	for _, s := range []string{`{"vars":{"a":"b","n":1,"t":true,"z":null}}`, `{}`, ``, `{"vars":[]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		vars, err := parseVars(data)
		if err != nil {
			return
		}
		for k := range vars {
			if !varNameRE.MatchString(k) {
				t.Fatalf("bad name %q from %q", k, data)
			}
		}
	})
}
