package plugins

import (
	"context"
	"encoding/json"
	"testing"
	"time"
)

func TestToolsetConfiguredTimeout(t *testing.T) {
	env := NewEnvironment()
	plain := &fakeTool{name: "plain", fn: func(context.Context, json.RawMessage) (Result, error) { return Result{}, nil }}
	own := &fakeTool{name: "own", timeout: 3 * time.Second, fn: plain.fn}
	for _, tool := range []Tool{plain, own} {
		if err := env.RegisterTool(tool); err != nil {
			t.Fatal(err)
		}
	}
	ts, err := env.Build([]Ref{{Name: "plain"}, {Name: "own"}, {Name: "plain", As: "plain_ref", Timeout: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	tests := []struct {
		name             string
		timeout, setting time.Duration
	}{
		{"plain", DefaultTimeout, 0},
		{"own", 3 * time.Second, 3 * time.Second},
		{"plain_ref", time.Second, time.Second},
		{"unknown", DefaultTimeout, 0},
	}
	for _, tt := range tests {
		if got := ts.Timeout(tt.name); got != tt.timeout {
			t.Errorf("Timeout(%s) = %s, want %s", tt.name, got, tt.timeout)
		}
		if got := ts.ConfiguredTimeout(tt.name); got != tt.setting {
			t.Errorf("ConfiguredTimeout(%s) = %s, want %s", tt.name, got, tt.setting)
		}
	}
}
