package providertest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parley-voice/parley/pipeline"
	"github.com/parley-voice/parley/pipeline/openai"
	"github.com/parley-voice/parley/pipeline/openaiaudio"
	"github.com/parley-voice/parley/pipeline/providertest"
)

const oaKey = "sk-test-providertest"

func newChat(t *testing.T, cfg providertest.OpenAIChatConfig) *providertest.OpenAIChat {
	t.Helper()
	cfg.APIKey = oaKey
	f, err := providertest.NewOpenAIChat(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// generate runs one Generate with the real client and collects what it emits.
func generate(t *testing.T, llm *openai.LLM, req *pipeline.LLMRequest) (string, []pipeline.ToolCall, *pipeline.Usage, error) {
	t.Helper()
	var text strings.Builder
	var calls []pipeline.ToolCall
	var usage *pipeline.Usage
	err := llm.Generate(context.Background(), req, func(c pipeline.LLMChunk) {
		text.WriteString(c.Text)
		calls = append(calls, c.ToolCalls...)
		if c.Usage != nil {
			usage = c.Usage
		}
	})
	return text.String(), calls, usage, err
}

// The real client streams a scripted text reply token by token, then a tool
// call assembled from fragments, with the usage the fake reported.
func TestOpenAIChatWithClient(t *testing.T) {
	var chunks []providertest.ChatChunk
	f := newChat(t, providertest.OpenAIChatConfig{
		Replies: []providertest.ChatReply{
			{Text: "Hello, Dr. Smith. It is 3.5 degrees!"},
			{ToolCalls: []providertest.ChatToolCall{{ID: "call_7", Name: "get_weather", Arguments: `{"city":"Lisbon"}`}}, PromptTokens: 99},
		},
		TokenDelay: time.Millisecond,
		OnChunk:    func(c providertest.ChatChunk) { chunks = append(chunks, c) },
	})
	llm, err := openai.New(openai.Config{BaseURL: f.URL(), APIKey: oaKey, Model: "gpt-4o-mini"})
	if err != nil {
		t.Fatal(err)
	}
	tools := []pipeline.ToolSpec{{Name: "get_weather", Description: "Weather.", Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}}}`)}}
	req := &pipeline.LLMRequest{Messages: []pipeline.Message{{Role: pipeline.RoleSystem, Content: "Be brief."}, {Role: pipeline.RoleUser, Content: "Hi"}}, Tools: tools}
	text, calls, usage, err := generate(t, llm, req)
	if err != nil || text != "Hello, Dr. Smith. It is 3.5 degrees!" || len(calls) != 0 || usage == nil {
		t.Fatalf("reply %q, calls %v, usage %v, err %v", text, calls, usage, err)
	}
	if len(chunks) != len(providertest.Tokens(text)) || chunks[1].Text != "," || chunks[0].Request != 1 {
		t.Errorf("chunks %+v", chunks)
	}
	text, calls, usage, err = generate(t, llm, req)
	if err != nil || text != "" || len(calls) != 1 || calls[0].ID != "call_7" || calls[0].Name != "get_weather" ||
		string(calls[0].Arguments) != `{"city":"Lisbon"}` || usage == nil || usage.PromptTokens != 99 {
		t.Fatalf("tool reply %q, calls %+v, usage %+v, err %v", text, calls, usage, err)
	}
	reqs := f.Requests()
	if len(reqs) != 2 || reqs[0].Model != "gpt-4o-mini" || !reqs[0].Stream || !reqs[0].IncludeUsage ||
		len(reqs[0].Tools) != 1 || reqs[0].Messages[1].Content != "Hi" {
		t.Fatalf("requests %+v", reqs)
	}
	if u := reqs[0].Reply; usage.CompletionTokens != reqs[1].Reply.CompletionTokens || u.PromptTokens == 0 || u.CompletionTokens != len(chunks) {
		t.Errorf("usage reported %+v, first reply %+v", usage, u)
	}
}

// What the real API refuses, the fake refuses, and the real client reports it.
func TestOpenAIChatRejects(t *testing.T) {
	f := newChat(t, providertest.OpenAIChatConfig{Replies: []providertest.ChatReply{{Text: "ok"}}})
	llm, _ := openai.New(openai.Config{BaseURL: f.URL(), APIKey: "sk-wrong", Model: "m"})
	_, _, _, err := generate(t, llm, &pipeline.LLMRequest{Messages: []pipeline.Message{{Role: pipeline.RoleUser, Content: "Hi"}}})
	var pe *pipeline.ProviderError
	if !errors.As(err, &pe) || strings.Contains(err.Error(), "sk-wrong") {
		t.Fatalf("wrong key: %v", err)
	}
	// A tool result without the assistant message that asked for it.
	llm, _ = openai.New(openai.Config{BaseURL: f.URL(), APIKey: oaKey, Model: "m"})
	_, _, _, err = generate(t, llm, &pipeline.LLMRequest{Messages: []pipeline.Message{
		{Role: pipeline.RoleUser, Content: "Hi"}, {Role: pipeline.RoleTool, ToolCallID: "call_1", Content: "{}"}}})
	if err == nil || !strings.Contains(err.Error(), "preceeding message with 'tool_calls'") {
		t.Fatalf("orphan tool message: %v", err)
	}
	post := func(path, auth, body string) int {
		req, _ := http.NewRequest(http.MethodPost, strings.TrimSuffix(f.URL(), "/v1")+path, strings.NewReader(body))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, c := range []struct {
		name, path, auth, body string
		status                 int
	}{
		{"no key", "/v1/chat/completions", "", `{"model":"m","messages":[{"role":"user","content":"Hi"}]}`, 401},
		{"wrong path", "/chat/completions", "Bearer " + oaKey, `{"model":"m","messages":[{"role":"user","content":"Hi"}]}`, 404},
		{"no model", "/v1/chat/completions", "Bearer " + oaKey, `{"messages":[{"role":"user","content":"Hi"}]}`, 400},
		{"no messages", "/v1/chat/completions", "Bearer " + oaKey, `{"model":"m","messages":[]}`, 400},
		{"bad role", "/v1/chat/completions", "Bearer " + oaKey, `{"model":"m","messages":[{"role":"robot","content":"Hi"}]}`, 400},
		{"stream options without stream", "/v1/chat/completions", "Bearer " + oaKey, `{"model":"m","messages":[{"role":"user","content":"Hi"}],"stream_options":{"include_usage":true}}`, 400},
		{"unanswered tool call", "/v1/chat/completions", "Bearer " + oaKey, `{"model":"m","messages":[{"role":"user","content":"Hi"},{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"user","content":"?"}]}`, 400},
		{"tool result without content", "/v1/chat/completions", "Bearer " + oaKey, `{"model":"m","messages":[{"role":"user","content":"Hi"},{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c1"}]}`, 400},
		{"bad tool name", "/v1/chat/completions", "Bearer " + oaKey, `{"model":"m","messages":[{"role":"user","content":"Hi"}],"tools":[{"type":"function","function":{"name":"a b"}}]}`, 400},
	} {
		if got := post(c.path, c.auth, c.body); got != c.status {
			t.Errorf("%s: HTTP %d, want %d", c.name, got, c.status)
		}
	}
	if n := len(f.Requests()); n != 0 {
		t.Errorf("%d refused requests recorded as accepted", n)
	}
}

// A non-streaming request gets one chat.completion; a request beyond the
// script is a 500 that names the problem.
func TestOpenAIChatWholeAndExhausted(t *testing.T) {
	f := newChat(t, providertest.OpenAIChatConfig{Replies: []providertest.ChatReply{{Text: "Fine."}}})
	body := `{"model":"m","messages":[{"role":"user","content":"Hi"}]}`
	do := func() (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, f.URL()+"/chat/completions", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+oaKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	st, m := do()
	msg := m["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)
	if st != 200 || m["object"] != "chat.completion" || msg["content"] != "Fine." {
		t.Fatalf("HTTP %d %v", st, m)
	}
	if st, m = do(); st != 500 || !strings.Contains(m["error"].(map[string]any)["message"].(string), "no scripted reply") {
		t.Fatalf("HTTP %d %v", st, m)
	}
}

func TestTokens(t *testing.T) {
	for _, s := range []string{"", "Hi.", "Your order A17 has shipped, and arrives Tuesday.  Okay?", "don't  stop — ever…"} {
		toks := providertest.Tokens(s)
		if strings.Join(toks, "") != s {
			t.Errorf("%q → %q", s, toks)
		}
	}
	if got := providertest.Tokens("It is 3.5 now."); strings.Join(got, "|") != "It| is| 3|.|5| now|." {
		t.Errorf("tokens %q", got)
	}
}

// The real speech client gets 24 kHz PCM of a length proportional to the
// text, resampled to the rate it asked for.
func TestOpenAISpeechWithClient(t *testing.T) {
	f, err := providertest.NewOpenAISpeech(providertest.OpenAISpeechConfig{APIKey: oaKey, MsPerChar: 50})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := openaiaudio.New(openaiaudio.Config{APIKey: oaKey, BaseURL: f.URL()})
	if err != nil {
		t.Fatal(err)
	}
	text := "Your order has shipped." // 23 characters: 1.15 s at 50 ms each
	var n int
	if err := c.Synthesize(context.Background(), pipeline.TTSRequest{Text: text, SampleRate: 16000}, func(p []int16) error { n += len(p); return nil }); err != nil {
		t.Fatal(err)
	}
	if want := 16000 * 1150 / 1000; n < want-320 || n > want+320 {
		t.Errorf("%d samples, want about %d", n, want)
	}
	reqs := f.Requests()
	if len(reqs) != 1 || reqs[0].Input != text || reqs[0].ResponseFormat != "pcm" || reqs[0].Voice != "alloy" || reqs[0].Model != "tts-1" {
		t.Fatalf("requests %+v", reqs)
	}
	bad, _ := openaiaudio.New(openaiaudio.Config{APIKey: "sk-nope", BaseURL: f.URL()})
	err = bad.Synthesize(context.Background(), pipeline.TTSRequest{Text: text, SampleRate: 16000}, func([]int16) error { return nil })
	if err == nil || strings.Contains(err.Error(), "sk-nope") {
		t.Fatalf("wrong key: %v", err)
	}
	post := func(body string) int {
		req, _ := http.NewRequest(http.MethodPost, f.URL()+"/audio/speech", bytes.NewBufferString(body))
		req.Header.Set("Authorization", "Bearer "+oaKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, body := range []string{
		`{"input":"hi","voice":"alloy","response_format":"pcm"}`,
		`{"model":"tts-1","voice":"alloy","response_format":"pcm"}`,
		`{"model":"tts-1","input":"hi","voice":"robot","response_format":"pcm"}`,
		`{"model":"tts-1","input":"hi","voice":"alloy","response_format":"pcm","speed":9}`,
		`{"model":"tts-1","input":"hi","voice":"alloy","response_format":"au"}`,
	} {
		if st := post(body); st != http.StatusBadRequest {
			t.Errorf("%s: HTTP %d, want 400", body, st)
		}
	}
	if len(f.Requests()) != 1 {
		t.Error("refused requests recorded")
	}
}
