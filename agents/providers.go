package agents

import "slices"

// The provider names a config may use. Adding a provider means adding its name
// here (and its implementation under pipeline/).
var (
	sttProviders = []string{"pocketsphinx", "fake", "deepgram", "openai"}
	ttsProviders = []string{"espeak", "fake", "openai", "elevenlabs", "cartesia"}
	// openai covers every OpenAI-compatible server (OpenAI, Groq, Ollama, vLLM,
	// llama.cpp); webhook is the customer's own backend (docs/SERVER-DRIVEN.md).
	llmProviders = []string{ProviderFlow, "fake", "openai", ProviderWebhook}
)

// ProviderFlow is the llm.provider that runs the deterministic flow engine.
const ProviderFlow = "flow"

// ProviderWebhook is the llm.provider that asks the customer's backend for each
// reply over signed HTTP (docs/SERVER-DRIVEN.md).
const ProviderWebhook = "webhook"

// STTProviders lists the speech-to-text providers a config may name.
func STTProviders() []string { return slices.Clone(sttProviders) }

// TTSProviders lists the text-to-speech providers a config may name.
func TTSProviders() []string { return slices.Clone(ttsProviders) }

// LLMProviders lists the reply generators a config may name.
func LLMProviders() []string { return slices.Clone(llmProviders) }
