package agents

import (
	"math"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/parley-voice/parley/pipeline"
)

// fallbackLLMProviders are the llm.provider values a fallback may use: every
// one but the flow engine.
func fallbackLLMProviders() []string {
	return slices.DeleteFunc(slices.Clone(llmProviders), func(p string) bool { return p == ProviderFlow })
}

// validateFallbacks checks stt.fallbacks, tts.fallbacks and llm.fallbacks and
// their fallback_after. A flow agent's llm.fallbacks are checked too, though
// the flow engine never fails over (see validateLLM on switching providers).
func (c *Config) validateFallbacks(p *problems) {
	show := c.src.show
	for i, f := range c.STT.Fallbacks {
		checkProvider(p, indexPath("stt.fallbacks", i)+".provider", f.Provider, sttProviders, show)
	}
	for i, f := range c.TTS.Fallbacks {
		path := indexPath("tts.fallbacks", i)
		checkProvider(p, path+".provider", f.Provider, ttsProviders, show)
		if f.Rate != 0 {
			checkIntRange(p, path+".rate", f.Rate, 80, 450)
		}
	}
	if c.TTS.FallbackAfter != 0 {
		checkDuration(p, "tts.fallback_after", c.TTS.FallbackAfter, time.Millisecond, 30*time.Second)
	}
	for i, f := range c.LLM.Fallbacks {
		path := indexPath("llm.fallbacks", i)
		if f.Provider == ProviderFlow {
			p.addf(path+".provider", "the flow engine cannot be a fallback: it follows its own conversation graph from its start node and cannot take over a conversation a model has been holding; list model providers (%s)",
				strings.Join(fallbackLLMProviders(), ", "))
		} else {
			checkProvider(p, path+".provider", f.Provider, fallbackLLMProviders(), show)
		}
		if f.Provider == "openai" && strings.TrimSpace(f.Model) == "" {
			p.addf(path+".model", "is required for provider \"openai\"")
		}
		if f.BaseURL != "" {
			u, err := url.Parse(f.BaseURL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				p.addf(path+".base_url", "must be an http:// or https:// URL")
			}
		}
		if t := f.Temperature; t != nil && (math.IsNaN(*t) || *t < 0 || *t > 2) {
			p.addf(path+".temperature", "must be between 0 and 2")
		}
	}
	if c.LLM.FallbackAfter != 0 {
		checkDuration(p, "llm.fallback_after", c.LLM.FallbackAfter, time.Millisecond, 30*time.Second)
	}
}

// LLMFallbackAfter is how long each provider of the llm chain but the last may
// take to send its first token: llm.fallback_after, else the llm_first_token budget.
func (c *Config) LLMFallbackAfter() time.Duration {
	if d := c.LLM.FallbackAfter.Std(); d > 0 {
		return d
	}
	return c.Budgets.Budget(pipeline.StageLLMFirstToken)
}

// TTSFallbackAfter is how long each provider of the tts chain but the last may
// take to send a sentence's first audio: tts.fallback_after, else the
// tts_first_audio budget.
func (c *Config) TTSFallbackAfter() time.Duration {
	if d := c.TTS.FallbackAfter.Std(); d > 0 {
		return d
	}
	return c.Budgets.Budget(pipeline.StageTTSFirstAudio)
}
