package server

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/agents/flow"
	"github.com/parley-voice/parley/pipeline"
	"github.com/parley-voice/parley/pipeline/cartesia"
	"github.com/parley-voice/parley/pipeline/deepgram"
	"github.com/parley-voice/parley/pipeline/elevenlabs"
	"github.com/parley-voice/parley/pipeline/espeak"
	"github.com/parley-voice/parley/pipeline/fake"
	"github.com/parley-voice/parley/pipeline/openai"
	"github.com/parley-voice/parley/pipeline/openaiaudio"
	"github.com/parley-voice/parley/pipeline/sphinx"
	"github.com/parley-voice/parley/plugins"
	"github.com/parley-voice/parley/runtime/call"
)

// Providers holds the provider instances shared by every agent of a server, so
// expensive ones (PocketSphinx decoder pools, the espeak-ng engine) exist once.
type Providers struct {
	// Logger for providers; nil means slog.Default().
	Logger *slog.Logger

	mu     sync.Mutex
	sphinx *sphinx.STT
	espeak *espeak.TTS
	// Fakes, used by agents whose provider is "fake" (tests and benchmarks).
	FakeSTT *fake.STT
	FakeTTS *fake.TTS
	FakeLLM *fake.LLM
}

// stt builds one speech-to-text provider; path is where c is in the agent
// config ("stt", "stt.fallbacks[0]"), for errors.
func (p *Providers) stt(c agents.STTConfig, path string) (pipeline.STT, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch c.Provider {
	case "pocketsphinx":
		if p.sphinx == nil {
			s, err := sphinx.New(sphinx.Config{Logger: p.Logger, Prime: PrimeAudio()})
			if err != nil {
				return nil, fmt.Errorf("pocketsphinx: %w", err)
			}
			p.sphinx = s
		}
		return p.sphinx, nil
	case "fake":
		if p.FakeSTT == nil {
			p.FakeSTT = &fake.STT{Text: "hello"}
		}
		return p.FakeSTT, nil
	case "deepgram":
		o, err := stringOptions(c.Options, "api_key", "base_url", "model")
		if err != nil {
			return nil, fmt.Errorf("%s.%w", path, err)
		}
		return deepgram.New(deepgram.Config{APIKey: o["api_key"], BaseURL: o["base_url"], Model: o["model"], Logger: p.Logger})
	case "openai":
		o, err := stringOptions(c.Options, "api_key", "base_url", "model")
		if err != nil {
			return nil, fmt.Errorf("%s.%w", path, err)
		}
		return openaiaudio.New(openaiaudio.Config{APIKey: o["api_key"], BaseURL: o["base_url"], TranscriptionModel: o["model"], Logger: p.Logger})
	}
	return nil, fmt.Errorf("%s.provider: speech-to-text provider %q is not available in this build", path, c.Provider)
}

// tts builds one text-to-speech provider; path is where c is in the agent
// config ("tts", "tts.fallbacks[0]"), for errors.
func (p *Providers) tts(c agents.TTSConfig, path string) (pipeline.TTS, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch c.Provider {
	case "espeak":
		if p.espeak == nil {
			t, err := espeak.New(espeak.Config{})
			if err != nil {
				return nil, fmt.Errorf("espeak-ng: %w", err)
			}
			p.espeak = t
		}
		return p.espeak, nil
	case "fake":
		if p.FakeTTS == nil {
			p.FakeTTS = &fake.TTS{}
		}
		return p.FakeTTS, nil
	case "openai":
		o, err := stringOptions(c.Options, "api_key", "base_url", "model", "instructions")
		if err != nil {
			return nil, fmt.Errorf("%s.%w", path, err)
		}
		t, err := openaiaudio.New(openaiaudio.Config{APIKey: o["api_key"], BaseURL: o["base_url"], SpeechModel: o["model"],
			Instructions: o["instructions"], Logger: p.Logger})
		if err != nil {
			return nil, err
		}
		if c.Voice == agents.Default().TTS.Voice {
			// The default voice is espeak's; let the server pick its own.
			return voiceOverride{t, ""}, nil
		}
		return t, nil
	case "elevenlabs":
		o, err := stringOptions(c.Options, "api_key", "base_url", "model")
		if err != nil {
			return nil, fmt.Errorf("%s.%w", path, err)
		}
		t, err := elevenlabs.New(elevenlabs.Config{APIKey: o["api_key"], BaseURL: o["base_url"], Model: o["model"]})
		if err != nil {
			return nil, err
		}
		if c.Voice == agents.Default().TTS.Voice {
			return voiceOverride{t, ""}, nil // ElevenLabs' default voice
		}
		return t, nil
	case "cartesia":
		o, err := stringOptions(c.Options, "api_key", "url", "model", "version")
		if err != nil {
			return nil, fmt.Errorf("%s.%w", path, err)
		}
		if c.Voice == "" || c.Voice == agents.Default().TTS.Voice {
			return nil, fmt.Errorf("%s.voice: cartesia needs a voice id (voice: <id from Cartesia's voice library>)", path)
		}
		return cartesia.New(cartesia.Config{APIKey: o["api_key"], URL: o["url"], Model: o["model"], Version: o["version"]})
	}
	return nil, fmt.Errorf("%s.provider: text-to-speech provider %q is not available in this build", path, c.Provider)
}

// Provision builds a ready-to-serve agent from a validated config: providers,
// the flow engine or LLM, and the agent's tools from env.
func Provision(cfg *agents.Config, env *plugins.Environment, p *Providers) (*call.Agent, error) {
	a := &call.Agent{Config: cfg}
	var err error
	if a.STT, err = p.sttChain(cfg); err != nil {
		return nil, fmt.Errorf("agent %s: %w", cfg.ID, err)
	}
	if a.TTS, err = p.ttsChain(cfg); err != nil {
		return nil, fmt.Errorf("agent %s: %w", cfg.ID, err)
	}
	switch cfg.LLM.Provider {
	case "flow":
		f, err := flow.New(cfg.Flow)
		if err != nil {
			return nil, fmt.Errorf("agent %s: flow: %w", cfg.ID, err)
		}
		a.NewLLM = func(vars map[string]string) pipeline.LLM { return f.NewSession(vars) }
		a.Phrases = append(f.Phrases(), cfg.Turn.Backchannels...)
	default:
		if a.NewLLM, err = p.llmChain(cfg); err != nil {
			return nil, fmt.Errorf("agent %s: %w", cfg.ID, err)
		}
	}
	if a.CallStart, err = callStartHook(cfg); err != nil {
		return nil, fmt.Errorf("agent %s: call_start: %w", cfg.ID, err)
	}
	refs := make([]plugins.Ref, 0, len(cfg.Tools)+2)
	listed := map[string]bool{}
	for _, t := range cfg.Tools {
		listed[t.Name] = true
		if t.As != "" {
			listed[t.As] = true
		}
	}
	if cfg.LLM.Provider == "flow" {
		// The flow engine ends and transfers calls through these built-ins.
		for _, name := range []string{"end_call", "transfer_call"} {
			if !listed[name] {
				refs = append(refs, plugins.Ref{Name: name})
			}
		}
	}
	for _, t := range cfg.Tools {
		var opts json.RawMessage
		if len(t.Options) > 0 {
			if opts, err = json.Marshal(t.Options); err != nil {
				return nil, fmt.Errorf("agent %s: tool %s options: %w", cfg.ID, t.Name, err)
			}
		}
		refs = append(refs, plugins.Ref{Name: t.Name, As: t.As, Description: t.Description, Options: opts, Timeout: t.Timeout.Std()})
	}
	if a.Tools, err = env.Build(refs); err != nil {
		return nil, fmt.Errorf("agent %s: %w", cfg.ID, err)
	}
	return a, nil
}

// llm builds one reply generator other than the flow engine, as a function
// returning the LLM of one call (given the call's variables); path is where c
// is in the agent config ("llm", "llm.fallbacks[0]"), for errors.
func (p *Providers) llm(c agents.LLMConfig, path string) (func(vars map[string]string) pipeline.LLM, error) {
	switch c.Provider {
	case "fake":
		p.mu.Lock()
		if p.FakeLLM == nil {
			p.FakeLLM = &fake.LLM{}
		}
		l := p.FakeLLM
		p.mu.Unlock()
		return func(map[string]string) pipeline.LLM { return l }, nil
	case "openai":
		l, err := openAILLM(c)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return func(map[string]string) pipeline.LLM { return l }, nil
	case agents.ProviderWebhook:
		l, err := webhookLLM(c)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return func(map[string]string) pipeline.LLM { return l }, nil
	}
	return nil, fmt.Errorf("%s.provider: LLM provider %q is not available in this build yet", path, c.Provider)
}

// PrimeAudio synthesises a short sentence at 16 kHz with espeak-ng to prime new
// PocketSphinx decoders (see sphinx.Config.Prime); nil if espeak-ng is missing.
func PrimeAudio() []int16 {
	t, err := espeak.New(espeak.Config{})
	if err != nil {
		return nil
	}
	var pcm []int16
	_ = t.Synthesize(context.Background(), pipeline.TTSRequest{
		Text: "Hello, I would like some help with my appointment please.", SampleRate: 16000,
	}, func(p []int16) error { pcm = append(pcm, p...); return nil })
	return pcm
}

// openAILLM builds an OpenAI-compatible LLM from an agent's llm section.
// Options: max_tokens (a number) and first_token_timeout (a duration such as
// "1.5s"); anything else is an error.
func openAILLM(c agents.LLMConfig) (*openai.LLM, error) {
	oc := openai.Config{BaseURL: c.BaseURL, APIKey: c.APIKey, Model: c.Model}
	if c.Temperature != nil {
		t := float32(*c.Temperature)
		oc.Temperature = &t
	}
	for k, v := range c.Options {
		switch k {
		case "max_tokens":
			n, ok := v.(int)
			if !ok || n < 1 {
				return nil, fmt.Errorf("options.max_tokens: want a positive whole number, got %v", v)
			}
			oc.MaxTokens = n
		case "first_token_timeout":
			str, _ := v.(string)
			d, err := time.ParseDuration(str)
			if err != nil || d <= 0 {
				return nil, fmt.Errorf("options.first_token_timeout: want a duration such as \"1.5s\", got %v", v)
			}
			oc.FirstTokenTimeout = d
		default:
			return nil, fmt.Errorf("options.%s: unknown option of the openai provider (known: max_tokens, first_token_timeout)", k)
		}
	}
	return openai.New(oc)
}

// stringOptions reads a provider's options, all strings, refusing unknown keys.
func stringOptions(opts map[string]any, known ...string) (map[string]string, error) {
	out := make(map[string]string, len(opts))
	for k, v := range opts {
		if !slices.Contains(known, k) {
			return nil, fmt.Errorf("options.%s: unknown option (known: %s)", k, strings.Join(known, ", "))
		}
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("options.%s: want a string", k)
		}
		out[k] = s
	}
	return out, nil
}

// voiceOverride speaks every request with one voice ("" = the provider's).
type voiceOverride struct {
	pipeline.TTS
	voice string
}

func (v voiceOverride) Synthesize(ctx context.Context, req pipeline.TTSRequest, sink func([]int16) error) error {
	req.Voice = v.voice
	return v.TTS.Synthesize(ctx, req, sink)
}
