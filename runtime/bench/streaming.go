package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/pipeline"
	"github.com/parley-voice/parley/pipeline/providertest"
	"github.com/parley-voice/parley/plugins"
	"github.com/parley-voice/parley/runtime/call"
	"github.com/parley-voice/parley/runtime/server"
)

// StreamMode selects a streaming reply generator for RunTurns, to time the
// runtime's share between the model's tokens and the TTS request.
type StreamMode string

// Stream modes.
const (
	// StreamOff keeps the fake LLM, which answers in one burst.
	StreamOff StreamMode = ""
	// StreamInProcess streams the reply token by token from a pipeline.LLM in
	// the same process: the time measured is the runtime's alone.
	StreamInProcess StreamMode = "inprocess"
	// StreamSSE runs the real OpenAI client (pipeline/openai, go-openai)
	// against providertest's chat completions fake over loopback HTTP, with a
	// bare SSE client reading the same stream as the same-run baseline.
	StreamSSE StreamMode = "sse"
)

// StreamReport is what a streaming run measured, per turn.
type StreamReport struct {
	Mode       StreamMode
	TokenDelay time.Duration
	// ToTTS runs from the emission of the chunk that completes the reply's
	// first sentence to the TTS Synthesize call for that sentence. In process
	// the chunk is timed just before the LLM hands it to the runtime; over SSE,
	// just before the fake server writes it.
	ToTTS Dist
	// Baseline (SSE only) runs from the same server write to a bare client
	// (net/http, bufio, encoding/json, the same sentence chunker) having
	// parsed that chunk, on other streams of the same server during the same
	// window. ToTTS minus Baseline estimates the runtime's share, OpenAI
	// client included.
	Baseline Dist
	// FromClient (SSE only) runs from the OpenAI client (pipeline/openai)
	// handing the completing chunk to the runtime to the TTS request: the
	// runtime's own share measured directly, without the client's parsing.
	FromClient Dist
	// Unmatched counts first sentences the TTS received whose chunk time was
	// not recorded (0 expected).
	Unmatched int
}

// streamReplyTokens is the reply of every streamed turn: its first sentence
// is unique (it carries the reply number), so the TTS request is matched to
// the chunk that completed it. 26 characters: 1.6 s of fake audio.
func streamReply(n int64) string { return fmt.Sprintf("Order %d is ready. Thanks.", n) }

// completing returns the index of the token that completes the first
// sentence, as the call's chunker sees it, and that sentence.
func completing(toks []string) (int, string) {
	c := pipeline.Chunker{MinChars: 8}
	for i, t := range toks {
		if out := c.Push(t); len(out) > 0 {
			return i, out[0]
		}
	}
	return len(toks) - 1, strings.TrimSpace(c.Flush())
}

// streamRecorder matches first sentences to the time their completing chunk
// was emitted and times the TTS request (or the baseline client) against it.
type streamRecorder struct {
	measuring *atomic.Bool
	replies   atomic.Int64

	mu      sync.Mutex
	emitted map[string]time.Time // first sentence → completing chunk emitted
	handed  map[string]time.Time // first sentence → completing chunk handed to the runtime (SSE)

	toTTS, baseline, fromClient samples
	unmatched                   atomic.Int64
}

func newStreamRecorder(measuring *atomic.Bool) *streamRecorder {
	return &streamRecorder{measuring: measuring, emitted: map[string]time.Time{}, handed: map[string]time.Time{}}
}

// emit records that the chunk completing sentence is being emitted at t.
func (s *streamRecorder) emit(sentence string, t time.Time) {
	s.mu.Lock()
	s.emitted[sentence] = t
	s.mu.Unlock()
}

// hand records that the OpenAI client handed the chunk completing sentence
// to the runtime at t.
func (s *streamRecorder) hand(sentence string, t time.Time) {
	s.mu.Lock()
	s.handed[sentence] = t
	s.mu.Unlock()
}

// arrived times sentence's arrival at now into d, and into fromClient when
// the client's hand-over was recorded too.
func (s *streamRecorder) arrived(sentence string, now time.Time, d *samples) {
	s.mu.Lock()
	t, ok := s.emitted[sentence]
	h, handed := s.handed[sentence]
	delete(s.emitted, sentence)
	delete(s.handed, sentence)
	s.mu.Unlock()
	if !s.measuring.Load() {
		return
	}
	if !ok {
		if strings.HasPrefix(sentence, "Order ") {
			s.unmatched.Add(1)
		}
		return
	}
	d.add(now.Sub(t))
	if handed {
		s.fromClient.add(now.Sub(h))
	}
}

func (s *streamRecorder) report(mode StreamMode, delay time.Duration) *StreamReport {
	return &StreamReport{Mode: mode, TokenDelay: delay, ToTTS: s.toTTS.dist(), Baseline: s.baseline.dist(),
		FromClient: s.fromClient.dist(), Unmatched: int(s.unmatched.Load())}
}

// streamLLM streams streamReply token by token in process.
type streamLLM struct {
	rec   *streamRecorder
	delay time.Duration
}

// Generate streams the reply, recording when the first sentence's last chunk goes out.
func (l *streamLLM) Generate(ctx context.Context, req *pipeline.LLMRequest, sink func(pipeline.LLMChunk)) error {
	toks := providertest.Tokens(streamReply(l.rec.replies.Add(1)))
	at, sentence := completing(toks)
	for i, tok := range toks {
		if i > 0 && l.delay > 0 {
			t := time.NewTimer(l.delay)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if i == at {
			l.rec.emit(sentence, time.Now())
		}
		sink(pipeline.LLMChunk{Text: tok})
	}
	sink(pipeline.LLMChunk{Usage: &pipeline.Usage{PromptTokens: 10, CompletionTokens: len(toks)}})
	return nil
}

// timedTTS times each Synthesize call against the chunk that completed its text.
type timedTTS struct {
	pipeline.TTS
	rec *streamRecorder
}

func (t timedTTS) Synthesize(ctx context.Context, req pipeline.TTSRequest, sink func([]int16) error) error {
	t.rec.arrived(req.Text, time.Now(), &t.rec.toTTS)
	return t.TTS.Synthesize(ctx, req, sink)
}

// handTimer notes when the LLM client hands the runtime the chunk that
// completes the first sentence (found with the call's own chunker rules).
type handTimer struct {
	pipeline.LLM
	rec *streamRecorder
}

func (h handTimer) Generate(ctx context.Context, req *pipeline.LLMRequest, sink func(pipeline.LLMChunk)) error {
	ch := pipeline.Chunker{MinChars: 8}
	found := false
	return h.LLM.Generate(ctx, req, func(c pipeline.LLMChunk) {
		if !found && c.Text != "" {
			if out := ch.Push(c.Text); len(out) > 0 {
				found = true
				h.rec.hand(out[0], time.Now())
			}
		}
		sink(c)
	})
}

// streamKey is the API key the SSE fake insists on.
const streamKey = "sk-bench"

// streamSetup builds the agent of a streaming run; close stops what it started.
type streamSetup struct {
	agent    *call.Agent
	rec      *streamRecorder
	chat     *providertest.OpenAIChat // SSE only
	baseline func(stop <-chan struct{})
	close    func()
}

// newStreamSetup provisions the benchmark agent with a streaming LLM and a
// timed TTS (tableTTS: the fake's shape without its per-sample sine).
func newStreamSetup(cfg Config, measuring *atomic.Bool) (*streamSetup, error) {
	rec := newStreamRecorder(measuring)
	st := &streamSetup{rec: rec, close: func() {}}
	yaml := fakeAgentYAML
	if cfg.Stream == StreamSSE {
		var sentences sync.Map // request number → completing index and sentence
		type firstSentence struct {
			at       int
			sentence string
		}
		chat, err := providertest.NewOpenAIChat(providertest.OpenAIChatConfig{
			APIKey:     streamKey,
			TokenDelay: cfg.TokenDelay,
			Reply: func(req providertest.ChatRequest) providertest.ChatReply {
				text := streamReply(rec.replies.Add(1))
				at, s := completing(providertest.Tokens(text))
				sentences.Store(req.N, firstSentence{at, s})
				return providertest.ChatReply{Text: text}
			},
			OnChunk: func(c providertest.ChatChunk) {
				if v, ok := sentences.Load(c.Request); ok && v.(firstSentence).at == c.Index {
					sentences.Delete(c.Request)
					rec.emit(v.(firstSentence).sentence, c.At)
				}
			},
		})
		if err != nil {
			return nil, fmt.Errorf("bench turns: starting the SSE fake: %w", err)
		}
		st.chat = chat
		st.close = func() { chat.Close() }
		st.baseline = func(stop <-chan struct{}) { runBaseline(chat.URL(), rec, stop) }
		yaml = fmt.Sprintf("id: bench\nname: Benchmark agent\nstt: {provider: fake}\ntts: {provider: fake}\n"+
			"llm: {provider: openai, model: bench, base_url: %q, api_key: %s, system_prompt: Answer briefly.}\n", chat.URL(), streamKey)
	}
	pcfg, err := agents.Parse("bench.yaml", []byte(yaml), func(string) (string, bool) { return "", false })
	if err != nil {
		st.close()
		return nil, fmt.Errorf("parsing the benchmark agent: %w", err)
	}
	a, err := server.Provision(pcfg, plugins.Default(), &server.Providers{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		st.close()
		return nil, fmt.Errorf("provisioning the benchmark agent: %w", err)
	}
	a.TTS = timedTTS{TTS: &tableTTS{}, rec: rec}
	switch cfg.Stream {
	case StreamInProcess:
		l := &streamLLM{rec: rec, delay: cfg.TokenDelay}
		a.NewLLM = func(map[string]string) pipeline.LLM { return l }
	case StreamSSE:
		newLLM := a.NewLLM
		a.NewLLM = func(vars map[string]string) pipeline.LLM { return handTimer{LLM: newLLM(vars), rec: rec} }
	}
	st.agent = a
	return st, nil
}

// runBaseline reads the fake's stream with a bare client, one request after
// another with a pause of 50–250 ms, until stop is closed: the same server,
// the same replies, the same machine load as the calls, and none of the
// runtime. Each request's first sentence is timed like the TTS request.
func runBaseline(base string, rec *streamRecorder, stop <-chan struct{}) {
	client := &http.Client{}
	defer client.CloseIdleConnections()
	body := []byte(`{"model":"bench","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hello"}]}`)
	rng := rand.New(rand.NewPCG(7, 7))
	for {
		baselineOnce(client, base, body, rec)
		t := time.NewTimer(time.Duration(50+rng.IntN(200)) * time.Millisecond)
		select {
		case <-stop:
			t.Stop()
			return
		case <-t.C:
		}
	}
}

func baselineOnce(client *http.Client, base string, body []byte, rec *streamRecorder) {
	req, err := http.NewRequest(http.MethodPost, base+"/chat/completions", bytes.NewReader(body))
	if err != nil {
		return
	}
	req.Header.Set("Authorization", "Bearer "+streamKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	var ch pipeline.Chunker
	ch.MinChars = 8
	found := false
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return
		}
		data, ok := bytes.CutPrefix(bytes.TrimSpace(line), []byte("data: "))
		if !ok || found {
			continue
		}
		if bytes.Equal(data, []byte("[DONE]")) {
			_, _ = io.Copy(io.Discard, r)
			return
		}
		var chunk struct {
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
		}
		if json.Unmarshal(data, &chunk) != nil || len(chunk.Choices) == 0 {
			continue
		}
		if out := ch.Push(chunk.Choices[0].Delta.Content); len(out) > 0 {
			found = true
			rec.arrived(out[0], time.Now(), &rec.baseline)
		}
	}
}

// startBaseline runs the SSE baseline client of a streaming run, if any,
// until the returned function (idempotent) is called.
func startBaseline(st *streamSetup) func() {
	if st == nil || st.baseline == nil {
		return func() {}
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		st.baseline(stop)
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(stop)
			<-done
		})
	}
}

// quiesce closes the keep-alive connections the calls' OpenAI client left
// open once every call has ended, so that their goroutines are not counted as
// leaked. The agent is provisioned as the server does it, so its client uses
// http.DefaultTransport.
func (st *streamSetup) quiesce() {
	if st.chat == nil {
		return
	}
	if t, ok := http.DefaultTransport.(*http.Transport); ok {
		t.CloseIdleConnections()
	}
}
