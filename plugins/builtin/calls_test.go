package builtin

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/parley-voice/parley/plugins"
)

func TestRegisteredInDefault(t *testing.T) {
	names := plugins.Default().Names()
	for _, n := range []string{EndCallName, TransferCallName, HTTPRequestName} {
		if !slices.Contains(names, n) {
			t.Errorf("%s not registered in Default (have %v)", n, names)
		}
	}
}

func TestEndCall(t *testing.T) {
	tool := EndCall()
	tests := []struct {
		args   string
		reason string
		err    string
	}{
		{`{}`, "", ""},
		{``, "", ""},
		{`{"reason":"caller said goodbye"}`, "caller said goodbye", ""},
		{`{"reason":5}`, "", `argument "reason": must be a string`},
		{`{"why":"x"}`, "", `argument "why": unknown field`},
	}
	for _, tt := range tests {
		res, err := plugins.Run(context.Background(), tool, json.RawMessage(tt.args), 0, 0)
		if tt.err != "" {
			if !errors.Is(err, plugins.ErrBadArguments) || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: err = %v, want %q", tt.args, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.args, err)
		}
		if res.Action != plugins.ActionEndCall || res.Reason != tt.reason || !json.Valid([]byte(res.Content)) {
			t.Errorf("%s: result %+v", tt.args, res)
		}
	}
	var schema map[string]any
	if err := json.Unmarshal(tool.Spec().Parameters, &schema); err != nil {
		t.Fatal(err)
	}
	if _, ok := schema["required"]; ok {
		t.Errorf("reason should be optional: %s", tool.Spec().Parameters)
	}
}

func TestNormalizeDestination(t *testing.T) {
	tests := []struct{ in, want string }{
		{"+15550100", "+15550100"},
		{" +1 (555) 010-0199 ", "+15550100199"},
		{"+44.20.7946.0958", "+442079460958"},
		{"sip:support@example.com", "sip:support@example.com"},
		{"SIP:Support@Example.com", "sip:Support@Example.com"},
		{"sips:agent@pbx.example.com:5061;transport=tls", "sips:agent@pbx.example.com:5061;transport=tls"},
		{"sip:pbx.example.com", "sip:pbx.example.com"},
		{"sip:1000@[2001:db8::1]", "sip:1000@[2001:db8::1]"},
		{"15550100", ""},          // no +
		{"+05550100", ""},         // country code cannot start with 0
		{"+1234567890123456", ""}, // 16 digits
		{"+1555abc", ""},
		{"sip:", ""},
		{"sip:user@", ""},
		{"sip:user@host name", ""},
		{"sip:a@b@c", ""},
		{"tel:+15550100", ""},
		{"https://evil.example.com", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got, err := NormalizeDestination(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("NormalizeDestination(%q) = %q, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NormalizeDestination(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestTransferCall(t *testing.T) {
	open, err := NewTransferCall(nil)
	if err != nil {
		t.Fatal(err)
	}
	limited, err := NewTransferCall(json.RawMessage(`{"destinations":["+1 555 0100","sip:Billing@example.com"]}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		tool plugins.Tool
		args string
		to   string
		err  string
	}{
		{"phone", open, `{"to":"+1 555 0199","reason":"wants a human"}`, "+15550199", ""},
		{"sip", open, `{"to":"sip:support@example.com"}`, "sip:support@example.com", ""},
		{"missing to", open, `{"reason":"x"}`, "", `argument "to": missing required field`},
		{"invalid to", open, `{"to":"call my cousin"}`, "", `argument "to": "call my cousin" is not an E.164 phone number`},
		{"allowed", limited, `{"to":"+15550100"}`, "+15550100", ""},
		{"allowed sip", limited, `{"to":"sip:Billing@example.com"}`, "sip:Billing@example.com", ""},
		{"not allowed", limited, `{"to":"+15550199"}`, "", `argument "to": must be one of +15550100, sip:Billing@example.com`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := plugins.Run(context.Background(), tt.tool, json.RawMessage(tt.args), 0, 0)
			if tt.err != "" {
				if !errors.Is(err, plugins.ErrBadArguments) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Action != plugins.ActionTransfer || res.TransferTo != tt.to {
				t.Errorf("result %+v, want transfer to %s", res, tt.to)
			}
		})
	}
	var schema struct {
		Properties map[string]struct {
			Enum []string `json:"enum"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(limited.Spec().Parameters, &schema); err != nil {
		t.Fatal(err)
	}
	if got := schema.Properties["to"].Enum; !slices.Equal(got, []string{"+15550100", "sip:Billing@example.com"}) {
		t.Errorf("enum = %v", got)
	}
	if limited.Spec().Name != TransferCallName {
		t.Errorf("name = %s", limited.Spec().Name)
	}
}

func TestTransferCallOptions(t *testing.T) {
	tests := []struct{ opts, want string }{
		{`{"destinations":["12"]}`, `option "destinations[0]"`},
		{`{"destination":["+15550100"]}`, `unknown option "destination"`},
		{`{"destinations":"+15550100"}`, `option "destinations": want a list`},
		{`[]`, `must be a JSON object`},
	}
	for _, tt := range tests {
		_, err := NewTransferCall(json.RawMessage(tt.opts))
		if !errors.Is(err, plugins.ErrBadOptions) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.opts, err, tt.want)
		}
	}
}
