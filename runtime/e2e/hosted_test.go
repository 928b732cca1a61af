package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/media"
	"github.com/parley-voice/parley/pipeline/espeak"
	"github.com/parley-voice/parley/pipeline/providertest"
	"github.com/parley-voice/parley/plugins"
	"github.com/parley-voice/parley/runtime/events"
	"github.com/parley-voice/parley/runtime/server"
)

// Keys the fakes insist on; the agent config carries them like real keys.
const (
	hostedDeepgramKey = "dg-e2e-key"
	hostedOpenAIKey   = "sk-e2e-key"
	hostedElevenKey   = "xi-e2e-key"
)

// The caller's two lines and what the fake Deepgram "recognises" in them.
var hostedScript = []struct{ say, heard string }{
	{"where is my order", "Where is my order?"},
	{"it is order a one seven", "It is order A17."},
}

type orderArgs struct {
	OrderID string `json:"order_id" jsonschema_description:"The order number, e.g. A17"`
}

// hostedReply is the fake model: it asks for the order number, then calls
// order_status once it hears one, then answers from the tool's result.
func hostedReply(req providertest.ChatRequest) providertest.ChatReply {
	last := req.Messages[len(req.Messages)-1]
	switch {
	case last.Role == "tool":
		var res struct{ Status, Arrives string }
		if err := json.Unmarshal([]byte(last.Content), &res); err != nil || res.Status == "" {
			return providertest.ChatReply{Text: "Sorry, I could not read the order system's answer."}
		}
		return providertest.ChatReply{Text: fmt.Sprintf("Order A17 has %s. It arrives on %s.", res.Status, res.Arrives)}
	case strings.Contains(last.Content, "A17"):
		return providertest.ChatReply{ToolCalls: []providertest.ChatToolCall{{ID: "call_a17", Name: "order_status", Arguments: `{"order_id":"A17"}`}}}
	}
	return providertest.ChatReply{Text: "I can check that for you. What is the order number?"}
}

// startHostedServer serves one agent with the given tool environment on a
// loopback socket, like startServer does for the demo agent.
func startHostedServer(t *testing.T, yaml string, env *plugins.Environment) *testServer {
	t.Helper()
	cfg, err := agents.Parse("hosted.yaml", []byte(yaml), os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{Agents: []*agents.Config{cfg}, Tools: env})
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{srv: srv, sub: srv.Bus().Subscribe(100000, "")}
	ts.http = httptest.NewServer(srv.Handler())
	ts.url = "ws" + strings.TrimPrefix(ts.http.URL, "http") + "/v1/ws"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		ts.http.CloseClientConnections()
		ts.http.Close()
	})
	return ts
}

// TestHostedProviders runs a whole call over a real socket with the hosted
// providers, each pointed at an in-process fake that speaks its wire format:
// Deepgram live transcription, OpenAI chat completions (with a Go tool call)
// and OpenAI or ElevenLabs speech. The caller speaks two lines with espeak-ng.
func TestHostedProviders(t *testing.T) {
	if err := espeak.Available(); err != nil {
		t.Fatalf("espeak-ng is required for end-to-end tests (run make deps): %v", err)
	}
	for _, ttsName := range []string{"openai", "elevenlabs"} {
		t.Run("tts="+ttsName, func(t *testing.T) { testHosted(t, ttsName) })
	}
}

func testHosted(t *testing.T, ttsName string) {
	checkLeaks(t)
	var lines []string
	for _, l := range hostedScript {
		lines = append(lines, l.heard)
	}
	dg, err := providertest.NewDeepgram(providertest.DeepgramConfig{APIKey: hostedDeepgramKey, Transcripts: lines})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dg.Close() })
	chat, err := providertest.NewOpenAIChat(providertest.OpenAIChatConfig{APIKey: hostedOpenAIKey, Reply: hostedReply,
		FirstTokenDelay: 20 * time.Millisecond, TokenDelay: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { chat.Close() })

	// ttsAudio reports the audio the TTS fake produced so far.
	var ttsYAML string
	var ttsAudio func() (time.Duration, int)
	switch ttsName {
	case "openai":
		f, err := providertest.NewOpenAISpeech(providertest.OpenAISpeechConfig{APIKey: hostedOpenAIKey})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		ttsYAML = fmt.Sprintf("{provider: openai, options: {api_key: %s, base_url: %q}}", hostedOpenAIKey, f.URL())
		ttsAudio = func() (d time.Duration, n int) {
			for _, r := range f.Requests() {
				if r.ResponseFormat != "pcm" || r.Header.Get("Authorization") != "Bearer "+hostedOpenAIKey {
					t.Errorf("speech request %+v", r)
				}
				d += r.Audio
			}
			return d, len(f.Requests())
		}
	case "elevenlabs":
		f, err := providertest.NewElevenLabs(providertest.ElevenLabsConfig{APIKey: hostedElevenKey})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		ttsYAML = fmt.Sprintf("{provider: elevenlabs, options: {api_key: %s, base_url: %q}}", hostedElevenKey, f.URL())
		ttsAudio = func() (d time.Duration, n int) {
			for _, s := range f.Sessions() {
				// The native transport runs at 16 kHz, which ElevenLabs has.
				if s.OutputFormat != "pcm_16000" || !s.Final {
					t.Errorf("ElevenLabs session %s, final %v", s.OutputFormat, s.Final)
				}
				d += s.Audio
			}
			return d, len(f.Sessions())
		}
	}

	env := plugins.Default().Clone()
	if err := env.RegisterTool(plugins.MustFunc("order_status", "Look up where an order is.",
		func(ctx context.Context, a orderArgs) (any, error) {
			if a.OrderID != "A17" {
				return nil, fmt.Errorf("no order %q", a.OrderID)
			}
			return map[string]string{"order_id": a.OrderID, "status": "shipped", "arrives": "Tuesday"}, nil
		})); err != nil {
		t.Fatal(err)
	}
	ts := startHostedServer(t, fmt.Sprintf(`id: demo
name: Order desk
greeting: Hello, this is the order desk.
stt: {provider: deepgram, options: {api_key: %s, base_url: %q}}
tts: %s
llm:
  provider: openai
  model: gpt-4o-mini
  base_url: %q
  api_key: %s
  system_prompt: You help callers find their orders. Use order_status.
tools:
  - name: order_status
`, hostedDeepgramKey, dg.URL(), ttsYAML, chat.URL(), hostedOpenAIKey), env)

	p := dial(t, ts.url)
	p.await(events.AgentSpeechEnded, 20*time.Second, nil) // the greeting
	for i, line := range hostedScript {
		time.Sleep(300 * time.Millisecond)
		p.say(speech(t, line.say))
		tr := p.await(events.SpeechTranscribed, 20*time.Second, nil)
		if got := tr.Payload["text"]; got != line.heard {
			t.Errorf("turn %d: transcribed %q, want the fake Deepgram's %q", i+1, got, line.heard)
		}
		p.await(events.TurnCompleted, 30*time.Second, nil)
	}
	callID := p.cl.CallID()
	p.close()

	// call.ended reaches the bus once the server has seen the hang-up.
	var evs []*events.Event
	deadline := time.Now().Add(10 * time.Second)
	for {
		evs = append(evs, ts.events(callID)...)
		if len(evs) > 0 && evs[len(evs)-1].Type == events.CallEnded {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no call.ended on the bus; last event %v", evs[len(evs)-1].Type)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// What the caller received: the events, in order, and the agent's audio.
	p.mu.Lock()
	cevs := slices.Clone(p.evs)
	frames := slices.Clone(p.audio)
	p.mu.Unlock()
	var types []string
	var replies []string
	var turns []map[string]any
	for _, e := range cevs {
		types = append(types, e.Type)
		switch e.Type {
		case events.AgentResponse:
			if s, _ := e.Payload["text"].(string); s != "" {
				replies = append(replies, s)
			}
		case events.TurnCompleted:
			turns = append(turns, e.Payload)
		case events.ToolCalled:
			if e.Payload["name"] != "order_status" || fmt.Sprint(e.Payload["arguments"]) != "map[order_id:A17]" {
				t.Errorf("tool.called %v", e.Payload)
			}
		case events.ToolCompleted:
			if e.Payload["ok"] != true || !strings.Contains(fmt.Sprint(e.Payload["result"]), "shipped") {
				t.Errorf("tool.completed %v", e.Payload)
			}
		}
	}
	for _, want := range []string{events.CallStarted, events.SpeechTranscribed, events.ToolCalled, events.ToolCompleted, events.TurnCompleted} {
		if !slices.Contains(types, want) {
			t.Errorf("the caller got no %s; events: %s", want, strings.Join(types, " "))
		}
	}
	if evs[len(evs)-1].Type != events.CallEnded {
		t.Errorf("last server event %s", evs[len(evs)-1].Type)
	}
	// The reply uses the tool's result, which only the Go tool knew.
	if len(replies) == 0 || replies[len(replies)-1] != "Order A17 has shipped. It arrives on Tuesday." {
		t.Errorf("replies %q", replies)
	}

	// Usage per turn is what the fake model reported: one request in turn 1,
	// two (the tool call, then the answer) in turn 2.
	reqs := chat.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests to the model, want 3", len(reqs))
	}
	if len(turns) != 2 {
		t.Fatalf("%d turn.completed, want 2", len(turns))
	}
	for i, want := range [][]providertest.ChatRequest{reqs[:1], reqs[1:]} {
		var prompt, completion int
		for _, r := range want {
			prompt += r.Reply.PromptTokens
			completion += r.Reply.CompletionTokens
		}
		u, _ := turns[i]["usage"].(map[string]any)
		if u["prompt_tokens"] != float64(prompt) || u["completion_tokens"] != float64(completion) || prompt == 0 {
			t.Errorf("turn %d usage %v, want prompt %d completion %d", i+1, u, prompt, completion)
		}
		if lat, _ := turns[i]["latency_ms"].(map[string]any); lat["llm_first_token"] == nil || lat["tts_first_audio"] == nil {
			t.Errorf("turn %d latency %v", i+1, lat)
		}
	}
	last := reqs[2]
	if m := last.Messages[len(last.Messages)-1]; m.Role != "tool" || m.ToolCallID != "call_a17" {
		t.Errorf("the answer request ends with %+v, want the tool result", m)
	}
	if reqs[0].Messages[0].Role != "system" || !reqs[0].IncludeUsage || !slices.Contains(reqs[0].Tools, "order_status") {
		t.Errorf("first request %+v", reqs[0])
	}

	// The caller heard all the audio the fake synthesised (greeting and three
	// replies), at a plausible level: one 20 ms frame per 20 ms of speech.
	produced, n := ttsAudio()
	if n < 4 {
		t.Errorf("%d synthesis requests, want at least 4 (greeting, two replies of which one has two sentences)", n)
	}
	var loud int
	for _, f := range frames {
		if f.level > -40 {
			loud++
		}
	}
	heard := time.Duration(loud) * media.FrameDuration
	t.Logf("%d synthesis requests, %v produced, %v heard (%d frames, %d loud); Deepgram: %d bytes, %v; usage %v %v",
		n, produced, heard, len(frames), loud, dg.Sessions()[0].AudioBytes, dg.Sessions()[0].Audio, turns[0]["usage"], turns[1]["usage"])
	if heard < produced*9/10 || heard > produced*11/10+time.Duration(n)*media.FrameDuration {
		t.Errorf("caller heard %v of audio, the TTS fake produced %v", heard, produced)
	}

	// Deepgram got the native transport's 16 kHz linear16, all of it, and
	// answered one utterance per line.
	sess := dg.Sessions()
	if len(sess) != 1 {
		t.Fatalf("%d Deepgram sessions, want 1", len(sess))
	}
	s := sess[0]
	if s.Encoding != "linear16" || s.SampleRate != 16000 || s.Channels != 1 {
		t.Errorf("Deepgram got %s at %d Hz, %d channels; want linear16 at 16000 Hz mono", s.Encoding, s.SampleRate, s.Channels)
	}
	if want := int(s.Audio.Seconds()*16000*2 + 0.5); s.AudioBytes < want || s.AudioBytes > want+640 || s.Audio < time.Second {
		t.Errorf("Deepgram got %d bytes for %v of audio", s.AudioBytes, s.Audio)
	}
	if len(s.Utterances) != 2 || s.Utterances[0].Transcript != lines[0] || s.Utterances[1].Transcript != lines[1] {
		t.Errorf("Deepgram utterances %+v", s.Utterances)
	}
	if s.Finalizes < 2 || !s.CloseStream {
		t.Errorf("Deepgram saw %d Finalize, CloseStream %v; want one Finalize per turn and a CloseStream", s.Finalizes, s.CloseStream)
	}
}
