package webhookllm

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"time"
)

// CallStart asks a backend for a call's variables when the call starts. It is
// safe for concurrent use.
type CallStart struct {
	c *client
}

// NewCallStart checks cfg and builds the hook. Timeout 0 means
// DefaultCallStartTimeout.
func NewCallStart(cfg Config) (*CallStart, error) {
	c, err := newClient(cfg, "call_start", DefaultCallStartTimeout)
	if err != nil {
		return nil, fmt.Errorf("call_start webhook config: %w", err)
	}
	return &CallStart{c: c}, nil
}

// Vars POSTs a call.start request for call and returns the variables of the
// answer (none for 204 No Content). "from" and "to" are the call's own numbers
// and are never taken from the answer. Failures are *pipeline.ProviderError
// with stage "call_start".
func (h *CallStart) Vars(ctx context.Context, call CallInfo) (map[string]string, error) {
	call.Vars = nil
	body, err := json.Marshal(&CallStartRequest{Type: TypeCallStart, Call: call})
	if err != nil {
		return nil, h.c.fail(0, false, fmt.Errorf("encoding the request: %w", err))
	}
	data, err := h.c.post(ctx, body)
	if err != nil {
		return nil, err
	}
	vars, err := parseVars(data)
	if err != nil {
		return nil, h.c.invalid(err)
	}
	maps.DeleteFunc(vars, func(k, _ string) bool { return k == "from" || k == "to" })
	return vars, nil
}

// Timeout is how long a request may take.
func (h *CallStart) Timeout() time.Duration { return h.c.timeout }

// Close drops idle connections to the backend. The hook stays usable.
func (h *CallStart) Close() error {
	h.c.close()
	return nil
}
