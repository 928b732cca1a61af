package agents

import (
	"strings"
	"testing"
	"time"
)

const fallbacksYAML = `id: test
stt:
  provider: deepgram
  options: {api_key: dg}
  fallbacks:
    - provider: openai
      options: {model: whisper-1}
    - provider: pocketsphinx
tts:
  provider: elevenlabs
  voice: Rachel
  fallback_after: 800ms
  fallbacks:
    - {provider: openai, voice: alloy, rate: 200}
    - {provider: espeak}
llm:
  provider: openai
  model: gpt-4o-mini
  fallbacks:
    - provider: openai
      model: llama-3.1-8b-instant
      base_url: https://api.groq.com/openai/v1
      temperature: 0.3
      options: {max_tokens: 200}
    - {provider: fake}
`

func TestFallbacksParse(t *testing.T) {
	c := mustParse(t, fallbacksYAML)
	if len(c.STT.Fallbacks) != 2 || c.STT.Fallbacks[1].Provider != "pocketsphinx" {
		t.Errorf("stt.fallbacks %+v", c.STT.Fallbacks)
	}
	if f := c.TTS.Fallbacks; len(f) != 2 || f[0].Voice != "alloy" || f[0].Rate != 200 || f[1].Voice != "" {
		t.Errorf("tts.fallbacks %+v", f)
	}
	if f := c.LLM.Fallbacks; len(f) != 2 || f[0].Model != "llama-3.1-8b-instant" || *f[0].Temperature != 0.3 || f[0].Options["max_tokens"] != 200 {
		t.Errorf("llm.fallbacks %+v", f)
	}
	if d := c.TTSFallbackAfter(); d != 800*time.Millisecond {
		t.Errorf("tts fallback after %v, want tts.fallback_after", d)
	}
	if d := c.LLMFallbackAfter(); d != 200*time.Millisecond {
		t.Errorf("llm fallback after %v, want the default budget", d)
	}
	c.Budgets.Stages = map[string]Duration{"llm_first_token": ms(1500)}
	if d := c.LLMFallbackAfter(); d != 1500*time.Millisecond {
		t.Errorf("llm fallback after %v, want the llm_first_token budget", d)
	}
}

func TestFallbacksValidate(t *testing.T) {
	for _, tc := range []struct{ from, to, want string }{
		{"- provider: pocketsphinx", "- provider: pocketsfinx", `stt.fallbacks[1].provider: unknown provider "pocketsfinx" (did you mean "pocketsphinx"?)`},
		{"{provider: espeak}", "{provider: polly}", "tts.fallbacks[1].provider: unknown provider"},
		{"{provider: espeak}", "{voice: x}", "tts.fallbacks[1].provider: is required"},
		{"rate: 200", "rate: 20", "tts.fallbacks[0].rate: must be between 80 and 450"},
		{"fallback_after: 800ms", "fallback_after: 31s", "tts.fallback_after: must be between 1ms and 30s"},
		{"{provider: fake}", "{provider: flow}", "llm.fallbacks[1].provider: the flow engine cannot be a fallback"},
		{"{provider: fake}", "{provider: antropic}", "llm.fallbacks[1].provider: unknown provider"},
		{"      model: llama-3.1-8b-instant\n", "", `llm.fallbacks[0].model: is required for provider "openai"`},
		{"https://api.groq.com", "api.groq.com", "llm.fallbacks[0].base_url: must be an http:// or https:// URL"},
		{"temperature: 0.3", "temperature: 3", "llm.fallbacks[0].temperature: must be between 0 and 2"},
		{"  model: gpt-4o-mini\n", "  model: gpt-4o-mini\n  fallback_after: 45s\n", "llm.fallback_after: must be between 1ms and 30s"},
		{"voice: alloy,", "voice: alloy, speed: 2,", `unknown field "speed" in tts.fallbacks[0]`},
	} {
		bad := strings.Replace(fallbacksYAML, tc.from, tc.to, 1)
		if bad == fallbacksYAML {
			t.Fatalf("%q not found in the test config", tc.from)
		}
		_, err := Parse("test.yaml", []byte(bad), noEnv)
		wantErr(t, err, tc.want)
	}
}
