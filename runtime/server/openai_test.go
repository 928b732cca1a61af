package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/media/native"
	_ "github.com/parley-voice/parley/plugins/demo" // lookup_order
	"github.com/parley-voice/parley/runtime/events"
	"github.com/parley-voice/parley/runtime/server"
)

// fakeOpenAI streams chat completions in OpenAI's SSE format: when the
// conversation has no tool result yet it asks for lookup_order (arguments split
// across chunks); once it has one, it answers with text built from it.
type fakeOpenAI struct {
	mu       sync.Mutex
	requests []map[string]any
}

func (f *fakeOpenAI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/chat/completions" || r.Header.Get("Authorization") != "Bearer sk-test" {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}`)
		return
	}
	var req map[string]any
	_ = json.NewDecoder(r.Body).Decode(&req)
	f.mu.Lock()
	f.requests = append(f.requests, req)
	f.mu.Unlock()
	var toolResult string
	for _, m := range req["messages"].([]any) {
		if mm := m.(map[string]any); mm["role"] == "tool" {
			toolResult, _ = mm["content"].(string)
		}
	}
	w.Header().Set("Content-Type", "text/event-stream")
	send := func(chunk string) {
		fmt.Fprintf(w, "data: %s\n\n", chunk)
		w.(http.Flusher).Flush()
	}
	const head = `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[`
	if toolResult == "" {
		send(head + `{"index":0,"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"lookup_order","arguments":""}}]},"finish_reason":null}]}`)
		send(head + `{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"order_"}}]},"finish_reason":null}]}`)
		send(head + `{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"number\":\"1234\"}"}}]},"finish_reason":null}]}`)
		send(head + `{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`)
	} else {
		var res struct {
			Status string `json:"status"`
		}
		_ = json.Unmarshal([]byte(toolResult), &res)
		send(head + `{"index":0,"delta":{"role":"assistant","content":"Your order "},"finish_reason":null}]}`)
		send(head + fmt.Sprintf(`{"index":0,"delta":{"content":"is %s."},"finish_reason":null}]}`, res.Status))
		send(head + `{"index":0,"delta":{},"finish_reason":"stop"}]}`)
	}
	send(`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":42,"completion_tokens":7,"total_tokens":49}}`)
	send("[DONE]")
}

// TestOpenAIAgentCallsAGoTool: an agent on an OpenAI-compatible model asks for
// a Go tool; the tool runs in Parley and the spoken answer uses its result.
func TestOpenAIAgentCallsAGoTool(t *testing.T) {
	fake := &fakeOpenAI{}
	api := httptest.NewServer(fake)
	defer api.Close()
	agent := parseAgent(t, `id: test
greeting: Hi.
stt: {provider: fake}
tts: {provider: fake}
llm:
  provider: openai
  model: gpt-4o-mini
  base_url: `+api.URL+`/v1
  api_key: sk-test
  system_prompt: You help customers with their orders.
tools:
  - name: lookup_order
`)
	ts := newTestServer(t, server.Config{Agents: []*agents.Config{agent}})
	p := mustDial(t, ts)
	p.awaitListening()
	p.speak(640)
	done := p.event(events.ToolCompleted, nil)
	if done.Payload["name"] != "lookup_order" || done.Payload["ok"] != true {
		t.Fatalf("tool.completed %v", done.Payload)
	}
	// lookup_order("1234"): digits sum to 10, status index 2.
	reply := p.event(events.AgentResponse, func(e native.ClientEvent) bool {
		s, _ := e.Payload["text"].(string)
		return strings.Contains(s, "delivered")
	})
	if s := reply.Payload["text"].(string); !strings.Contains(s, "Your order is delivered") {
		t.Errorf("reply %q", s)
	}
	p.hangUp()
	ts.endReason(p.cl.CallID())

	fake.mu.Lock()
	defer fake.mu.Unlock()
	if len(fake.requests) != 2 {
		t.Fatalf("%d requests to the model, want 2 (tool call, then the answer)", len(fake.requests))
	}
	first := fake.requests[0]
	msgs := first["messages"].([]any)
	if msgs[0].(map[string]any)["role"] != "system" || first["model"] != "gpt-4o-mini" || len(first["tools"].([]any)) == 0 {
		t.Errorf("first request %v", first)
	}
}
