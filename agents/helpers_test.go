package agents

import (
	"errors"
	"strings"
	"testing"
)

// minimalYAML is the smallest valid flow agent; tests change one thing in it.
const minimalYAML = `id: test
tools:
  - name: end_call
  - name: transfer_call
  - name: lookup
flow:
  start: hello
  intents:
    bye: {examples: [goodbye], keywords: [bye]}
  nodes:
    hello:
      say: Hi
      transitions: [{intent: bye, next: end}]
    end:
      say: Bye
      action: end_call
`

func noEnv(string) (string, bool) { return "", false }

func envMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func mustParse(t *testing.T, yaml string) *Config {
	t.Helper()
	c, err := Parse("test.yaml", []byte(yaml), noEnv)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

// wantErr checks that err mentions every one of wants.
func wantErr(t *testing.T, err error, wants ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one mentioning %q", wants)
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not mention %q:\n%v", w, err)
		}
	}
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Errorf("error holds no *FieldError: %T", err)
	}
}
