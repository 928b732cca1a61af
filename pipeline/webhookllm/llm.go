package webhookllm

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/parley-voice/parley/pipeline"
)

// LLM asks the customer's backend for each reply. It keeps no per-call state
// (every request carries the whole conversation), so one LLM serves every call
// of an agent and is safe for concurrent use.
type LLM struct {
	c *client
}

// New checks cfg and builds the LLM. Timeout 0 means DefaultTimeout.
func New(cfg Config) (*LLM, error) {
	c, err := newClient(cfg, "llm", DefaultTimeout)
	if err != nil {
		return nil, fmt.Errorf("webhook llm config: %w", err)
	}
	return &LLM{c: c}, nil
}

// Generate POSTs the conversation as a turn request (tool_results once tools
// have run, greeting before the caller has spoken) and delivers the answer as
// chunks: the text to say, the tool calls, then the hang-up or transfer.
// Failures are *pipeline.ProviderError with stage "llm"; nothing reaches sink
// unless the whole answer is valid.
func (l *LLM) Generate(ctx context.Context, req *pipeline.LLMRequest, sink func(pipeline.LLMChunk)) error {
	body, err := json.Marshal(turnRequest(req))
	if err != nil {
		return l.c.fail(0, false, fmt.Errorf("encoding the request: %w", err))
	}
	data, err := l.c.post(ctx, body)
	if err != nil {
		return err
	}
	if data == nil { // 204: nothing to say
		return nil
	}
	chunks, err := parseAnswer(data, l.c.now())
	if err != nil {
		return l.c.invalid(err)
	}
	for _, ch := range chunks {
		sink(ch)
	}
	return nil
}

// Timeout is how long a request may take.
func (l *LLM) Timeout() time.Duration { return l.c.timeout }

// Close drops idle connections to the backend. The LLM stays usable.
func (l *LLM) Close() error {
	l.c.close()
	return nil
}

var _ pipeline.LLM = (*LLM)(nil)
