package agents

// Config is one agent: who it is, which providers it uses, how it takes turns,
// its latency budgets and timeouts, its tools, and (for the offline default) the
// conversation flow that replaces a language model.
type Config struct {
	// ID identifies the agent in URLs, events and logs: lowercase letters, digits, "_" and "-", starting with a letter or digit.
	ID string `yaml:"id" json:"id" jsonschema:"required"`
	// Name is the human-readable name of the agent.
	Name string `yaml:"name,omitempty" json:"name,omitempty"`
	// Description says what the agent is for.
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Language is the BCP 47 tag of the conversation language. Default "en-US".
	Language string `yaml:"language,omitempty" json:"language,omitempty"`
	// Greeting is spoken when the call starts. Only for language-model agents; a flow agent's start node speaks first. It may use {{variables}} like llm.system_prompt.
	Greeting string `yaml:"greeting,omitempty" json:"greeting,omitempty"`
	// Vars declares the per-call variables that llm.system_prompt, greeting and flow texts may use as {{name}}, with default values. The runtime sets them per call (caller details from a CRM); from, to, call_id and agent_id are built in.
	Vars map[string]string `yaml:"vars,omitempty" json:"vars,omitempty"`
	// STT selects the speech-to-text provider.
	STT STTConfig `yaml:"stt,omitempty" json:"stt"`
	// TTS selects the text-to-speech provider and voice.
	TTS TTSConfig `yaml:"tts,omitempty" json:"tts"`
	// LLM selects what generates replies: the deterministic flow engine or a language model.
	LLM LLMConfig `yaml:"llm,omitempty" json:"llm"`
	// Flow is the conversation graph run by the flow engine. Required when llm.provider is "flow".
	Flow *FlowConfig `yaml:"flow,omitempty" json:"flow,omitempty"`
	// Turn controls end of turn detection, barge-in and backchannels.
	Turn TurnConfig `yaml:"turn,omitempty" json:"turn"`
	// VAD tunes the voice activity detector that finds caller speech.
	VAD VADConfig `yaml:"vad,omitempty" json:"vad"`
	// Budgets are the per-stage latency budgets of a turn and what to do when one is exceeded.
	Budgets BudgetConfig `yaml:"budgets,omitempty" json:"budgets"`
	// Timeouts are the limits on silence, tool runs and the whole call.
	Timeouts TimeoutConfig `yaml:"timeouts,omitempty" json:"timeouts"`
	// Tools lists the tools the agent may call, by registered name.
	Tools []ToolRef `yaml:"tools,omitempty" json:"tools,omitempty"`
	// Webhooks are this agent's own webhook endpoints, in the endpoint format of docs/WEBHOOKS.md (id, url, secrets, events, …); they receive only this agent's events. The server checks them when it loads the agent, as does parley validate.
	Webhooks []map[string]any `yaml:"webhooks,omitempty" json:"webhooks,omitempty"`
	// CallStart is a webhook asked for per-call variables (a customer's name from a CRM) when a call starts, before the agent speaks; its answer's vars override the defaults in vars. If it fails or is slow the call goes on with the defaults. Format: docs/SERVER-DRIVEN.md.
	CallStart *CallStartConfig `yaml:"call_start,omitempty" json:"call_start,omitempty"`

	// src remembers where the config came from, for error positions.
	src *source
}

// STTConfig selects the speech-to-text provider.
type STTConfig struct {
	// Provider is the speech-to-text provider. Default "pocketsphinx".
	Provider string `yaml:"provider,omitempty" json:"provider"`
	// Language is the BCP 47 tag of the language the caller speaks, when it differs from the agent's language.
	Language string `yaml:"language,omitempty" json:"language,omitempty"`
	// Options are provider specific settings.
	Options map[string]any `yaml:"options,omitempty" json:"options,omitempty"`
	// Fallbacks are other speech-to-text providers, tried in order when the one before fails (an error or a dropped stream) during the call. See "Fallbacks" in docs/AGENTS.md.
	Fallbacks []STTFallback `yaml:"fallbacks,omitempty" json:"fallbacks,omitempty"`
}

// TTSConfig selects the text-to-speech provider and voice.
type TTSConfig struct {
	// Provider is the text-to-speech provider. Default "espeak".
	Provider string `yaml:"provider,omitempty" json:"provider"`
	// Voice is the provider's voice name. Default "en-us"; for espeak, the speaking language's voice when that is not English.
	Voice string `yaml:"voice,omitempty" json:"voice"`
	// Language is the BCP 47 tag of the language the agent speaks, when it differs from the agent's language.
	Language string `yaml:"language,omitempty" json:"language,omitempty"`
	// Rate is the speaking speed in words per minute, 80 to 450. Default 175.
	Rate int `yaml:"rate,omitempty" json:"rate"`
	// Options are provider specific settings.
	Options map[string]any `yaml:"options,omitempty" json:"options,omitempty"`
	// Fallbacks are other text-to-speech providers, tried in order when the one before fails or misses its first-audio deadline before any of a sentence's audio was played. See "Fallbacks" in docs/AGENTS.md.
	Fallbacks []TTSFallback `yaml:"fallbacks,omitempty" json:"fallbacks,omitempty"`
	// FallbackAfter is how long each provider but the last may take to send a sentence's first audio before the next one is tried, 1ms to 30s. Default budgets' tts_first_audio.
	FallbackAfter Duration `yaml:"fallback_after,omitempty" json:"fallback_after,omitempty"`
}

// LLMConfig selects what generates the agent's replies.
type LLMConfig struct {
	// Provider generates replies: "flow" (the deterministic flow engine, no API key needed), "fake" (tests), "openai" (any OpenAI-compatible API) or "webhook" (the customer's own backend, options url and secret; docs/SERVER-DRIVEN.md). Default "flow".
	Provider string `yaml:"provider,omitempty" json:"provider"`
	// Model is the model name; required for "openai".
	Model string `yaml:"model,omitempty" json:"model,omitempty"`
	// BaseURL is the API root of an OpenAI-compatible server, e.g. http://localhost:11434/v1 for Ollama.
	BaseURL string `yaml:"base_url,omitempty" json:"base_url,omitempty"`
	// APIKey authenticates with the provider. Use ${ENV_VAR} instead of writing the key in the file.
	APIKey string `yaml:"api_key,omitempty" json:"-"`
	// SystemPrompt instructs the language model. It may use {{variables}}: declared vars and the built-ins from, to, call_id and agent_id, filled in for each call.
	SystemPrompt string `yaml:"system_prompt,omitempty" json:"system_prompt,omitempty"`
	// HistoryTokens bounds the conversation sent to the model, in estimated tokens (about 4 bytes each): the oldest turns are left out of the request beyond it (the call's transcript keeps them). 0 sends everything. Default 6000.
	HistoryTokens int `yaml:"history_tokens,omitempty" json:"history_tokens"`
	// Temperature is the sampling temperature, 0 to 2; unset means the provider default.
	Temperature *float64 `yaml:"temperature,omitempty" json:"temperature,omitempty"`
	// Options are provider specific settings.
	Options map[string]any `yaml:"options,omitempty" json:"options,omitempty"`
	// Fallbacks are other reply generators, tried in order when the one before fails or misses its first-token deadline before any of the reply was spoken. The flow engine cannot be one. See "Fallbacks" in docs/AGENTS.md.
	Fallbacks []LLMFallback `yaml:"fallbacks,omitempty" json:"fallbacks,omitempty"`
	// FallbackAfter is how long each provider but the last may take to send its first token before the next one is tried, 1ms to 30s. Default budgets' llm_first_token.
	FallbackAfter Duration `yaml:"fallback_after,omitempty" json:"fallback_after,omitempty"`
}

// STTFallback is a speech-to-text provider to move to when the one before it fails.
type STTFallback struct {
	// Provider is the speech-to-text provider, as in stt.provider.
	Provider string `yaml:"provider" json:"provider" jsonschema:"required"`
	// Options are provider specific settings, as in stt.options.
	Options map[string]any `yaml:"options,omitempty" json:"options,omitempty"`
}

// TTSFallback is a text-to-speech provider to move to when the one before it fails.
type TTSFallback struct {
	// Provider is the text-to-speech provider, as in tts.provider.
	Provider string `yaml:"provider" json:"provider" jsonschema:"required"`
	// Voice is this provider's voice name; empty means the provider's default voice (tts.voice names a voice of the first provider only).
	Voice string `yaml:"voice,omitempty" json:"voice,omitempty"`
	// Rate is the speaking speed in words per minute, 80 to 450; unset means tts.rate.
	Rate int `yaml:"rate,omitempty" json:"rate,omitempty"`
	// Options are provider specific settings, as in tts.options.
	Options map[string]any `yaml:"options,omitempty" json:"options,omitempty"`
}

// LLMFallback is a language model to move to when the one before it fails. It is given the same conversation, system prompt and tools.
type LLMFallback struct {
	// Provider generates replies, as in llm.provider; "flow" is not allowed.
	Provider string `yaml:"provider" json:"provider" jsonschema:"required"`
	// Model is the model name; required for "openai".
	Model string `yaml:"model,omitempty" json:"model,omitempty"`
	// BaseURL is the API root of an OpenAI-compatible server.
	BaseURL string `yaml:"base_url,omitempty" json:"base_url,omitempty"`
	// APIKey authenticates with the provider. Use ${ENV_VAR} instead of writing the key in the file.
	APIKey string `yaml:"api_key,omitempty" json:"-"`
	// Temperature is the sampling temperature, 0 to 2; unset means the provider default.
	Temperature *float64 `yaml:"temperature,omitempty" json:"temperature,omitempty"`
	// Options are provider specific settings, as in llm.options.
	Options map[string]any `yaml:"options,omitempty" json:"options,omitempty"`
}

// CallStartConfig is the call-start webhook: a signed POST (Standard Webhooks) whose JSON answer sets per-call variables.
type CallStartConfig struct {
	// URL receives the call.start request: https, or http to a loopback host with allow_insecure_loopback.
	URL string `yaml:"url" json:"url" jsonschema:"required"`
	// Secret is the whsec_… Standard Webhooks secret that signs the request. Use ${ENV_VAR} instead of writing it in the file.
	Secret string `yaml:"secret" json:"-" jsonschema:"required"`
	// Timeout bounds the request, 100ms to 10s; the caller hears nothing meanwhile. Default 1.5s.
	Timeout Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	// AllowInsecureLoopback allows http:// and connections to loopback addresses, for a backend on the same host.
	AllowInsecureLoopback bool `yaml:"allow_insecure_loopback,omitempty" json:"allow_insecure_loopback,omitempty"`
}

// ToolRef is one tool the agent uses.
type ToolRef struct {
	// Name is the registered name of the tool or tool factory, e.g. end_call or book_appointment.
	Name string `yaml:"name" json:"name" jsonschema:"required"`
	// As is the name the agent sees and calls; default the tool's name. Lets one factory be used several times.
	As string `yaml:"as,omitempty" json:"as,omitempty"`
	// Description replaces the tool's own description.
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Options are the tool's settings; their meaning is up to the tool.
	Options map[string]any `yaml:"options,omitempty" json:"options,omitempty"`
	// Timeout overrides timeouts.tool_timeout for this tool, e.g. "3s".
	Timeout Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
}

// Source returns the file name the config was parsed from, or "" for a config
// built in code.
func (c *Config) Source() string {
	if c == nil || c.src == nil {
		return ""
	}
	return c.src.name
}
