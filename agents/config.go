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
	// Greeting is spoken when the call starts. Only for language-model agents; a flow agent's start node speaks first.
	Greeting string `yaml:"greeting,omitempty" json:"greeting,omitempty"`
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

	// src remembers where the config came from, for error positions.
	src *source
}

// STTConfig selects the speech-to-text provider.
type STTConfig struct {
	// Provider is the speech-to-text provider. Default "pocketsphinx".
	Provider string `yaml:"provider,omitempty" json:"provider"`
	// Options are provider specific settings.
	Options map[string]any `yaml:"options,omitempty" json:"options,omitempty"`
}

// TTSConfig selects the text-to-speech provider and voice.
type TTSConfig struct {
	// Provider is the text-to-speech provider. Default "espeak".
	Provider string `yaml:"provider,omitempty" json:"provider"`
	// Voice is the provider's voice name. Default "en-us".
	Voice string `yaml:"voice,omitempty" json:"voice"`
	// Rate is the speaking speed in words per minute, 80 to 450. Default 175.
	Rate int `yaml:"rate,omitempty" json:"rate"`
	// Options are provider specific settings.
	Options map[string]any `yaml:"options,omitempty" json:"options,omitempty"`
}

// LLMConfig selects what generates the agent's replies.
type LLMConfig struct {
	// Provider generates replies: "flow" (the deterministic flow engine, no API key needed), "fake" (tests) or "openai" (any OpenAI-compatible API). Default "flow".
	Provider string `yaml:"provider,omitempty" json:"provider"`
	// Model is the model name; required for "openai".
	Model string `yaml:"model,omitempty" json:"model,omitempty"`
	// BaseURL is the API root of an OpenAI-compatible server, e.g. http://localhost:11434/v1 for Ollama.
	BaseURL string `yaml:"base_url,omitempty" json:"base_url,omitempty"`
	// APIKey authenticates with the provider. Use ${ENV_VAR} instead of writing the key in the file.
	APIKey string `yaml:"api_key,omitempty" json:"-"`
	// SystemPrompt instructs the language model.
	SystemPrompt string `yaml:"system_prompt,omitempty" json:"system_prompt,omitempty"`
	// Temperature is the sampling temperature, 0 to 2; unset means the provider default.
	Temperature *float64 `yaml:"temperature,omitempty" json:"temperature,omitempty"`
	// Options are provider specific settings.
	Options map[string]any `yaml:"options,omitempty" json:"options,omitempty"`
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
