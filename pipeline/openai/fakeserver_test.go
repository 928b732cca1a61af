package openai

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// fakeServer speaks the OpenAI chat completions streaming wire format. Each test
// gives it a handler; it records every request it received.
type fakeServer struct {
	srv    *httptest.Server
	handle func(w http.ResponseWriter, r *http.Request, body map[string]any, n int)

	mu   sync.Mutex
	reqs []fakeRequest
}

type fakeRequest struct {
	Path   string
	Header http.Header
	Body   map[string]any
}

func newFakeServer(t *testing.T, handle func(w http.ResponseWriter, r *http.Request, body map[string]any, n int)) *fakeServer {
	t.Helper()
	f := &fakeServer{handle: handle}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		http.Error(w, `{"error":{"message":"bad json","type":"invalid_request_error","code":null}}`, 400)
		return
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, fakeRequest{Path: r.URL.Path, Header: r.Header.Clone(), Body: body})
	n := len(f.reqs)
	f.mu.Unlock()
	f.handle(w, r, body, n)
}

func (f *fakeServer) requests() []fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeRequest(nil), f.reqs...)
}

// sse writes the headers of an event stream.
func sse(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	w.(http.Flusher).Flush()
}

// send writes one chunk object as a server-sent event and flushes it.
func send(w http.ResponseWriter, chunk any) {
	b, err := json.Marshal(chunk)
	if err != nil {
		panic(err)
	}
	fmt.Fprintf(w, "data: %s\n\n", b)
	w.(http.Flusher).Flush()
}

func done(w http.ResponseWriter) {
	fmt.Fprint(w, "data: [DONE]\n\n")
	w.(http.Flusher).Flush()
}

// chunk builds a chat.completion.chunk with one choice.
func chunk(delta map[string]any, finish any) map[string]any {
	return map[string]any{
		"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini",
		"system_fingerprint": "fp_x",
		"choices":            []any{map[string]any{"index": 0, "delta": delta, "logprobs": nil, "finish_reason": finish}},
	}
}

func roleChunk() map[string]any {
	return chunk(map[string]any{"role": "assistant", "content": ""}, nil)
}

func textChunk(s string) map[string]any { return chunk(map[string]any{"content": s}, nil) }

func finishChunk(reason string) map[string]any { return chunk(map[string]any{}, reason) }

// toolChunk is one tool call fragment; index < 0 omits the index, as some servers do.
func toolChunk(index int, id, name, args string) map[string]any {
	tc := map[string]any{"function": map[string]any{"arguments": args}}
	if index >= 0 {
		tc["index"] = index
	}
	if id != "" {
		tc["id"] = id
		tc["type"] = "function"
		tc["function"].(map[string]any)["name"] = name
	}
	return chunk(map[string]any{"tool_calls": []any{tc}}, nil)
}

func usageChunk(prompt, completion int) map[string]any {
	return map[string]any{
		"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini",
		"choices": []any{},
		"usage":   map[string]any{"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
	}
}

// apiError answers with OpenAI's error JSON.
func apiError(w http.ResponseWriter, status int, message, typ string, code any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": message, "type": typ, "param": nil, "code": code}})
}
