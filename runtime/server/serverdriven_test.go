package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/media/native"
	"github.com/parley-voice/parley/pipeline/fake"
	"github.com/parley-voice/parley/plugins"
	_ "github.com/parley-voice/parley/plugins/all" // end_call and transfer_call, which flows need
	"github.com/parley-voice/parley/runtime/events"
	"github.com/parley-voice/parley/runtime/server"
	"github.com/parley-voice/parley/runtime/webhooks/signature"
)

// brainSecret is the agent's whsec_ secret; the receiver verifies with it.
var brainSecret = func() string {
	s, err := signature.NewSecret([]byte("server-driven-test-secret-32byte"))
	if err != nil {
		panic(err)
	}
	return s.Encode()
}()

// brain is the customer's backend: a real HTTP receiver that verifies every
// request's Standard Webhooks signature, records the request and answers with
// the handler for its path ("/turn" or "/start").
type brain struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	requests map[string][]map[string]any // by path
	badSigs  int
	answer   map[string]func(w http.ResponseWriter, r *http.Request, req map[string]any)
}

func newBrain(t *testing.T, answer map[string]func(w http.ResponseWriter, r *http.Request, req map[string]any)) *brain {
	b := &brain{t: t, requests: map[string][]map[string]any{}, answer: answer}
	secrets, err := signature.ParseSecrets([]string{brainSecret})
	if err != nil {
		t.Fatal(err)
	}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		if err := signature.Verify(secrets, r.Header, raw, time.Now(), 0); err != nil {
			b.mu.Lock()
			b.badSigs++
			b.mu.Unlock()
			t.Errorf("request to %s does not verify: %v", r.URL.Path, err)
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var req map[string]any
		if err := json.Unmarshal(raw, &req); err != nil {
			t.Errorf("request body is not JSON: %v", err)
		}
		b.mu.Lock()
		b.requests[r.URL.Path] = append(b.requests[r.URL.Path], req)
		h := b.answer[r.URL.Path]
		b.mu.Unlock()
		if h == nil {
			http.NotFound(w, r)
			return
		}
		h(w, r, req)
	}))
	return b
}

func (b *brain) got(path string) []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]map[string]any(nil), b.requests[path]...)
}

func answerJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// lastToolResult returns the content of the last tool message of a request.
func lastToolResult(req map[string]any) string {
	msgs, _ := req["messages"].([]any)
	for i := len(msgs) - 1; i >= 0; i-- {
		if m, _ := msgs[i].(map[string]any); m["role"] == "tool" {
			s, _ := m["content"].(string)
			return s
		}
	}
	return ""
}

// recorder collects the bus's events of one call until call.ended.
type recorder struct {
	sub *events.Subscription
}

func record(ts *testServer) *recorder {
	return &recorder{sub: ts.srv.Bus().Subscribe(1<<14, "")}
}

// untilEnded returns the events of callID up to and including call.ended.
func (r *recorder) untilEnded(t *testing.T, callID string) []*events.Event {
	t.Helper()
	defer r.sub.Close()
	var out []*events.Event
	deadline := time.After(wait)
	for {
		select {
		case e, ok := <-r.sub.C():
			if !ok {
				t.Fatal("bus closed before call.ended")
			}
			if e.CallID != callID {
				continue
			}
			out = append(out, e)
			if e.Type == events.CallEnded {
				return out
			}
		case <-deadline:
			t.Fatalf("no call.ended for %s", callID)
		}
	}
}

func payload(e *events.Event) map[string]any {
	m, _ := e.Payload.(map[string]any)
	return m
}

// listenings counts the agent's returns to listening.
func (p *phone) listenings() int {
	n := 0
	for _, e := range p.evs {
		if e.Type == events.CallStateChanged && e.Payload["to"] == "listening" {
			n++
		}
	}
	return n
}

func (p *phone) awaitListeningN(n int) {
	p.t.Helper()
	p.until(fmt.Sprintf("listening #%d", n), func() bool { return p.listenings() >= n })
}

// serverDrivenEnv registers the Go tool the backend asks for.
func serverDrivenEnv(t *testing.T, calls *int, mu *sync.Mutex) *plugins.Environment {
	env := plugins.Default().Clone()
	tool := plugins.MustFunc("order_status", "Looks up an order.", func(ctx context.Context, args struct {
		Order string `json:"order"`
	}) (any, error) {
		mu.Lock()
		*calls++
		mu.Unlock()
		return map[string]string{"order": args.Order, "status": "shipped"}, nil
	})
	if err := env.RegisterTool(tool); err != nil {
		t.Fatal(err)
	}
	return env
}

// TestServerDrivenAgent: an agent whose brain is an HTTP backend. The call-start
// webhook gives the caller's name; turn 1 is answered with a tool call, the Go
// tool runs in Parley, its result comes back in a tool_results request and the
// spoken answer uses it; turn 2 says goodbye and hangs up, and the call ends
// with agent_hangup once the goodbye was played.
func TestServerDrivenAgent(t *testing.T) {
	b := newBrain(t, map[string]func(http.ResponseWriter, *http.Request, map[string]any){
		"/start": func(w http.ResponseWriter, _ *http.Request, _ map[string]any) {
			answerJSON(w, map[string]any{"vars": map[string]any{"customer_name": "Ann", "tier": 2}})
		},
		"/turn": func(w http.ResponseWriter, _ *http.Request, req map[string]any) {
			name := req["call"].(map[string]any)["vars"].(map[string]any)["customer_name"]
			switch {
			case req["type"] == "tool_results":
				var res struct{ Status string }
				_ = json.Unmarshal([]byte(lastToolResult(req)), &res)
				answerJSON(w, map[string]any{"say": fmt.Sprintf("It is %s, %s.", res.Status, name)})
			case req["turn"] == float64(1):
				answerJSON(w, map[string]any{"tool_calls": []any{
					map[string]any{"id": "tc_1", "name": "order_status", "arguments": map[string]any{"order": "1234"}},
				}})
			default:
				answerJSON(w, map[string]any{"say": "Bye, " + fmt.Sprint(name) + ".", "hangup": true})
			}
		},
	})
	defer b.srv.Close()
	t.Setenv("BRAIN_URL", b.srv.URL)
	t.Setenv("BRAIN_SECRET", brainSecret)
	agent := parseAgent(t, `id: test
greeting: Hi.
stt: {provider: fake}
tts: {provider: fake}
vars:
  customer_name: there
call_start:
  url: ${BRAIN_URL}/start
  secret: ${BRAIN_SECRET}
  allow_insecure_loopback: true
llm:
  provider: webhook
  system_prompt: You are the shop's agent.
  options:
    url: ${BRAIN_URL}/turn
    secret: ${BRAIN_SECRET}
    allow_insecure_loopback: true
tools:
  - name: order_status
`)
	var toolCalls int
	var toolMu sync.Mutex
	ts := newTestServer(t, server.Config{
		Agents:    []*agents.Config{agent},
		Tools:     serverDrivenEnv(t, &toolCalls, &toolMu),
		Providers: &server.Providers{FakeSTT: &fake.STT{Script: []string{"where is my order", "that is all"}}, FakeTTS: &fake.TTS{}},
	})
	rec := record(ts)
	p := mustDial(t, ts)
	p.awaitListening()
	p.speak(640)
	reply := p.event(events.AgentResponse, func(e native.ClientEvent) bool {
		s, _ := e.Payload["text"].(string)
		return strings.Contains(s, "shipped")
	})
	if s := reply.Payload["text"]; s != "It is shipped, Ann." {
		t.Errorf("reply %q; want the tool's result and the call-start name", s)
	}
	p.awaitListeningN(2)
	p.speak(640)
	evs := rec.untilEnded(t, p.cl.CallID())
	if r := ts.endReason(p.cl.CallID()); r != "agent_hangup" {
		t.Errorf("call ended with %q, want agent_hangup", r)
	}

	// The goodbye was spoken, to the end, before the call ended.
	var spokeGoodbye, endedAfter bool
	for _, e := range evs {
		switch e.Type {
		case events.AgentSpeechEnded:
			if payload(e)["turn"] == 2 {
				spokeGoodbye = true
			}
		case events.CallEnded:
			endedAfter = spokeGoodbye
			tr, _ := json.Marshal(payload(e)["transcript"])
			if !strings.Contains(string(tr), `"role":"agent","text":"Bye, Ann."`) {
				t.Errorf("transcript %s lacks the goodbye", tr)
			}
		case events.ProviderError:
			t.Errorf("provider.error %v", payload(e))
		}
	}
	if !endedAfter {
		t.Error("the call ended before the goodbye had been played")
	}
	toolMu.Lock()
	if toolCalls != 1 {
		t.Errorf("order_status ran %d times, want 1", toolCalls)
	}
	toolMu.Unlock()

	// The backend saw the call start, then turn 1, its tool results, and turn 2.
	starts := b.got("/start")
	if len(starts) != 1 {
		t.Fatalf("%d call.start requests, want 1", len(starts))
	}
	call := starts[0]["call"].(map[string]any)
	if starts[0]["type"] != "call.start" || call["id"] != p.cl.CallID() || call["agent_id"] != "test" ||
		call["transport"] != "websocket" || call["from"] != "+15550100" || call["to"] != "+15550199" {
		t.Errorf("call.start request %v", starts[0])
	}
	turns := b.got("/turn")
	if len(turns) != 3 {
		t.Fatalf("%d turn requests, want 3 (turn, tool_results, turn)", len(turns))
	}
	for i, want := range []struct {
		typ        string
		turn       float64
		transcript string
	}{{"turn", 1, "where is my order"}, {"tool_results", 1, "where is my order"}, {"turn", 2, "that is all"}} {
		r := turns[i]
		if r["type"] != want.typ || r["turn"] != want.turn || r["transcript"] != want.transcript {
			t.Errorf("request %d: type %v turn %v transcript %q; want %+v", i, r["type"], r["turn"], r["transcript"], want)
		}
		c := r["call"].(map[string]any)
		vars := c["vars"].(map[string]any)
		if c["id"] != p.cl.CallID() || c["agent_id"] != "test" || c["from"] != "+15550100" || vars["customer_name"] != "Ann" || vars["tier"] != "2" {
			t.Errorf("request %d call %v", i, c)
		}
	}
	first := turns[0]
	msgs := first["messages"].([]any)
	if m := msgs[0].(map[string]any); m["role"] != "system" || m["content"] != "You are the shop's agent." {
		t.Errorf("first message %v", m)
	}
	tools, _ := json.Marshal(first["tools"])
	if !strings.Contains(string(tools), `"name":"order_status"`) {
		t.Errorf("tools %s", tools)
	}
	if res := lastToolResult(turns[1]); res != `{"order":"1234","status":"shipped"}` {
		t.Errorf("tool result sent back %q", res)
	}
}

// flowAgent greets with {{customer_name}} from a flow, so what the call-start
// webhook returns is heard in the first words.
func flowAgent(t *testing.T, startURL, timeout string) *agents.Config {
	return parseAgent(t, `id: test
stt: {provider: fake}
tts: {provider: fake}
call_start:
  url: `+startURL+`
  secret: `+brainSecret+`
  timeout: `+timeout+`
  allow_insecure_loopback: true
llm: {provider: flow}
tools: [{name: end_call}]
flow:
  start: welcome
  vars:
    customer_name: there
  intents:
    bye: {examples: [goodbye], keywords: [bye]}
  nodes:
    welcome:
      say: Hello {{customer_name}}.
      transitions: [{intent: bye, next: end}]
    end:
      say: Bye.
      action: end_call
`)
}

// TestCallStartVars: the call-start answer's variables reach the flow; when the
// webhook fails (error status, timeout, invalid answer) the call goes on with
// the defaults and reports a provider.error with stage call_start.
func TestCallStartVars(t *testing.T) {
	for _, tc := range []struct {
		name     string
		answer   func(w http.ResponseWriter, r *http.Request, req map[string]any)
		greeting string
		err      string // in provider.error; "" for none
	}{
		{"answer", func(w http.ResponseWriter, _ *http.Request, _ map[string]any) {
			answerJSON(w, map[string]any{"vars": map[string]any{"customer_name": "Ann"}})
		}, "Hello Ann.", ""},
		{"500", func(w http.ResponseWriter, _ *http.Request, _ map[string]any) {
			http.Error(w, "crm down", http.StatusInternalServerError)
		}, "Hello there.", "HTTP 500"},
		{"timeout", func(w http.ResponseWriter, r *http.Request, _ map[string]any) {
			select {
			case <-r.Context().Done():
			case <-time.After(wait):
			}
		}, "Hello there.", "did not answer within 300ms"},
		{"bad JSON", func(w http.ResponseWriter, _ *http.Request, _ map[string]any) {
			_, _ = io.WriteString(w, `{"vars": {"customer_name": "Ann"`)
		}, "Hello there.", "invalid answer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBrain(t, map[string]func(http.ResponseWriter, *http.Request, map[string]any){"/start": tc.answer})
			defer b.srv.Close()
			ts := newTestServer(t, server.Config{Agents: []*agents.Config{flowAgent(t, b.srv.URL+"/start", "300ms")}})
			rec := record(ts)
			p := mustDial(t, ts)
			greet := p.event(events.AgentResponse, nil)
			if s := greet.Payload["text"]; s != tc.greeting {
				t.Errorf("greeting %q, want %q", s, tc.greeting)
			}
			p.awaitListening() // the call goes on
			p.hangUp()
			var errs []map[string]any
			for _, e := range rec.untilEnded(t, p.cl.CallID()) {
				if e.Type == events.ProviderError {
					errs = append(errs, payload(e))
				}
			}
			switch {
			case tc.err == "" && len(errs) > 0:
				t.Errorf("provider.error %v", errs)
			case tc.err != "" && (len(errs) != 1 || errs[0]["stage"] != "call_start" || errs[0]["provider"] != "webhook" ||
				!strings.Contains(fmt.Sprint(errs[0]["error"]), tc.err)):
				t.Errorf("provider.error events %v; want one with stage call_start mentioning %q", errs, tc.err)
			}
			for _, e := range errs {
				if s := fmt.Sprint(e["error"]); strings.Contains(s, strings.TrimPrefix(brainSecret, "whsec_")) || strings.Contains(s, "/start") {
					t.Errorf("error %q shows the secret or the URL's path", s)
				}
			}
			if n := len(b.got("/start")); n != 1 {
				t.Errorf("%d call.start requests, want 1", n)
			}
		})
	}
}

// TestServerDrivenErrors: when the backend fails a turn (error status, no
// answer in time, invalid JSON) the call reports provider.error, apologises and
// listens; the next turn is answered normally.
func TestServerDrivenErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		fail func(w http.ResponseWriter, r *http.Request)
		err  string
	}{
		{"500", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "boom", http.StatusInternalServerError) }, "HTTP 500"},
		{"timeout", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(wait):
			}
		}, "did not answer within 300ms"},
		{"bad JSON", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, `{"say": "Hi"`) }, "invalid answer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBrain(t, map[string]func(http.ResponseWriter, *http.Request, map[string]any){
				"/turn": func(w http.ResponseWriter, r *http.Request, req map[string]any) {
					if req["turn"] == float64(1) {
						tc.fail(w, r)
						return
					}
					answerJSON(w, map[string]any{"say": "Back again."})
				},
			})
			defer b.srv.Close()
			agent := parseAgent(t, `id: test
greeting: Hi.
stt: {provider: fake}
tts: {provider: fake}
llm:
  provider: webhook
  options:
    url: `+b.srv.URL+`/turn
    secret: `+brainSecret+`
    timeout: 300ms
    allow_insecure_loopback: true
`)
			ts := newTestServer(t, server.Config{Agents: []*agents.Config{agent}})
			p := mustDial(t, ts)
			p.awaitListening()
			p.speak(640)
			pe := p.event(events.ProviderError, nil)
			if pe.Payload["stage"] != "llm" || pe.Payload["provider"] != "webhook" || !strings.Contains(fmt.Sprint(pe.Payload["error"]), tc.err) {
				t.Errorf("provider.error %v; want stage llm, provider webhook, mentioning %q", pe.Payload, tc.err)
			}
			if s := fmt.Sprint(pe.Payload["error"]); strings.Contains(s, strings.TrimPrefix(brainSecret, "whsec_")) {
				t.Errorf("error %q shows the secret", s)
			}
			p.event(events.AgentResponse, func(e native.ClientEvent) bool {
				return strings.HasPrefix(fmt.Sprint(e.Payload["text"]), "Sorry")
			})
			p.awaitListeningN(2)
			p.speak(640)
			p.event(events.AgentResponse, func(e native.ClientEvent) bool { return e.Payload["text"] == "Back again." })
			p.hangUp()
			ts.endReason(p.cl.CallID())
		})
	}
}

// TestServerDrivenConfigErrors: a webhook agent with bad options is refused at
// provisioning, and a bad call_start when the config is loaded, without the
// secret in the message.
func TestServerDrivenConfigErrors(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"no url", "llm: {provider: webhook, options: {secret: " + brainSecret + "}}", "llm.options.url: is required"},
		{"no secret", "llm: {provider: webhook, options: {url: https://brain.example/turn}}", "llm.options.secret: is required"},
		{"unknown option", "llm: {provider: webhook, options: {url: https://brain.example/turn, secret: " + brainSecret + ", model: x}}", "options.model: unknown option"},
		{"plain http", "llm: {provider: webhook, options: {url: http://brain.example/turn, secret: " + brainSecret + "}}", "must use https"},
		{"bad timeout", "llm: {provider: webhook, options: {url: https://brain.example/turn, secret: " + brainSecret + ", timeout: 1h}}", "options.timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// url and secret are checked when the config loads, the other
			// options when the agent is provisioned.
			cfg, err := agents.Parse("test.yaml", []byte("id: test\nstt: {provider: fake}\ntts: {provider: fake}\n"+tc.yaml+"\n"), func(string) (string, bool) { return "", false })
			if err == nil {
				_, err = server.Provision(cfg, plugins.Default(), &server.Providers{})
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v; want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), strings.TrimPrefix(brainSecret, "whsec_")) || strings.Contains(err.Error(), "/turn") {
				t.Errorf("err %q shows the secret or the URL's path", err)
			}
		})
	}
	for _, tc := range []struct{ name, yaml, want string }{
		{"no secret", "call_start: {url: https://crm.example/start}", "call_start.secret: is required"},
		{"bad secret", "call_start: {url: https://crm.example/start, secret: hunter2}", "call_start.secret"},
		{"plain http", "call_start: {url: http://crm.example/start, secret: " + brainSecret + "}", "call_start.url: must use https"},
		{"http to a public host", "call_start: {url: http://crm.example/start, secret: " + brainSecret + ", allow_insecure_loopback: true}", "only allowed to a loopback host"},
		{"timeout", "call_start: {url: https://crm.example/start, secret: " + brainSecret + ", timeout: 1m}", "call_start.timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := agents.Parse("test.yaml", []byte("id: test\n"+tc.yaml+"\ntools: [{name: end_call}]\nflow: {start: a, nodes: {a: {say: Hi., action: end_call}}}\n"), func(string) (string, bool) { return "", false })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v; want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "/start") {
				t.Errorf("err %q shows the secret or the URL's path", err)
			}
			if n := strings.Count(err.Error(), "\n") + 1; n != 1 {
				t.Errorf("%d problems, want only the call_start one: %v", n, err)
			}
		})
	}
}
