package server

import (
	"context"
	"fmt"
	"net/url"
	"slices"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/pipeline"
	"github.com/parley-voice/parley/pipeline/fallback"
)

// sttChain builds the agent's speech-to-text provider: stt alone, or a
// fallback chain of it and stt.fallbacks.
func (p *Providers) sttChain(cfg *agents.Config) (pipeline.STT, error) {
	first, err := p.stt(cfg.STT, "stt")
	if err != nil || len(cfg.STT.Fallbacks) == 0 {
		return first, err
	}
	chain := &fallback.STT{Providers: []fallback.Named[pipeline.STT]{{Name: cfg.STT.Provider, Provider: first}}}
	names := []string{cfg.STT.Provider}
	for i, f := range cfg.STT.Fallbacks {
		s, err := p.stt(agents.STTConfig{Provider: f.Provider, Language: cfg.STT.Language, Options: f.Options}, fmt.Sprintf("stt.fallbacks[%d]", i))
		if err != nil {
			return nil, err
		}
		name := uniqueName(names, f.Provider, "")
		names = append(names, name)
		chain.Providers = append(chain.Providers, fallback.Named[pipeline.STT]{Name: name, Provider: s})
	}
	return chain, nil
}

// ttsChain builds the agent's text-to-speech provider: tts alone, or a
// fallback chain of it and tts.fallbacks in which every provider but the last
// must send a sentence's first audio within the agent's TTSFallbackAfter.
func (p *Providers) ttsChain(cfg *agents.Config) (pipeline.TTS, error) {
	first, err := p.tts(cfg.TTS, "tts")
	if err != nil || len(cfg.TTS.Fallbacks) == 0 {
		return first, err
	}
	chain := &fallback.TTS{Providers: []fallback.Named[pipeline.TTS]{{Name: cfg.TTS.Provider, Provider: first}},
		FallbackAfter: cfg.TTSFallbackAfter(), Cooldown: fallback.DefaultCooldown}
	names := []string{cfg.TTS.Provider}
	for i, f := range cfg.TTS.Fallbacks {
		t, err := p.tts(agents.TTSConfig{Provider: f.Provider, Voice: f.Voice, Language: cfg.TTS.Language, Rate: f.Rate, Options: f.Options}, fmt.Sprintf("tts.fallbacks[%d]", i))
		if err != nil {
			return nil, err
		}
		name := uniqueName(names, f.Provider, "")
		names = append(names, name)
		// tts.voice and tts.rate belong to the first provider: a voice name
		// means nothing to another one.
		chain.Providers = append(chain.Providers, fallback.Named[pipeline.TTS]{Name: name, Provider: fallbackVoice{t, f.Voice, f.Rate}})
	}
	return chain, nil
}

// llmChain builds the agent's reply generator when it is not the flow engine:
// llm alone, or a fallback chain of it and llm.fallbacks in which every
// provider but the last must send its first token within the agent's
// LLMFallbackAfter.
func (p *Providers) llmChain(cfg *agents.Config) (func(vars map[string]string) pipeline.LLM, error) {
	first, err := p.llm(cfg.LLM, "llm")
	if err != nil || len(cfg.LLM.Fallbacks) == 0 {
		return first, err
	}
	news := []func(map[string]string) pipeline.LLM{first}
	names := []string{uniqueName(nil, cfg.LLM.Provider+modelSuffix(cfg.LLM.Model), "")}
	for i, f := range cfg.LLM.Fallbacks {
		c := agents.LLMConfig{Provider: f.Provider, Model: f.Model, BaseURL: f.BaseURL, APIKey: f.APIKey,
			Temperature: f.Temperature, Options: f.Options}
		nl, err := p.llm(c, fmt.Sprintf("llm.fallbacks[%d]", i))
		if err != nil {
			return nil, err
		}
		news = append(news, nl)
		names = append(names, uniqueName(names, f.Provider+modelSuffix(f.Model), f.BaseURL))
	}
	after := cfg.LLMFallbackAfter()
	return func(vars map[string]string) pipeline.LLM {
		chain := &fallback.LLM{Providers: make([]fallback.Named[pipeline.LLM], len(news)), FallbackAfter: after, Cooldown: fallback.DefaultCooldown}
		for i, nl := range news {
			chain.Providers[i] = fallback.Named[pipeline.LLM]{Name: names[i], Provider: nl(vars)}
		}
		return chain
	}, nil
}

func modelSuffix(model string) string {
	if model == "" {
		return ""
	}
	return ":" + model
}

// uniqueName names a provider of a chain in events and logs: name, with the
// host of baseURL, or failing that its position, when an earlier provider
// has the same name. It never includes credentials (base URLs may hold some).
func uniqueName(taken []string, name, baseURL string) string {
	if !slices.Contains(taken, name) {
		return name
	}
	if u, err := url.Parse(baseURL); err == nil && u.Hostname() != "" {
		if n := name + "@" + u.Hostname(); !slices.Contains(taken, n) {
			return n
		}
	}
	return fmt.Sprintf("%s#%d", name, len(taken)+1)
}

// fallbackVoice speaks every request with a fallback provider's own voice
// ("" = the provider's default) and, when set, its own rate.
type fallbackVoice struct {
	pipeline.TTS
	voice string
	rate  int
}

func (v fallbackVoice) Synthesize(ctx context.Context, req pipeline.TTSRequest, sink func([]int16) error) error {
	req.Voice = v.voice
	if v.rate != 0 {
		req.Rate = v.rate
	}
	return v.TTS.Synthesize(ctx, req, sink)
}
