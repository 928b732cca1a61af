package builtin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parley-voice/parley/plugins"
)

// inCall returns a ctx like the one a call gives a tool run.
func inCall(toolCallID string) context.Context {
	return plugins.WithCallInfo(context.Background(), plugins.ToolCallInfo{
		CallID: "call_01M8D5ZJEFDXEDNKH1S46A26QX", AgentID: "demo", Turn: 1, Round: 1, ToolCallID: toolCallID, Tool: "book",
	})
}

func TestHTTPSendsIdempotencyKey(t *testing.T) {
	srv, seen := newServer(t, nil)
	opts := func(extra string) string {
		return fmt.Sprintf(`{"url":"%s/bookings","method":"POST","allow_insecure_loopback":true%s}`, srv.URL, extra)
	}
	byDefault := newHTTPTool(t, opts(""))
	renamed := newHTTPTool(t, opts(`,"idempotency_header":"x-request-id"`))
	off := newHTTPTool(t, opts(`,"idempotency_header":""`))
	run := func(tool plugins.Tool, ctx context.Context) request {
		t.Helper()
		if _, err := plugins.Run(ctx, tool, json.RawMessage(`{"slot":"9am"}`), time.Second, 0); err != nil {
			t.Fatal(err)
		}
		return <-seen
	}

	key1 := plugins.IdempotencyKey(inCall("call_1"))
	r := run(byDefault, inCall("call_1"))
	if got := r.Header.Get("Idempotency-Key"); got != key1 || got == "" {
		t.Errorf("Idempotency-Key = %q, want %q", got, key1)
	}
	// The same tool call sent again (a retry) carries the same key; another
	// tool call another one.
	if got := run(byDefault, inCall("call_1")).Header.Get("Idempotency-Key"); got != key1 {
		t.Errorf("retry sent key %q, want %q", got, key1)
	}
	if got := run(byDefault, inCall("call_2")).Header.Get("Idempotency-Key"); got == key1 || got == "" {
		t.Errorf("another tool call sent key %q (first was %q)", got, key1)
	}

	r = run(renamed, inCall("call_1"))
	if got := r.Header.Get("X-Request-Id"); got != key1 || r.Header.Get("Idempotency-Key") != "" {
		t.Errorf("renamed: headers %v, want X-Request-Id %q only", r.Header, key1)
	}
	r = run(off, inCall("call_1"))
	if r.Header.Get("Idempotency-Key") != "" {
		t.Errorf("idempotency_header \"\" still sent %v", r.Header)
	}
	// Outside a call there is no key to send.
	r = run(byDefault, context.Background())
	if _, ok := r.Header["Idempotency-Key"]; ok {
		t.Errorf("sent Idempotency-Key outside a call: %v", r.Header)
	}
}

func TestHTTPIdempotencyHeaderOptionErrors(t *testing.T) {
	tests := []struct{ opts, want string }{
		{`{"url":"https://a.example.com","idempotency_header":"bad name"}`, `option "idempotency_header": "bad name" is not a valid header name`},
		{`{"url":"https://a.example.com","idempotency_header":"content-length"}`, `Content-Length cannot carry the idempotency key`},
		{`{"url":"https://a.example.com","idempotency_header":"Content-Type"}`, `Content-Type cannot carry the idempotency key`},
		{`{"url":"https://a.example.com","idempotency_header":5}`, `option "idempotency_header": want a string, not a JSON number`},
		{`{"url":"https://a.example.com","headers":{"idempotency-key":"fixed"}}`, `option "headers": Idempotency-Key carries each tool call's idempotency key`},
		{`{"url":"https://a.example.com","idempotency_header":"X-Key","headers":{"x-key":"fixed"}}`, `option "headers": X-Key carries each tool call's idempotency key`},
	}
	for _, tt := range tests {
		_, err := NewHTTPRequest(json.RawMessage(tt.opts))
		if !errors.Is(err, plugins.ErrBadOptions) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s:\n  err = %v\n  want %q", tt.opts, err, tt.want)
		}
	}
	// A fixed header of that name is fine once the key goes elsewhere or nowhere.
	for _, opts := range []string{
		`{"url":"https://a.example.com","idempotency_header":"","headers":{"Idempotency-Key":"fixed"}}`,
		`{"url":"https://a.example.com","idempotency_header":"X-Key","headers":{"Idempotency-Key":"fixed"}}`,
	} {
		if _, err := NewHTTPRequest(json.RawMessage(opts)); err != nil {
			t.Errorf("%s: %v", opts, err)
		}
	}
}
