package server_test

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/media/native"
	"github.com/parley-voice/parley/pipeline/fallback"
	"github.com/parley-voice/parley/plugins"
	"github.com/parley-voice/parley/runtime/events"
	"github.com/parley-voice/parley/runtime/server"
)

// failingOpenAI is a chat completions endpoint in trouble: it answers every
// request with status (OpenAI's error body), or, when status is 0, sends the
// SSE headers and then nothing until the client gives up.
type failingOpenAI struct {
	status   int
	requests atomic.Int32
}

func (f *failingOpenAI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	_, _ = io.Copy(io.Discard, r.Body)
	if f.status != 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.status)
		_, _ = io.WriteString(w, `{"error":{"message":"The server had an error while processing your request.","type":"server_error","code":null}}`)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	w.(http.Flusher).Flush()
	<-r.Context().Done()
}

// spareOpenAI streams a fixed answer in OpenAI's SSE format.
type spareOpenAI struct{ requests atomic.Int32 }

func (s *spareOpenAI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	var req map[string]any
	if r.URL.Path != "/v1/chat/completions" || json.NewDecoder(r.Body).Decode(&req) != nil || req["model"] != "backup-model" {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"error":{"message":"bad request","type":"invalid_request_error"}}`)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	const head = `{"id":"chatcmpl-2","object":"chat.completion.chunk","created":1,"model":"backup-model","choices":[`
	for _, chunk := range []string{
		head + `{"index":0,"delta":{"role":"assistant","content":"The spare "},"finish_reason":null}]}`,
		head + `{"index":0,"delta":{"content":"model answers."},"finish_reason":null}]}`,
		head + `{"index":0,"delta":{},"finish_reason":"stop"}]}`,
		"[DONE]",
	} {
		fmt.Fprintf(w, "data: %s\n\n", chunk)
		w.(http.Flusher).Flush()
	}
}

func fallbackLLMAgent(primary, spare, extra string) string {
	return `id: test
greeting: Hi.
stt: {provider: fake}
tts: {provider: fake}
llm:
  provider: openai
  model: gpt-4o-mini
  base_url: ` + primary + `/v1
  api_key: sk-primary-secret
  system_prompt: You are terse.
  fallbacks:
    - provider: openai
      model: backup-model
      base_url: ` + spare + `/v1
      api_key: sk-spare-secret
` + extra
}

// An agent whose model fails moves to its fallback model within the turn,
// tells so with provider.fallback, and speaks the fallback's reply.
func TestLLMFallbackWithinTheTurn(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		extra  string
		want   string // in the fallback's error
	}{
		{"server error", http.StatusInternalServerError, "", "HTTP 500"},
		// A slow first byte: the primary never sends a token; llm.fallback_after
		// (longer than the llm_first_token budget, whose filler is said
		// meanwhile) moves on.
		{"slow first token", 0, `  fallback_after: 800ms
budgets:
  stages: {llm_first_token: 100ms}
  on_exceeded: {action: filler, filler_phrases: ["One moment."]}
`, "no first byte"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			primary := &failingOpenAI{status: tc.status}
			papi := httptest.NewServer(primary)
			defer papi.Close()
			spare := &spareOpenAI{}
			sapi := httptest.NewServer(spare)
			defer sapi.Close()
			agent := parseAgent(t, fallbackLLMAgent(papi.URL, sapi.URL, tc.extra))
			ts := newTestServer(t, server.Config{Agents: []*agents.Config{agent}})
			p := mustDial(t, ts)
			p.awaitListening()
			p.speak(640)
			fb := p.event(events.ProviderFallback, nil)
			pl := fb.Payload
			if pl["stage"] != "llm" || pl["from"] != "openai:gpt-4o-mini" || pl["to"] != "openai:backup-model" || pl["turn"] != 1.0 {
				t.Errorf("provider.fallback %v", pl)
			}
			msg, _ := pl["error"].(string)
			if !strings.Contains(msg, tc.want) || strings.Contains(msg, "secret") {
				t.Errorf("provider.fallback error %q: want it to mention %q and no API key", msg, tc.want)
			}
			reply := p.event(events.AgentResponse, func(e native.ClientEvent) bool { return e.Payload["turn"] == 1.0 })
			if reply.Payload["text"] != "The spare model answers." {
				t.Errorf("reply %v", reply.Payload)
			}
			p.mu.Lock()
			var order []string
			for _, e := range p.evs {
				switch e.Type {
				case events.ProviderFallback, events.AgentResponse, events.ProviderError, events.TurnBudgetExceeded, events.AgentSpeechStarted:
					if e.Payload["turn"] == 1.0 {
						order = append(order, e.Type)
					}
				}
			}
			p.mu.Unlock()
			if tc.status == 0 {
				// The filler is heard while the primary is waited for.
				want := []string{events.TurnBudgetExceeded, events.AgentSpeechStarted, events.ProviderFallback, events.AgentResponse}
				if fmt.Sprint(order[:min(len(order), 4)]) != fmt.Sprint(want) {
					t.Errorf("events of the turn %v, want %v", order, want)
				}
			} else if fmt.Sprint(order[:2]) != fmt.Sprint([]string{events.ProviderFallback, events.AgentResponse}) {
				t.Errorf("events of the turn %v, want provider.fallback then agent.response and no provider.error", order)
			}
			p.hangUp()
			ts.endReason(p.cl.CallID())
			if primary.requests.Load() != 1 || spare.requests.Load() != 1 {
				t.Errorf("requests: primary %d, spare %d; want one each", primary.requests.Load(), spare.requests.Load())
			}
		})
	}
}

// speechAPI is OpenAI's /v1/audio/speech: raw 24 kHz PCM for response_format
// pcm, or, failing, status with an error body; when slow it sends the headers
// and no audio until the client gives up.
type speechAPI struct {
	status   int
	slow     bool
	requests atomic.Int32
}

func (s *speechAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	var req struct {
		Input          string `json:"input"`
		ResponseFormat string `json:"response_format"`
	}
	if r.URL.Path != "/v1/audio/speech" || json.NewDecoder(r.Body).Decode(&req) != nil || req.ResponseFormat != "pcm" {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"error":{"message":"bad request","type":"invalid_request_error"}}`)
		return
	}
	switch {
	case s.status != 0:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(s.status)
		_, _ = io.WriteString(w, `{"error":{"message":"The server is overloaded.","type":"server_error"}}`)
		return
	case s.slow:
		w.Header().Set("Content-Type", "audio/pcm")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		return
	}
	w.Header().Set("Content-Type", "audio/pcm")
	pcm := make([]byte, 2*24000*len(req.Input)/20) // 50 ms a character
	for i := 0; i < len(pcm)/2; i++ {
		binary.LittleEndian.PutUint16(pcm[2*i:], uint16(int16(4000*math.Sin(float64(i)/10))))
	}
	_, _ = w.Write(pcm)
}

// An agent whose speech provider fails, or is slow to send its first audio,
// speaks with its fallback provider instead.
func TestTTSFallback(t *testing.T) {
	for _, tc := range []struct {
		name  string
		api   *speechAPI
		extra string
		want  string
	}{
		{"server error", &speechAPI{status: http.StatusServiceUnavailable}, "", "HTTP 503"},
		{"slow first audio", &speechAPI{slow: true}, "  fallback_after: 300ms\n", "no first byte"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := httptest.NewServer(tc.api)
			defer api.Close()
			agent := parseAgent(t, `id: test
greeting: Hi there.
stt: {provider: fake}
llm: {provider: fake}
tts:
  provider: openai
  options: {base_url: `+api.URL+`/v1, api_key: sk-speech-secret, model: tts-1}
  fallbacks:
    - {provider: fake}
`+tc.extra)
			ts := newTestServer(t, server.Config{Agents: []*agents.Config{agent}})
			p := mustDial(t, ts)
			fb := p.event(events.ProviderFallback, nil)
			if pl := fb.Payload; pl["stage"] != "tts" || pl["from"] != "openai" || pl["to"] != "fake" || pl["turn"] != 0.0 {
				t.Errorf("provider.fallback %v", pl)
			}
			if msg, _ := fb.Payload["error"].(string); !strings.Contains(msg, tc.want) || strings.Contains(msg, "secret") {
				t.Errorf("provider.fallback error %q: want it to mention %q and no API key", msg, tc.want)
			}
			// The greeting is heard, in the fallback's voice.
			p.event(events.AgentSpeechEnded, nil)
			p.awaitListening()
			if p.framesSoFar() == 0 {
				t.Error("no audio reached the caller")
			}
			p.hangUp()
			ts.endReason(p.cl.CallID())
		})
	}
}

// Fallback providers are built like the first one, and their mistakes are
// refused with their path in the config.
func TestFallbacksProvision(t *testing.T) {
	ok := `id: hosted
greeting: Hi.
stt:
  provider: deepgram
  options: {api_key: dg-key}
  fallbacks:
    - provider: openai
      options: {base_url: http://127.0.0.1:9/v1, model: whisper-1}
    - provider: fake
tts:
  provider: elevenlabs
  options: {api_key: el-key}
  fallbacks:
    - provider: openai
      options: {api_key: sk-key, model: tts-1}
    - {provider: cartesia, voice: a0e99841, options: {api_key: ca-key}}
llm:
  provider: openai
  model: gpt-4o-mini
  api_key: sk-key
  fallbacks:
    - {provider: openai, model: llama-3.1-8b-instant, base_url: https://api.groq.com/openai/v1, options: {max_tokens: 100}}
    - {provider: fake}
`
	a, err := server.Provision(parseAgent(t, ok), plugins.Default(), &server.Providers{})
	if err != nil {
		t.Fatalf("provisioning fallbacks: %v", err)
	}
	if _, chained := a.STT.(*fallback.STT); !chained {
		t.Errorf("stt is a %T, want a fallback chain", a.STT)
	}
	if tts, chained := a.TTS.(*fallback.TTS); !chained || tts.FallbackAfter != 200*time.Millisecond || len(tts.Providers) != 3 {
		t.Errorf("tts is %#v, want a chain of 3 with the tts_first_audio budget as deadline", a.TTS)
	}
	if l, chained := a.NewLLM(nil).(*fallback.LLM); !chained || len(l.Providers) != 3 ||
		l.Providers[0].Name != "openai:gpt-4o-mini" || l.Providers[1].Name != "openai:llama-3.1-8b-instant" || l.Providers[2].Name != "fake" {
		t.Errorf("llm is %#v, want a chain of 3 named by provider and model", a.NewLLM(nil))
	}
	for _, c := range []struct{ from, to, want string }{
		{"model: whisper-1}", "modle: whisper-1}", "stt.fallbacks[0].options.modle"},
		{"{provider: cartesia, voice: a0e99841,", "{provider: cartesia,", "tts.fallbacks[1].voice: cartesia needs a voice id"},
		{"options: {max_tokens: 100}", "options: {max_tokens: -1}", "llm.fallbacks[0]: options.max_tokens"},
	} {
		bad := strings.Replace(ok, c.from, c.to, 1)
		if bad == ok {
			t.Fatalf("%q not in the test config", c.from)
		}
		_, err := server.Provision(parseAgent(t, bad), plugins.Default(), &server.Providers{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q → %q: error %v, want one mentioning %q", c.from, c.to, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "-key") {
			t.Errorf("an error quotes an API key: %v", err)
		}
	}
}

// An agent whose transcription server fails hears the caller through its
// fallback recogniser: the utterance is replayed to it, and the turn goes on.
func TestSTTFallbackReplaysTheUtterance(t *testing.T) {
	var uploads atomic.Int32
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// OpenAI's /v1/audio/transcriptions, overloaded.
		if r.URL.Path != "/v1/audio/transcriptions" || r.ParseMultipartForm(10<<20) != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		uploads.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, `{"error":{"message":"Bad gateway.","type":"server_error"}}`)
	}))
	defer api.Close()
	agent := parseAgent(t, `id: test
greeting: Hi.
tts: {provider: fake}
llm: {provider: fake}
stt:
  provider: openai
  options: {base_url: `+api.URL+`/v1, api_key: sk-stt-secret, model: whisper-1}
  fallbacks:
    - {provider: fake}
`)
	ts := newTestServer(t, server.Config{Agents: []*agents.Config{agent}})
	p := mustDial(t, ts)
	p.awaitListening()
	p.speak(640)
	fb := p.event(events.ProviderFallback, nil)
	if pl := fb.Payload; pl["stage"] != "stt" || pl["from"] != "openai" || pl["to"] != "fake" || pl["turn"] != 1.0 {
		t.Errorf("provider.fallback %v", pl)
	}
	if msg, _ := fb.Payload["error"].(string); !strings.Contains(msg, "HTTP 502") || strings.Contains(msg, "secret") {
		t.Errorf("provider.fallback error %q", msg)
	}
	heard := p.event(events.SpeechTranscribed, nil)
	if heard.Payload["text"] != "hello" || heard.Payload["turn"] != 1.0 {
		t.Errorf("speech.transcribed %v: want the fallback's transcript of the same utterance", heard.Payload)
	}
	reply := p.event(events.AgentResponse, func(e native.ClientEvent) bool { return e.Payload["turn"] == 1.0 })
	if reply.Payload["text"] != "You said: hello." {
		t.Errorf("reply %v", reply.Payload)
	}
	if n := p.count(events.ProviderError); n != 0 {
		t.Errorf("%d provider.error events; the fallback should have hidden the failure", n)
	}
	p.hangUp()
	ts.endReason(p.cl.CallID())
	if uploads.Load() != 1 {
		t.Errorf("%d uploads to the failing server, want 1", uploads.Load())
	}
}
