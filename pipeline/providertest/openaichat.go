package providertest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// ChatReply is one scripted answer of the chat completions fake.
type ChatReply struct {
	// Text is the reply, streamed one token (a word with its leading space, or
	// a punctuation mark) per chunk.
	Text string
	// ToolCalls are asked for after the text; each call's arguments are split
	// across several chunks, as OpenAI streams them.
	ToolCalls []ChatToolCall
	// PromptTokens and CompletionTokens override the usage reported; zero
	// values are estimated (about four characters a token).
	PromptTokens, CompletionTokens int
	// Status, when set, answers with this HTTP status and OpenAI's error body
	// carrying ErrorMessage instead of a completion (429, 500, 503…).
	Status       int
	ErrorMessage string
}

// ChatToolCall is a tool call in a scripted reply or in a request's history.
type ChatToolCall struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// ChatMessage is one message of a request's conversation.
type ChatMessage struct {
	Role       string
	Content    string
	ToolCallID string
	ToolCalls  []ChatToolCall
}

// ChatRequest is what the fake received in one accepted request and what it answered.
type ChatRequest struct {
	// N numbers the accepted requests from 1.
	N      int
	Header http.Header
	// Body is the decoded JSON body.
	Body         map[string]any
	Model        string
	Messages     []ChatMessage
	Tools        []string // names of the tools offered
	Stream       bool
	IncludeUsage bool
	// Reply is what was answered, with the usage that was reported.
	Reply ChatReply
}

// ChatChunk is one text chunk of a streamed reply, reported to
// OpenAIChatConfig.OnChunk just before it is written.
type ChatChunk struct {
	Request int       // ChatRequest.N
	Index   int       // position among the reply's text tokens, from 0
	Text    string    // the token
	At      time.Time // when it was about to be written
}

// OpenAIChatConfig configures a fake chat completions API. APIKey is required.
type OpenAIChatConfig struct {
	// APIKey is what clients must send as "Authorization: Bearer <key>".
	APIKey string
	// Replies answer the requests in order; a request beyond them gets a 500.
	Replies []ChatReply
	// Reply, when set, answers every request instead of Replies. It is called
	// from the requests' goroutines, possibly at once: it must be safe for
	// concurrent use.
	Reply func(req ChatRequest) ChatReply
	// FirstTokenDelay is waited after the response headers, before the first
	// chunk; TokenDelay between chunks. Both default to none.
	FirstTokenDelay, TokenDelay time.Duration
	// OnChunk, when set, is called from the request's goroutine just before
	// each text chunk is written (for latency measurements). It must not block
	// and must be safe for concurrent use.
	OnChunk func(ChatChunk)
}

// OpenAIChat is a fake of OpenAI's chat completions API (POST
// /v1/chat/completions), streamed as server-sent events or answered whole.
type OpenAIChat struct {
	cfg OpenAIChatConfig
	srv *server

	mu       sync.Mutex
	n        int
	requests []ChatRequest
}

// NewOpenAIChat starts a fake chat completions API on a loopback port.
func NewOpenAIChat(cfg OpenAIChatConfig) (*OpenAIChat, error) {
	if cfg.APIKey == "" {
		return nil, errors.New("providertest: OpenAIChatConfig.APIKey is empty; a fake that accepts any key proves nothing")
	}
	f := &OpenAIChat{cfg: cfg}
	srv, err := startServer("openai chat", http.HandlerFunc(f.serve))
	if err != nil {
		return nil, err
	}
	f.srv = srv
	return f, nil
}

// URL is the API root, http://127.0.0.1:port/v1, for the client's base URL.
func (f *OpenAIChat) URL() string { return "http://" + f.srv.addr() + "/v1" }

// Close stops the server, ending streams in progress.
func (f *OpenAIChat) Close() error { return f.srv.Close() }

// Requests returns the accepted requests so far.
func (f *OpenAIChat) Requests() []ChatRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

// openAIError writes OpenAI's error body.
func openAIError(w http.ResponseWriter, status int, typ, msg string, param, code any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": param, "code": code}})
}

// checkBearer answers 401 as OpenAI does unless r carries the key; it never
// echoes the key it was given.
func checkBearer(w http.ResponseWriter, r *http.Request, key string) bool {
	h := r.Header.Get("Authorization")
	switch {
	case h == "":
		openAIError(w, http.StatusUnauthorized, "invalid_request_error",
			"You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).", nil, nil)
		return false
	case h != "Bearer "+key:
		openAIError(w, http.StatusUnauthorized, "invalid_request_error", "Incorrect API key provided.", nil, "invalid_api_key")
		return false
	}
	return true
}

// invalidURL answers a path or method the API does not have.
func invalidURL(w http.ResponseWriter, r *http.Request) {
	openAIError(w, http.StatusNotFound, "invalid_request_error", fmt.Sprintf("Invalid URL (%s %s)", r.Method, r.URL.Path), nil, nil)
}

func (f *OpenAIChat) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/chat/completions" || r.Method != http.MethodPost {
		invalidURL(w, r)
		return
	}
	if !checkBearer(w, r, f.cfg.APIKey) {
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		openAIError(w, http.StatusBadRequest, "invalid_request_error", "could not read the request body", nil, nil)
		return
	}
	req, param, msg := parseChatRequest(raw)
	if msg != "" {
		openAIError(w, http.StatusBadRequest, "invalid_request_error", msg, param, nil)
		return
	}
	req.Header = r.Header.Clone()
	f.mu.Lock()
	f.n++
	req.N = f.n
	f.mu.Unlock()

	var reply ChatReply
	switch {
	case f.cfg.Reply != nil:
		reply = f.cfg.Reply(req)
	case req.N <= len(f.cfg.Replies):
		reply = f.cfg.Replies[req.N-1]
	default:
		reply = ChatReply{Status: http.StatusInternalServerError,
			ErrorMessage: fmt.Sprintf("providertest: no scripted reply for request %d (the script has %d)", req.N, len(f.cfg.Replies))}
	}
	for _, tc := range reply.ToolCalls {
		if !slices.Contains(req.Tools, tc.Name) {
			reply = ChatReply{Status: http.StatusInternalServerError,
				ErrorMessage: fmt.Sprintf("providertest: the script calls tool %q, which request %d did not offer (offered: %s)", tc.Name, req.N, strings.Join(req.Tools, ", "))}
			break
		}
	}
	toks := Tokens(reply.Text)
	if reply.Status == 0 {
		if reply.PromptTokens == 0 {
			reply.PromptTokens = estimatePrompt(req.Messages)
		}
		if reply.CompletionTokens == 0 {
			reply.CompletionTokens = len(toks)
			for _, tc := range reply.ToolCalls {
				reply.CompletionTokens += 5 + len(tc.Arguments)/4
			}
		}
	}
	req.Reply = reply
	f.mu.Lock()
	f.requests = append(f.requests, req)
	f.mu.Unlock()

	if reply.Status != 0 {
		typ := "server_error"
		if reply.Status == http.StatusTooManyRequests {
			typ = "requests"
		}
		openAIError(w, reply.Status, typ, reply.ErrorMessage, nil, nil)
		return
	}
	if !req.Stream {
		f.whole(w, req, reply)
		return
	}
	f.stream(w, r, req, reply, toks)
}

var toolNameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// parseChatRequest validates a body as the API does: it returns the offending
// parameter and a message on failure.
func parseChatRequest(raw []byte) (ChatRequest, string, string) {
	var req ChatRequest
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		return req, "", "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly.)"
	}
	req.Body = body
	model, _ := body["model"].(string)
	if model == "" {
		return req, "model", "you must provide a model parameter"
	}
	req.Model = model
	req.Stream, _ = body["stream"].(bool)
	if so, ok := body["stream_options"]; ok && so != nil {
		if !req.Stream {
			return req, "stream_options", "The 'stream_options' parameter is only allowed when 'stream' is enabled."
		}
		m, _ := so.(map[string]any)
		req.IncludeUsage, _ = m["include_usage"].(bool)
	}
	if tools, ok := body["tools"]; ok && tools != nil {
		list, ok := tools.([]any)
		if !ok {
			return req, "tools", "Invalid type for 'tools': expected an array."
		}
		for i, t := range list {
			tm, _ := t.(map[string]any)
			fn, _ := tm["function"].(map[string]any)
			name, _ := fn["name"].(string)
			if tm["type"] != "function" || !toolNameRE.MatchString(name) {
				return req, fmt.Sprintf("tools[%d]", i), fmt.Sprintf("Invalid 'tools[%d]': a function tool needs type \"function\" and a name matching ^[a-zA-Z0-9_-]{1,64}$.", i)
			}
			if p, ok := fn["parameters"]; ok && p != nil {
				if _, ok := p.(map[string]any); !ok {
					return req, fmt.Sprintf("tools[%d].function.parameters", i), "Invalid schema: parameters must be a JSON Schema object."
				}
			}
			req.Tools = append(req.Tools, name)
		}
	}
	list, ok := body["messages"].([]any)
	if !ok || len(list) == 0 {
		return req, "messages", "Invalid 'messages': messages must be a non-empty array."
	}
	open := map[string]bool{} // tool calls awaiting their tool messages
	for i, m := range list {
		mm, ok := m.(map[string]any)
		if !ok {
			return req, fmt.Sprintf("messages[%d]", i), fmt.Sprintf("Invalid type for 'messages[%d]': expected an object.", i)
		}
		msg := ChatMessage{Role: fmt.Sprint(mm["role"])}
		content, hasContent := mm["content"]
		switch c := content.(type) {
		case string:
			msg.Content = c
		case nil:
			hasContent = false
		case []any:
			for _, part := range c {
				pm, _ := part.(map[string]any)
				if s, ok := pm["text"].(string); ok {
					msg.Content += s
				}
			}
		default:
			return req, fmt.Sprintf("messages[%d].content", i), "Invalid type for content: expected a string or an array of parts."
		}
		if msg.Role != "tool" && len(open) > 0 {
			return req, "messages", "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'."
		}
		switch msg.Role {
		case "system", "developer", "user":
			if !hasContent {
				return req, fmt.Sprintf("messages[%d].content", i), fmt.Sprintf("Missing required parameter: 'messages[%d].content'.", i)
			}
		case "assistant":
			calls, _ := mm["tool_calls"].([]any)
			for j, tc := range calls {
				tm, _ := tc.(map[string]any)
				fn, _ := tm["function"].(map[string]any)
				id, _ := tm["id"].(string)
				name, _ := fn["name"].(string)
				args, _ := fn["arguments"].(string)
				if id == "" || name == "" || tm["type"] != "function" {
					return req, fmt.Sprintf("messages[%d].tool_calls[%d]", i, j), "Invalid tool call: id, type \"function\" and function.name are required."
				}
				open[id] = true
				msg.ToolCalls = append(msg.ToolCalls, ChatToolCall{ID: id, Name: name, Arguments: args})
			}
			if !hasContent && len(calls) == 0 {
				return req, fmt.Sprintf("messages[%d].content", i), "Invalid assistant message: content is required unless tool_calls is specified."
			}
		case "tool":
			msg.ToolCallID, _ = mm["tool_call_id"].(string)
			if msg.ToolCallID == "" {
				return req, fmt.Sprintf("messages[%d].tool_call_id", i), fmt.Sprintf("Missing required parameter: 'messages[%d].tool_call_id'.", i)
			}
			if !hasContent {
				return req, fmt.Sprintf("messages[%d].content", i), fmt.Sprintf("Missing required parameter: 'messages[%d].content'.", i)
			}
			if !open[msg.ToolCallID] {
				return req, "messages", fmt.Sprintf("Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls' (messages[%d]).", i)
			}
			delete(open, msg.ToolCallID)
		default:
			return req, fmt.Sprintf("messages[%d].role", i), fmt.Sprintf("Invalid value: '%s'. Supported values are: 'system', 'assistant', 'user', 'tool', 'function', and 'developer'.", msg.Role)
		}
		req.Messages = append(req.Messages, msg)
	}
	if len(open) > 0 {
		return req, "messages", "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'."
	}
	return req, "", ""
}

// estimatePrompt is a deterministic stand-in for the prompt's token count.
func estimatePrompt(msgs []ChatMessage) int {
	n := 3
	for _, m := range msgs {
		n += 4 + (len(m.Content)+3)/4
		for _, tc := range m.ToolCalls {
			n += 5 + len(tc.Arguments)/4
		}
	}
	return n
}

// Tokens splits text the way the chat fake streams it: each token is a run of
// letters and digits, or one other character, with the spaces before it.
// Joined, the tokens give back text.
func Tokens(text string) []string {
	var out []string
	for len(text) > 0 {
		j := 0
		for j < len(text) && text[j] == ' ' {
			j++
		}
		if j < len(text) {
			r, size := utf8.DecodeRuneInString(text[j:])
			if isWordRune(r) {
				for j < len(text) {
					r, size := utf8.DecodeRuneInString(text[j:])
					if !isWordRune(r) {
						break
					}
					j += size
				}
			} else {
				j += size
			}
		}
		out = append(out, text[:j])
		text = text[j:]
	}
	return out
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '\'' }

const chatID = "chatcmpl-providertest"

func chunkObject(choices []any) map[string]any {
	return map[string]any{"id": chatID, "object": "chat.completion.chunk", "created": time.Now().Unix(),
		"model": "providertest", "system_fingerprint": "fp_providertest", "choices": choices}
}

func deltaChoice(delta map[string]any, finish any) []any {
	return []any{map[string]any{"index": 0, "delta": delta, "logprobs": nil, "finish_reason": finish}}
}

// stream answers with server-sent events: the role, the text tokens, the tool
// call fragments, the finish reason, the usage when asked for, then [DONE].
func (f *OpenAIChat) stream(w http.ResponseWriter, r *http.Request, req ChatRequest, reply ChatReply, toks []string) {
	fl, ok := w.(http.Flusher)
	if !ok {
		openAIError(w, http.StatusInternalServerError, "server_error", "providertest: streaming unsupported", nil, nil)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Request-Id", fmt.Sprintf("req_providertest_%d", req.N))
	w.WriteHeader(http.StatusOK)
	fl.Flush()
	wait := func(d time.Duration) bool {
		if d <= 0 {
			return r.Context().Err() == nil
		}
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return true
		case <-r.Context().Done():
			return false
		}
	}
	send := func(v any) bool {
		b, err := json.Marshal(v)
		if err != nil {
			return false
		}
		if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
			return false
		}
		fl.Flush()
		return true
	}
	chunk := func(choices []any) map[string]any {
		c := chunkObject(choices)
		if req.IncludeUsage {
			c["usage"] = nil
		}
		return c
	}
	if !wait(f.cfg.FirstTokenDelay) || !send(chunk(deltaChoice(map[string]any{"role": "assistant", "content": "", "refusal": nil}, nil))) {
		return
	}
	for i, tok := range toks {
		if i > 0 && !wait(f.cfg.TokenDelay) {
			return
		}
		if f.cfg.OnChunk != nil {
			f.cfg.OnChunk(ChatChunk{Request: req.N, Index: i, Text: tok, At: time.Now()})
		}
		if !send(chunk(deltaChoice(map[string]any{"content": tok}, nil))) {
			return
		}
	}
	for i, tc := range reply.ToolCalls {
		frags := splitArgs(tc.Arguments)
		for j, a := range frags {
			if (len(toks) > 0 || i > 0 || j > 0) && !wait(f.cfg.TokenDelay) {
				return
			}
			call := map[string]any{"index": i, "function": map[string]any{"arguments": a}}
			if j == 0 {
				call["id"], call["type"] = tc.ID, "function"
				call["function"].(map[string]any)["name"] = tc.Name
			}
			if !send(chunk(deltaChoice(map[string]any{"tool_calls": []any{call}}, nil))) {
				return
			}
		}
	}
	finish := "stop"
	if len(reply.ToolCalls) > 0 {
		finish = "tool_calls"
	}
	if !send(chunk(deltaChoice(map[string]any{}, finish))) {
		return
	}
	if req.IncludeUsage {
		u := chunkObject([]any{})
		u["usage"] = usageObject(reply)
		if !send(u) {
			return
		}
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
	fl.Flush()
}

// splitArgs cuts tool call arguments into the first, empty fragment that
// carries the name and about three more, as OpenAI streams them.
func splitArgs(args string) []string {
	out := []string{""}
	step := max(len(args)/3, 1)
	for len(args) > 0 {
		n := min(step, len(args))
		out = append(out, args[:n])
		args = args[n:]
	}
	return out
}

func usageObject(reply ChatReply) map[string]any {
	return map[string]any{"prompt_tokens": reply.PromptTokens, "completion_tokens": reply.CompletionTokens,
		"total_tokens": reply.PromptTokens + reply.CompletionTokens}
}

// whole answers a request without stream: true with one chat.completion.
func (f *OpenAIChat) whole(w http.ResponseWriter, req ChatRequest, reply ChatReply) {
	msg := map[string]any{"role": "assistant", "content": reply.Text, "refusal": nil}
	finish := "stop"
	if len(reply.ToolCalls) > 0 {
		finish = "tool_calls"
		var calls []any
		for _, tc := range reply.ToolCalls {
			calls = append(calls, map[string]any{"id": tc.ID, "type": "function",
				"function": map[string]any{"name": tc.Name, "arguments": tc.Arguments}})
		}
		msg["tool_calls"] = calls
		if reply.Text == "" {
			msg["content"] = nil
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"id": chatID, "object": "chat.completion", "created": time.Now().Unix(), "model": "providertest",
		"choices": []any{map[string]any{"index": 0, "message": msg, "logprobs": nil, "finish_reason": finish}},
		"usage":   usageObject(reply),
	})
}
