package bench

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/pipeline"
	"github.com/parley-voice/parley/plugins"
	"github.com/parley-voice/parley/runtime/call"
	"github.com/parley-voice/parley/runtime/server"
)

// fakeAgentYAML is the benchmark agent: zero-latency fake providers and the
// production defaults for everything else (VAD, 600 ms endpointing, budgets).
// The fake recogniser hears "hello"; the fake LLM answers "You said: hello."
// (about a second of audio) and greets with "Hello. How can I help?".
const fakeAgentYAML = `
id: bench
name: Benchmark agent
stt: {provider: fake}
tts: {provider: fake}
llm: {provider: fake}
`

// FakeAgent provisions the benchmark agent the way the server does: agents.Parse,
// then server.Provision with fresh fake providers.
func FakeAgent() (*call.Agent, error) {
	cfg, err := agents.Parse("bench.yaml", []byte(fakeAgentYAML), func(string) (string, bool) { return "", false })
	if err != nil {
		return nil, fmt.Errorf("parsing the benchmark agent: %w", err)
	}
	a, err := server.Provision(cfg, plugins.Default(), &server.Providers{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, fmt.Errorf("provisioning the benchmark agent: %w", err)
	}
	return a, nil
}

// tableTTS has fake.TTS's shape (60 ms of a quiet 300 Hz tone per character, in
// 100 ms chunks) but copies the tone from a table computed once, so synthesis
// costs next to no CPU. fake.TTS computes a sine per sample (about 0.3 ms per
// one-second reply), work that a remote provider would not do on this machine.
type tableTTS struct {
	mu   sync.Mutex
	tone map[int][]int16 // one second of tone, per sample rate
}

func (t *tableTTS) second(rate int) []int16 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s, ok := t.tone[rate]; ok {
		return s
	}
	s := make([]int16, rate)
	for i := range s {
		s[i] = int16(3000 * math.Sin(2*math.Pi*300*float64(i)/float64(rate)))
	}
	if t.tone == nil {
		t.tone = map[int][]int16{}
	}
	t.tone[rate] = s
	return s
}

// Synthesize streams len(req.Text)*60 ms of tone to sink.
func (t *tableTTS) Synthesize(ctx context.Context, req pipeline.TTSRequest, sink func([]int16) error) error {
	tone := t.second(req.SampleRate)
	total := len(req.Text) * 60 * req.SampleRate / 1000
	chunk := req.SampleRate / 10
	for off := 0; off < total; off += chunk {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := min(chunk, total-off)
		start := off % len(tone)
		if start+n > len(tone) {
			start = 0 // 300 Hz fits a whole number of periods in 100 ms
		}
		if err := sink(tone[start : start+n]); err != nil {
			return err
		}
	}
	return nil
}

var _ pipeline.TTS = (*tableTTS)(nil)
