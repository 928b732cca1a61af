package openai

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parley-voice/parley/pipeline"
)

const testKey = "sk-test-0123456789secret"

func newTestLLM(t *testing.T, f *fakeServer, mod func(*Config)) *LLM {
	t.Helper()
	cfg := Config{BaseURL: f.srv.URL + "/v1", APIKey: testKey, Model: "gpt-4o-mini"}
	if mod != nil {
		mod(&cfg)
	}
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func userRequest(text string) *pipeline.LLMRequest {
	return &pipeline.LLMRequest{Messages: []pipeline.Message{
		{Role: pipeline.RoleSystem, Content: "You are a helpful phone agent."},
		{Role: pipeline.RoleUser, Content: text},
	}}
}

func collect(chunks *[]pipeline.LLMChunk) func(pipeline.LLMChunk) {
	return func(c pipeline.LLMChunk) { *chunks = append(*chunks, c) }
}

func providerError(t *testing.T, err error) *pipeline.ProviderError {
	t.Helper()
	pe, ok := errors.AsType[*pipeline.ProviderError](err)
	if !ok {
		t.Fatalf("error %v (%T) is not a *pipeline.ProviderError", err, err)
	}
	if strings.Contains(err.Error(), testKey) {
		t.Fatalf("error reveals the API key: %v", err)
	}
	return pe
}

func TestStreamsTextInOrder(t *testing.T) {
	firstSeen := make(chan struct{})
	f := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, _ map[string]any, _ int) {
		sse(w)
		send(w, roleChunk())
		send(w, textChunk("Hello"))
		// Hold the rest until the client has passed the first text on.
		select {
		case <-firstSeen:
		case <-time.After(5 * time.Second):
			return
		}
		send(w, textChunk(", how can"))
		send(w, textChunk(" I help?"))
		send(w, finishChunk("stop"))
		send(w, usageChunk(12, 7))
		done(w)
	})
	temp := float32(0.5)
	l := newTestLLM(t, f, func(c *Config) { c.Temperature = &temp; c.MaxTokens = 200 })

	var chunks []pipeline.LLMChunk
	err := l.Generate(context.Background(), userRequest("hi"), func(c pipeline.LLMChunk) {
		if len(chunks) == 0 {
			close(firstSeen)
		}
		chunks = append(chunks, c)
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []pipeline.LLMChunk{{Text: "Hello"}, {Text: ", how can"}, {Text: " I help?"},
		{Usage: &pipeline.Usage{PromptTokens: 12, CompletionTokens: 7}}}
	if !reflect.DeepEqual(chunks, want) {
		t.Fatalf("chunks = %+v, want %+v", chunks, want)
	}

	reqs := f.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Path != "/v1/chat/completions" {
		t.Errorf("path = %q", r.Path)
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+testKey {
		t.Errorf("Authorization = %q", got)
	}
	b := r.Body
	if b["model"] != "gpt-4o-mini" || b["stream"] != true || b["temperature"] != 0.5 || b["max_tokens"] != 200.0 {
		t.Errorf("body = %v", b)
	}
	if so, _ := b["stream_options"].(map[string]any); so["include_usage"] != true {
		t.Errorf("stream_options = %v", b["stream_options"])
	}
	msgs, _ := b["messages"].([]any)
	if len(msgs) != 2 || msgs[0].(map[string]any)["role"] != "system" || msgs[1].(map[string]any)["content"] != "hi" {
		t.Errorf("messages = %v", msgs)
	}
	if _, ok := b["tools"]; ok {
		t.Errorf("tools sent without tools: %v", b["tools"])
	}
}

func TestToolCallsAssembled(t *testing.T) {
	idx := func(i int) int { return i }
	cases := []struct {
		name  string
		base  int // index of the first call; -1 sends no index
		delta func(i int) int
	}{
		{"index from 0", 0, idx},
		{"index from 1", 1, idx},
		{"no index", -1, func(int) int { return -1 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, b := tc.base, tc.base+1
			if tc.base < 0 {
				a, b = -1, -1
			}
			f := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, _ map[string]any, _ int) {
				sse(w)
				send(w, roleChunk())
				send(w, textChunk("Let me check."))
				send(w, toolChunk(a, "call_A", "lookup_order", ""))
				send(w, toolChunk(a, "", "", `{"order_`))
				send(w, toolChunk(a, "", "", `id":"A1`))
				send(w, toolChunk(a, "", "", `7"}`))
				send(w, toolChunk(b, "call_B", "get_time", `{"tz":`))
				send(w, toolChunk(b, "", "", `"UTC"}`))
				send(w, finishChunk("tool_calls"))
				send(w, usageChunk(50, 20))
				done(w)
			})
			l := newTestLLM(t, f, nil)
			var chunks []pipeline.LLMChunk
			if err := l.Generate(context.Background(), userRequest("where is my order"), collect(&chunks)); err != nil {
				t.Fatal(err)
			}
			want := []pipeline.LLMChunk{
				{Text: "Let me check."},
				{ToolCalls: []pipeline.ToolCall{
					{ID: "call_A", Name: "lookup_order", Arguments: json.RawMessage(`{"order_id":"A17"}`)},
					{ID: "call_B", Name: "get_time", Arguments: json.RawMessage(`{"tz":"UTC"}`)},
				}},
				{Usage: &pipeline.Usage{PromptTokens: 50, CompletionTokens: 20}},
			}
			if !reflect.DeepEqual(chunks, want) {
				t.Fatalf("chunks =\n%s\nwant\n%s", dump(chunks), dump(want))
			}
		})
	}
}

// Interleaved fragments of parallel calls are joined by index, not by arrival.
func TestToolCallsInterleaved(t *testing.T) {
	f := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, _ map[string]any, _ int) {
		sse(w)
		send(w, toolChunk(0, "call_A", "a", `{"x":`))
		send(w, toolChunk(1, "call_B", "b", `{"y":`))
		send(w, toolChunk(0, "", "", `1}`))
		send(w, toolChunk(1, "", "", `2}`))
		// No finish_reason: the calls are emitted at the end of the stream.
		done(w)
	})
	l := newTestLLM(t, f, nil)
	var chunks []pipeline.LLMChunk
	if err := l.Generate(context.Background(), userRequest("go"), collect(&chunks)); err != nil {
		t.Fatal(err)
	}
	want := []pipeline.LLMChunk{{ToolCalls: []pipeline.ToolCall{
		{ID: "call_A", Name: "a", Arguments: json.RawMessage(`{"x":1}`)},
		{ID: "call_B", Name: "b", Arguments: json.RawMessage(`{"y":2}`)},
	}}}
	if !reflect.DeepEqual(chunks, want) {
		t.Fatalf("chunks =\n%s\nwant\n%s", dump(chunks), dump(want))
	}
}

func TestToolResultsFedBack(t *testing.T) {
	f := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, _ map[string]any, _ int) {
		sse(w)
		send(w, textChunk("Your order A17 ships today."))
		send(w, finishChunk("stop"))
		done(w)
	})
	l := newTestLLM(t, f, nil)
	schema := json.RawMessage(`{"type":"object","properties":{"order_id":{"type":"string"}},"required":["order_id"]}`)
	req := &pipeline.LLMRequest{
		Messages: []pipeline.Message{
			{Role: pipeline.RoleSystem, Content: "sys"},
			{Role: pipeline.RoleUser, Content: "where is my order A17"},
			{Role: pipeline.RoleAssistant, ToolCalls: []pipeline.ToolCall{
				{ID: "call_A", Name: "lookup_order", Arguments: json.RawMessage(`{"order_id":"A17"}`)},
				{ID: "call_B", Name: "get_time", Arguments: nil},
			}},
			{Role: pipeline.RoleTool, ToolCallID: "call_A", Content: `{"status":"shipping today"}`},
			{Role: pipeline.RoleTool, ToolCallID: "call_B", Content: ""},
		},
		Tools: []pipeline.ToolSpec{
			{Name: "lookup_order", Description: "Finds an order", Parameters: schema},
			{Name: "get_time", Description: "Current time"},
		},
	}
	var chunks []pipeline.LLMChunk
	if err := l.Generate(context.Background(), req, collect(&chunks)); err != nil {
		t.Fatal(err)
	}
	body := f.requests()[0].Body
	var got struct {
		Messages []struct {
			Role       string  `json:"role"`
			Content    *string `json:"content"`
			ToolCallID string  `json:"tool_call_id"`
			ToolCalls  []struct {
				ID       string `json:"id"`
				Type     string `json:"type"`
				Function struct {
					Name      string `json:"name"`
					Arguments string `json:"arguments"`
				} `json:"function"`
			} `json:"tool_calls"`
		} `json:"messages"`
		Tools []struct {
			Type     string `json:"type"`
			Function struct {
				Name        string          `json:"name"`
				Description string          `json:"description"`
				Parameters  json.RawMessage `json:"parameters"`
			} `json:"function"`
		} `json:"tools"`
	}
	raw, _ := json.Marshal(body)
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Messages) != 5 {
		t.Fatalf("messages = %s", raw)
	}
	asst := got.Messages[2]
	if asst.Role != "assistant" || len(asst.ToolCalls) != 2 ||
		asst.ToolCalls[0].ID != "call_A" || asst.ToolCalls[0].Type != "function" ||
		asst.ToolCalls[0].Function.Name != "lookup_order" || asst.ToolCalls[0].Function.Arguments != `{"order_id":"A17"}` ||
		asst.ToolCalls[1].Function.Arguments != "{}" {
		t.Errorf("assistant message = %+v", asst)
	}
	for i, id := range []string{"call_A", "call_B"} {
		m := got.Messages[3+i]
		if m.Role != "tool" || m.ToolCallID != id || m.Content == nil || *m.Content == "" {
			t.Errorf("tool message %d = %+v", i, m)
		}
	}
	if *got.Messages[3].Content != `{"status":"shipping today"}` {
		t.Errorf("tool result = %q", *got.Messages[3].Content)
	}
	if len(got.Tools) != 2 || got.Tools[0].Type != "function" || got.Tools[0].Function.Name != "lookup_order" ||
		got.Tools[0].Function.Description != "Finds an order" || !jsonEqual(got.Tools[0].Function.Parameters, schema) ||
		!jsonEqual(got.Tools[1].Function.Parameters, emptySchema) {
		t.Errorf("tools = %+v", got.Tools)
	}
	if len(chunks) != 1 || chunks[0].Text != "Your order A17 ships today." {
		t.Errorf("chunks = %s", dump(chunks))
	}
}

func TestHTTPErrors(t *testing.T) {
	cases := []struct {
		status    int
		message   string
		typ       string
		code      any
		retryable bool
	}{
		{429, "Rate limit reached for gpt-4o-mini", "requests", "rate_limit_exceeded", true},
		{500, "The server had an error while processing your request.", "server_error", nil, true},
		{503, "The engine is currently overloaded.", "server_error", nil, true},
		{400, "Invalid value for 'messages'.", "invalid_request_error", nil, false},
		{401, "Incorrect API key provided: " + testKey + ".", "invalid_request_error", "invalid_api_key", false},
		{404, "The model `gpt-9` does not exist", "invalid_request_error", "model_not_found", false},
	}
	for _, tc := range cases {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			f := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, _ map[string]any, _ int) {
				apiError(w, tc.status, tc.message, tc.typ, tc.code)
			})
			l := newTestLLM(t, f, nil)
			var chunks []pipeline.LLMChunk
			err := l.Generate(context.Background(), userRequest("hi"), collect(&chunks))
			pe := providerError(t, err)
			if pe.Status != tc.status || pe.Retryable != tc.retryable || pipeline.ShouldFallback(err) != tc.retryable {
				t.Errorf("err = %v: status %d retryable %v", err, pe.Status, pe.Retryable)
			}
			if pe.Provider != "openai" || pe.Stage != "llm" {
				t.Errorf("provider/stage = %q/%q", pe.Provider, pe.Stage)
			}
			if tc.status != 401 && !strings.Contains(err.Error(), tc.message) {
				t.Errorf("error %q lacks the provider's message", err)
			}
			if n := len(f.requests()); n != 1 {
				t.Errorf("%d requests, want 1 (no retry inside the provider)", n)
			}
			if len(chunks) != 0 {
				t.Errorf("chunks = %s", dump(chunks))
			}
		})
	}
}

func TestErrorEventMidStream(t *testing.T) {
	f := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, _ map[string]any, _ int) {
		sse(w)
		send(w, textChunk("Hel"))
		send(w, map[string]any{"error": map[string]any{"message": "upstream overloaded", "type": "server_error"}})
	})
	l := newTestLLM(t, f, nil)
	var chunks []pipeline.LLMChunk
	err := l.Generate(context.Background(), userRequest("hi"), collect(&chunks))
	pe := providerError(t, err)
	if !pe.Retryable || !strings.Contains(err.Error(), "upstream overloaded") {
		t.Errorf("err = %v", err)
	}
	if len(chunks) != 1 || chunks[0].Text != "Hel" {
		t.Errorf("chunks = %s", dump(chunks))
	}
}

func TestStreamCut(t *testing.T) {
	cases := []struct {
		name string
		end  func(w http.ResponseWriter)
	}{
		// The connection drops: the chunked body ends without its terminator.
		{"connection dropped", func(http.ResponseWriter) { panic(http.ErrAbortHandler) }},
		// The body ends cleanly but neither finish_reason nor [DONE] came.
		{"body ended early", func(http.ResponseWriter) {}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, _ map[string]any, _ int) {
				sse(w)
				send(w, textChunk("The answer"))
				send(w, textChunk(" is"))
				send(w, toolChunk(0, "call_A", "lookup", `{"a"`))
				tc.end(w)
			})
			l := newTestLLM(t, f, nil)
			var chunks []pipeline.LLMChunk
			err := l.Generate(context.Background(), userRequest("hi"), collect(&chunks))
			pe := providerError(t, err)
			if !errors.Is(err, pipeline.ErrStreamCut) || !pe.Retryable || !pipeline.ShouldFallback(err) {
				t.Fatalf("err = %v, want a retryable ErrStreamCut", err)
			}
			if !strings.Contains(err.Error(), "cut") {
				t.Errorf("error %q does not say the stream was cut", err)
			}
			want := []pipeline.LLMChunk{{Text: "The answer"}, {Text: " is"}}
			if !reflect.DeepEqual(chunks, want) {
				t.Errorf("chunks = %s (half-made tool calls must not be emitted)", dump(chunks))
			}
		})
	}
}

func TestFirstTokenTimeout(t *testing.T) {
	stall := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}
	cases := []struct {
		name     string
		handle   func(w http.ResponseWriter, r *http.Request)
		cfg      func(*Config)
		ctx      func(context.Context) (context.Context, context.CancelFunc)
		deadline bool // the error also wraps context.DeadlineExceeded
	}{
		{"no headers", func(w http.ResponseWriter, r *http.Request) { stall(w, r) },
			func(c *Config) { c.FirstTokenTimeout = 100 * time.Millisecond }, nil, false},
		{"role chunk then nothing", func(w http.ResponseWriter, r *http.Request) {
			sse(w)
			send(w, roleChunk())
			stall(w, r)
		}, func(c *Config) { c.FirstTokenTimeout = 100 * time.Millisecond }, nil, false},
		{"deadline in ctx value", func(w http.ResponseWriter, r *http.Request) { stall(w, r) }, nil,
			func(ctx context.Context) (context.Context, context.CancelFunc) {
				return pipeline.WithFirstTokenDeadline(ctx, time.Now().Add(100*time.Millisecond)), func() {}
			}, false},
		{"ctx deadline", func(w http.ResponseWriter, r *http.Request) { stall(w, r) }, nil,
			func(ctx context.Context) (context.Context, context.CancelFunc) {
				return context.WithTimeout(ctx, 100*time.Millisecond)
			}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, _ map[string]any, _ int) { tc.handle(w, r) })
			l := newTestLLM(t, f, tc.cfg)
			ctx, cancel := context.Background(), context.CancelFunc(func() {})
			if tc.ctx != nil {
				ctx, cancel = tc.ctx(ctx)
			}
			defer cancel()
			start := time.Now()
			err := l.Generate(ctx, userRequest("hi"), func(pipeline.LLMChunk) {})
			elapsed := time.Since(start)
			pe := providerError(t, err)
			if !errors.Is(err, pipeline.ErrFirstByteTimeout) || !pe.Retryable || !pipeline.ShouldFallback(err) {
				t.Fatalf("err = %v, want a retryable ErrFirstByteTimeout", err)
			}
			if errors.Is(err, context.DeadlineExceeded) != tc.deadline {
				t.Errorf("errors.Is(err, DeadlineExceeded) = %v, want %v", !tc.deadline, tc.deadline)
			}
			if elapsed < 90*time.Millisecond || elapsed > 2*time.Second {
				t.Errorf("returned after %s, want about 100ms", elapsed)
			}
		})
	}
}

// A first-token deadline does not cut a reply that has started.
func TestFirstTokenTimeoutSparesStartedReply(t *testing.T) {
	f := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, _ map[string]any, _ int) {
		sse(w)
		send(w, textChunk("Hello"))
		time.Sleep(150 * time.Millisecond)
		send(w, textChunk(" there"))
		send(w, finishChunk("stop"))
		done(w)
	})
	l := newTestLLM(t, f, func(c *Config) { c.FirstTokenTimeout = 50 * time.Millisecond })
	var chunks []pipeline.LLMChunk
	if err := l.Generate(context.Background(), userRequest("hi"), collect(&chunks)); err != nil {
		t.Fatal(err)
	}
	if len(chunks) != 2 {
		t.Fatalf("chunks = %s", dump(chunks))
	}
}

func TestStreamOptionsRejected(t *testing.T) {
	f := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, body map[string]any, _ int) {
		if _, ok := body["stream_options"]; ok {
			apiError(w, 400, "Unrecognized request argument supplied: stream_options", "invalid_request_error", nil)
			return
		}
		sse(w)
		send(w, textChunk("ok"))
		send(w, finishChunk("stop"))
		done(w)
	})
	l := newTestLLM(t, f, nil)
	for round := 1; round <= 2; round++ {
		var chunks []pipeline.LLMChunk
		if err := l.Generate(context.Background(), userRequest("hi"), collect(&chunks)); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if want := []pipeline.LLMChunk{{Text: "ok"}}; !reflect.DeepEqual(chunks, want) {
			t.Fatalf("round %d: chunks = %s", round, dump(chunks))
		}
	}
	reqs := f.requests()
	// Round 1: rejected, then retried without; round 2: without from the start.
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	for i, want := range []bool{true, false, false} {
		if _, has := reqs[i].Body["stream_options"]; has != want {
			t.Errorf("request %d has stream_options = %v, want %v", i, has, want)
		}
	}
}

func TestCancelMidStream(t *testing.T) {
	handlerSawCancel := make(chan struct{})
	f := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, _ map[string]any, _ int) {
		sse(w)
		send(w, textChunk("Let me"))
		select {
		case <-r.Context().Done():
			close(handlerSawCancel)
		case <-time.After(5 * time.Second):
		}
	})
	l := newTestLLM(t, f, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var chunks []pipeline.LLMChunk
	start := time.Now()
	err := l.Generate(ctx, userRequest("hi"), func(c pipeline.LLMChunk) {
		chunks = append(chunks, c)
		cancel() // barge-in
	})
	if !errors.Is(err, context.Canceled) || pipeline.ShouldFallback(err) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if _, ok := errors.AsType[*pipeline.ProviderError](err); ok {
		t.Errorf("caller cancellation reported as a provider error: %v", err)
	}
	if time.Since(start) > 2*time.Second || len(chunks) != 1 {
		t.Errorf("took %s, chunks %s", time.Since(start), dump(chunks))
	}
	select {
	case <-handlerSawCancel:
	case <-time.After(2 * time.Second):
		t.Error("the server never saw the request cancelled")
	}
}

func TestBaseURLAndAuth(t *testing.T) {
	cases := []struct {
		name, prefix, key, wantPath, wantAuth string
	}{
		{"v1 prefix", "/v1", testKey, "/v1/chat/completions", "Bearer " + testKey},
		{"deeper prefix, trailing slash", "/openai/v1/", testKey, "/openai/v1/chat/completions", "Bearer " + testKey},
		{"local server without key", "/v1", "", "/v1/chat/completions", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, _ map[string]any, _ int) {
				sse(w)
				send(w, textChunk("ok"))
				send(w, finishChunk("stop"))
				done(w)
			})
			l := newTestLLM(t, f, func(c *Config) { c.BaseURL = f.srv.URL + tc.prefix; c.APIKey = tc.key; c.Organization = "org-1" })
			if err := l.Generate(context.Background(), userRequest("hi"), func(pipeline.LLMChunk) {}); err != nil {
				t.Fatal(err)
			}
			r := f.requests()[0]
			if r.Path != tc.wantPath || r.Header.Get("Authorization") != tc.wantAuth || r.Header.Get("OpenAI-Organization") != "org-1" {
				t.Errorf("path %q auth %q org %q", r.Path, r.Header.Get("Authorization"), r.Header.Get("OpenAI-Organization"))
			}
		})
	}
}

func TestUnreachableServerFallsBack(t *testing.T) {
	f := newFakeServer(t, func(http.ResponseWriter, *http.Request, map[string]any, int) {})
	l := newTestLLM(t, f, nil)
	f.srv.Close()
	err := l.Generate(context.Background(), userRequest("hi"), func(pipeline.LLMChunk) {})
	pe := providerError(t, err)
	if !pe.Retryable || pe.Status != 0 || errors.Is(err, pipeline.ErrStreamCut) {
		t.Errorf("err = %v", err)
	}
}

func dump(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}
