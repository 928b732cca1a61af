package webhookllm_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/parley-voice/parley/pipeline"
	"github.com/parley-voice/parley/pipeline/webhookllm"
	"github.com/parley-voice/parley/runtime/webhooks/signature"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testSecret is a valid whsec_ secret (32 bytes of 'k').
var testSecret = func() string {
	s, err := signature.NewSecret([]byte(strings.Repeat("k", 32)))
	if err != nil {
		panic(err)
	}
	return s.Encode()
}()

// backend is a customer's server: it verifies every request's signature as a
// receiver would and answers with its handler.
type backend struct {
	t      *testing.T
	srv    *httptest.Server
	answer func(w http.ResponseWriter, r *http.Request, body map[string]any)

	mu       sync.Mutex
	requests []map[string]any
	headers  []http.Header
	verified []error
}

func newBackend(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, body map[string]any)) *backend {
	b := &backend{t: t, answer: answer}
	secrets, err := signature.ParseSecrets([]string{testSecret})
	if err != nil {
		t.Fatal(err)
	}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		verr := signature.Verify(secrets, r.Header, raw, time.Now(), 0)
		var body map[string]any
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Errorf("request body is not JSON: %v", err)
		}
		b.mu.Lock()
		b.requests = append(b.requests, body)
		b.headers = append(b.headers, r.Header.Clone())
		b.verified = append(b.verified, verr)
		b.mu.Unlock()
		if verr != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		b.answer(w, r, body)
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *backend) llm(t *testing.T, mod func(*webhookllm.Config)) *webhookllm.LLM {
	t.Helper()
	cfg := webhookllm.Config{URL: b.srv.URL + "/agent?token=abc", Secret: testSecret, AllowInsecureLoopback: true}
	if mod != nil {
		mod(&cfg)
	}
	l, err := webhookllm.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func reply(body string) func(http.ResponseWriter, *http.Request, map[string]any) {
	return func(w http.ResponseWriter, r *http.Request, _ map[string]any) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, body)
	}
}

func generate(t *testing.T, l *webhookllm.LLM, req *pipeline.LLMRequest) ([]pipeline.LLMChunk, error) {
	t.Helper()
	var out []pipeline.LLMChunk
	err := l.Generate(context.Background(), req, func(ch pipeline.LLMChunk) { out = append(out, ch) })
	return out, err
}

func sampleRequest() *pipeline.LLMRequest {
	return &pipeline.LLMRequest{
		CallID: "call_1", AgentID: "support", Turn: 2,
		Vars: map[string]string{"from": "+15550100", "to": "+15550199", "customer_name": "Ann"},
		Messages: []pipeline.Message{
			{Role: pipeline.RoleSystem, Content: "Be brief."},
			{Role: pipeline.RoleAssistant, Content: "Hi."},
			{Role: pipeline.RoleUser, Content: "Where is my order?"},
		},
		Tools: []pipeline.ToolSpec{{Name: "lookup_order", Description: "Finds an order.", Parameters: json.RawMessage(`{"type":"object"}`)}},
	}
}

func TestTurnRequestWireFormat(t *testing.T) {
	b := newBackend(t, reply(`{"say":"Let me check."}`))
	l := b.llm(t, nil)
	chunks, err := generate(t, l, sampleRequest())
	if err != nil {
		t.Fatal(err)
	}
	if len(chunks) != 1 || chunks[0].Text != "Let me check." {
		t.Fatalf("chunks %+v", chunks)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.verified[0]; err != nil {
		t.Fatalf("signature does not verify: %v", err)
	}
	h := b.headers[0]
	if !strings.HasPrefix(h.Get("webhook-id"), "msg_") || h.Get("Content-Type") != "application/json" || h.Get("User-Agent") != webhookllm.UserAgent {
		t.Errorf("headers %v", h)
	}
	got := b.requests[0]
	want := map[string]any{
		"type": "turn",
		"call": map[string]any{"id": "call_1", "agent_id": "support", "from": "+15550100", "to": "+15550199",
			"vars": map[string]any{"from": "+15550100", "to": "+15550199", "customer_name": "Ann"}},
		"turn":       float64(2),
		"transcript": "Where is my order?",
		"messages": []any{
			map[string]any{"role": "system", "content": "Be brief."},
			map[string]any{"role": "assistant", "content": "Hi."},
			map[string]any{"role": "user", "content": "Where is my order?"},
		},
		"tools": []any{map[string]any{"name": "lookup_order", "description": "Finds an order.", "parameters": map[string]any{"type": "object"}}},
	}
	gj, _ := json.Marshal(got)
	wj, _ := json.Marshal(want)
	if string(gj) != string(wj) {
		t.Errorf("request\n got %s\nwant %s", gj, wj)
	}
}

func TestRequestTypes(t *testing.T) {
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request, _ map[string]any) { w.WriteHeader(http.StatusNoContent) })
	l := b.llm(t, nil)
	greeting := &pipeline.LLMRequest{Messages: []pipeline.Message{{Role: pipeline.RoleSystem, Content: "x"}}}
	results := sampleRequest()
	results.Messages = append(results.Messages,
		pipeline.Message{Role: pipeline.RoleAssistant, ToolCalls: []pipeline.ToolCall{{ID: "c1", Name: "lookup_order", Arguments: json.RawMessage(`{}`)}}},
		pipeline.Message{Role: pipeline.RoleTool, ToolCallID: "c1", Content: `{"status":"shipped"}`})
	for _, req := range []*pipeline.LLMRequest{greeting, sampleRequest(), results} {
		chunks, err := generate(t, l, req)
		if err != nil || len(chunks) != 0 {
			t.Fatalf("204: chunks %v, err %v; want nothing", chunks, err)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, want := range []string{"greeting", "turn", "tool_results"} {
		if got := b.requests[i]["type"]; got != want {
			t.Errorf("request %d: type %v, want %s", i, got, want)
		}
	}
	if tr := b.requests[2]["transcript"]; tr != "Where is my order?" {
		t.Errorf("tool_results transcript %v", tr)
	}
}

func TestAnswers(t *testing.T) {
	for _, tc := range []struct {
		name, answer string
		check        func(t *testing.T, chunks []pipeline.LLMChunk)
	}{
		{"tool calls without text", `{"tool_calls":[{"id":"t1","name":"lookup_order","arguments":{"order_number": "1234"}},{"name":"log","arguments":"{\"a\":1}"},{"name":"noargs"}]}`,
			func(t *testing.T, chunks []pipeline.LLMChunk) {
				if len(chunks) != 1 || len(chunks[0].ToolCalls) != 3 {
					t.Fatalf("chunks %+v", chunks)
				}
				c := chunks[0].ToolCalls
				if c[0].ID != "t1" || c[0].Name != "lookup_order" || string(c[0].Arguments) != `{"order_number":"1234"}` {
					t.Errorf("call 0 %+v", c[0])
				}
				if !strings.HasPrefix(c[1].ID, "call_") || string(c[1].Arguments) != `{"a":1}` || string(c[2].Arguments) != `{}` {
					t.Errorf("calls %+v", c)
				}
			}},
		{"say then hang up", `{"say":"Bye now.","hangup":true,"reason":"resolved"}`,
			func(t *testing.T, chunks []pipeline.LLMChunk) {
				if len(chunks) != 2 || chunks[0].Text != "Bye now." || chunks[1].End == nil || *chunks[1].End != (pipeline.EndCall{Reason: "resolved"}) {
					t.Fatalf("chunks %+v", chunks)
				}
			}},
		{"transfer", `{"say":"Connecting you.","transfer_to":" +15550142 "}`,
			func(t *testing.T, chunks []pipeline.LLMChunk) {
				if len(chunks) != 2 || chunks[1].End == nil || chunks[1].End.Transfer != "+15550142" {
					t.Fatalf("chunks %+v", chunks)
				}
			}},
		{"empty object", `{}`, func(t *testing.T, chunks []pipeline.LLMChunk) {
			if len(chunks) != 0 {
				t.Fatalf("chunks %+v", chunks)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBackend(t, reply(tc.answer))
			chunks, err := generate(t, b.llm(t, nil), sampleRequest())
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, chunks)
		})
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		answer    func(http.ResponseWriter, *http.Request, map[string]any)
		status    int
		retryable bool
		is        error
		contains  string
	}{
		{name: "500", answer: func(w http.ResponseWriter, r *http.Request, _ map[string]any) { http.Error(w, "database down", 500) },
			status: 500, retryable: true, contains: "database down"},
		{name: "429", answer: func(w http.ResponseWriter, r *http.Request, _ map[string]any) { w.WriteHeader(429) }, status: 429, retryable: true},
		{name: "400", answer: func(w http.ResponseWriter, r *http.Request, _ map[string]any) { w.WriteHeader(400) }, status: 400},
		{name: "redirect", answer: func(w http.ResponseWriter, r *http.Request, _ map[string]any) {
			w.Header().Set("Location", "https://elsewhere.example/")
			w.WriteHeader(http.StatusFound)
		}, status: 302, contains: "redirect"},
		{name: "not JSON", answer: reply(`<html>oops</html>`), status: 200, retryable: true, is: webhookllm.ErrBadAnswer},
		{name: "unknown field", answer: reply(`{"say":"hi","hang_up":true}`), status: 200, retryable: true, is: webhookllm.ErrBadAnswer, contains: "hang_up"},
		{name: "two values", answer: reply(`{"say":"a"}{"say":"b"}`), status: 200, retryable: true, is: webhookllm.ErrBadAnswer},
		{name: "empty body", answer: reply(``), status: 200, retryable: true, is: webhookllm.ErrBadAnswer},
		{name: "hangup and transfer", answer: reply(`{"hangup":true,"transfer_to":"+1555"}`), status: 200, retryable: true, is: webhookllm.ErrBadAnswer},
		{name: "bad tool name", answer: reply(`{"tool_calls":[{"name":"no spaces"}]}`), status: 200, retryable: true, is: webhookllm.ErrBadAnswer},
		{name: "arguments not an object", answer: reply(`{"tool_calls":[{"name":"x","arguments":[1]}]}`), status: 200, retryable: true, is: webhookllm.ErrBadAnswer},
		{name: "duplicate tool ids", answer: reply(`{"tool_calls":[{"id":"a","name":"x"},{"id":"a","name":"y"}]}`), status: 200, retryable: true, is: webhookllm.ErrBadAnswer},
		{name: "reason without an action", answer: reply(`{"say":"x","reason":"done"}`), status: 200, retryable: true, is: webhookllm.ErrBadAnswer},
		{name: "too large", answer: reply(`{"say":"` + strings.Repeat("a", 70<<10) + `"}`), status: 200, retryable: true, is: webhookllm.ErrAnswerTooLarge},
		{name: "timeout", answer: func(w http.ResponseWriter, r *http.Request, _ map[string]any) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}, retryable: true, is: pipeline.ErrFirstByteTimeout, contains: "did not answer within 200ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBackend(t, tc.answer)
			l := b.llm(t, func(c *webhookllm.Config) { c.Timeout = 200 * time.Millisecond })
			var got []pipeline.LLMChunk
			err := l.Generate(context.Background(), sampleRequest(), func(ch pipeline.LLMChunk) { got = append(got, ch) })
			pe, ok := errors.AsType[*pipeline.ProviderError](err)
			if !ok {
				t.Fatalf("err = %v (%T), want a *pipeline.ProviderError", err, err)
			}
			if len(got) != 0 {
				t.Errorf("chunks delivered despite the error: %+v", got)
			}
			if pe.Provider != "webhook" || pe.Stage != "llm" || pe.Status != tc.status || pe.Retryable != tc.retryable {
				t.Errorf("%+v; want status %d retryable %v", pe, tc.status, tc.retryable)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("err %v does not wrap %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.contains) {
				t.Errorf("err %q does not mention %q", err, tc.contains)
			}
			// Errors show the backend's origin, never its path, query or the secret.
			for _, leak := range []string{"token=abc", "/agent", testSecret, strings.TrimPrefix(testSecret, "whsec_")} {
				if strings.Contains(err.Error(), leak) {
					t.Errorf("err %q contains %q", err, leak)
				}
			}
		})
	}
}

// TestSecretEchoRedacted: a backend that echoes the secret in an error does not
// get it into Parley's errors (which end up in logs and events).
func TestSecretEchoRedacted(t *testing.T) {
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request, _ map[string]any) {
		http.Error(w, "wrong secret "+testSecret, http.StatusUnauthorized)
	})
	_, err := generate(t, b.llm(t, nil), sampleRequest())
	if err == nil || strings.Contains(err.Error(), strings.TrimPrefix(testSecret, "whsec_")) || !strings.Contains(err.Error(), "[redacted]") {
		t.Fatalf("err %v", err)
	}
}

func TestCancelled(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{})
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request, _ map[string]any) {
		close(started)
		<-release
	})
	defer close(release)
	l := b.llm(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-started; cancel() }()
	err := l.Generate(ctx, sampleRequest(), func(pipeline.LLMChunk) { t.Error("chunk after cancel") })
	if !errors.Is(err, context.Canceled) || pipeline.ShouldFallback(err) {
		t.Fatalf("err %v; want context.Canceled, no fallback", err)
	}
}

func TestFirstTokenDeadline(t *testing.T) {
	release := make(chan struct{})
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request, _ map[string]any) { <-release })
	defer close(release)
	l := b.llm(t, func(c *webhookllm.Config) { c.Timeout = 10 * time.Second })
	ctx := pipeline.WithFirstTokenDeadline(context.Background(), time.Now().Add(100*time.Millisecond))
	start := time.Now()
	err := l.Generate(ctx, sampleRequest(), func(pipeline.LLMChunk) {})
	if !errors.Is(err, pipeline.ErrFirstByteTimeout) || !pipeline.ShouldFallback(err) {
		t.Fatalf("err %v; want a first-byte timeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("gave up after %v; the first-token deadline was 100ms", d)
	}
}

func TestConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  webhookllm.Config
		want string
	}{
		{"no url", webhookllm.Config{Secret: testSecret}, "url: is required"},
		{"plain http", webhookllm.Config{URL: "http://brain.example/turn", Secret: testSecret}, "must use https"},
		{"http to a public host", webhookllm.Config{URL: "http://brain.example/turn", Secret: testSecret, AllowInsecureLoopback: true}, "only allowed to a loopback host"},
		{"credentials", webhookllm.Config{URL: "https://u:p@brain.example/", Secret: testSecret}, "credentials"},
		{"no secret", webhookllm.Config{URL: "https://brain.example/"}, "secret: is required"},
		{"bad secret", webhookllm.Config{URL: "https://brain.example/", Secret: "hunter2-not-a-secret"}, "secret:"},
		{"timeout", webhookllm.Config{URL: "https://brain.example/", Secret: testSecret, Timeout: time.Hour}, "timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := webhookllm.New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v; want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "/turn") {
				t.Errorf("err %q leaks the secret or the path", err)
			}
		})
	}
	if _, err := webhookllm.New(webhookllm.Config{URL: "https://brain.example/turn", Secret: testSecret}); err != nil {
		t.Errorf("valid config: %v", err)
	}
}

// TestPrivateAddressRefused: the dialer refuses private addresses even over
// https, before any packet is sent.
func TestPrivateAddressRefused(t *testing.T) {
	l, err := webhookllm.New(webhookllm.Config{URL: "https://10.1.2.3/turn", Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, err = generate(t, l, sampleRequest())
	if err == nil || !strings.Contains(err.Error(), "private") {
		t.Fatalf("err %v; want the private address refused", err)
	}
}

func TestCallStart(t *testing.T) {
	b := newBackend(t, reply(`{"vars":{"customer_name":"Ann","tier":3,"vip":true,"unset":null,"from":"+1999"}}`))
	h, err := webhookllm.NewCallStart(webhookllm.Config{URL: b.srv.URL, Secret: testSecret, AllowInsecureLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if h.Timeout() != webhookllm.DefaultCallStartTimeout {
		t.Errorf("timeout %v", h.Timeout())
	}
	vars, err := h.Vars(context.Background(), webhookllm.CallInfo{ID: "call_1", AgentID: "a", Transport: "websocket",
		From: "+15550100", To: "+15550199", Metadata: map[string]string{"k": "v"}, Vars: map[string]string{"x": "y"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(vars) != 3 || vars["customer_name"] != "Ann" || vars["tier"] != "3" || vars["vip"] != "true" {
		t.Errorf("vars %v", vars)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	got, _ := json.Marshal(b.requests[0])
	want := `{"call":{"agent_id":"a","from":"+15550100","id":"call_1","metadata":{"k":"v"},"to":"+15550199","transport":"websocket"},"type":"call.start"}`
	if string(got) != want {
		t.Errorf("request\n got %s\nwant %s", got, want)
	}
}

func TestCallStartErrors(t *testing.T) {
	for _, tc := range []struct{ name, answer, want string }{
		{"bad name", `{"vars":{"customer name":"Ann"}}`, "not a variable name"},
		{"object value", `{"vars":{"customer":{"name":"Ann"}}}`, "want a string"},
		{"unknown field", `{"variables":{}}`, "variables"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBackend(t, reply(tc.answer))
			h, err := webhookllm.NewCallStart(webhookllm.Config{URL: b.srv.URL, Secret: testSecret, AllowInsecureLoopback: true})
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			_, err = h.Vars(context.Background(), webhookllm.CallInfo{ID: "call_1"})
			pe, ok := errors.AsType[*pipeline.ProviderError](err)
			if !ok || pe.Stage != "call_start" || !errors.Is(err, webhookllm.ErrBadAnswer) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v; want a call_start ProviderError mentioning %q", err, tc.want)
			}
		})
	}
}
