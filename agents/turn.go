package agents

// TurnConfig controls when the caller's turn ends, when caller speech interrupts
// the agent (barge-in), and which short acknowledgements do not.
type TurnConfig struct {
	// Endpointing is the trailing silence that ends the caller's turn, 100ms to 5s. Default 600ms.
	Endpointing Duration `yaml:"endpointing,omitempty" json:"endpointing"`
	// MinInterruptDuration is how long the caller must speak over the agent to interrupt it, 0 to 5s. Default 300ms.
	MinInterruptDuration Duration `yaml:"min_interrupt_duration,omitempty" json:"min_interrupt_duration"`
	// MinInterruptWords is how many recognised words an interruption needs besides its duration; 0 means duration only. Default 0.
	MinInterruptWords int `yaml:"min_interrupt_words,omitempty" json:"min_interrupt_words"`
	// Backchannels are acknowledgements ("uh-huh", "okay") that do not interrupt the agent.
	Backchannels []string `yaml:"backchannels" json:"backchannels"`
	// BackchannelMaxWords is the longest utterance, in words, that can count as a backchannel. Default 2.
	BackchannelMaxWords int `yaml:"backchannel_max_words,omitempty" json:"backchannel_max_words"`
	// FalseInterruptionTimeout is how long a barge-in may go without recognised words before the agent resumes, 100ms to 10s. Default 1s.
	FalseInterruptionTimeout Duration `yaml:"false_interruption_timeout,omitempty" json:"false_interruption_timeout"`
	// ResumeAfterFalseInterruption makes the agent resume speaking after a false interruption (noise, a cough). Default true.
	ResumeAfterFalseInterruption bool `yaml:"resume_after_false_interruption" json:"resume_after_false_interruption"`
	// InterruptionBackoff ignores barge-in for this long after the agent starts speaking, 0 to 10s. Default 0.
	InterruptionBackoff Duration `yaml:"interruption_backoff,omitempty" json:"interruption_backoff"`
	// AllowInterruptions lets the caller interrupt the agent. Default true.
	AllowInterruptions bool `yaml:"allow_interruptions" json:"allow_interruptions"`
}

// VADConfig tunes the energy-based voice activity detector. Speech starts when
// the level stays start_margin above the noise floor (and above min_level) for
// start_duration, and stops when it stays below stop_margin for stop_duration.
type VADConfig struct {
	// StartMargin is how far above the noise floor, in dB, speech must rise to start, 1 to 60. Default 12.
	StartMargin float64 `yaml:"start_margin,omitempty" json:"start_margin"`
	// StopMargin is the level above the noise floor, in dB, below which speech stops; at most start_margin. Default 6.
	StopMargin float64 `yaml:"stop_margin,omitempty" json:"stop_margin"`
	// MinLevel is the quietest level in dBFS that can count as speech, -100 to 0. Default -50.
	MinLevel float64 `yaml:"min_level,omitempty" json:"min_level"`
	// StartDuration is how long the level must stay up before speech starts, 20ms to 1s. Default 60ms.
	StartDuration Duration `yaml:"start_duration,omitempty" json:"start_duration"`
	// StopDuration is how long the level must stay down before speech stops, 20ms to 5s. Default 200ms.
	StopDuration Duration `yaml:"stop_duration,omitempty" json:"stop_duration"`
}

// TimeoutConfig bounds silence, tool runs and the call.
type TimeoutConfig struct {
	// Silence is how long the caller may stay silent before the agent prompts them, 1s to 10m. Default 8s.
	Silence Duration `yaml:"silence,omitempty" json:"silence"`
	// SilencePrompt is said after silence. Default "Are you still there?".
	SilencePrompt string `yaml:"silence_prompt,omitempty" json:"silence_prompt"`
	// MaxReprompts is how many silence prompts are said before the agent says goodbye and hangs up, 0 to 10. Default 2.
	MaxReprompts int `yaml:"max_reprompts,omitempty" json:"max_reprompts"`
	// GoodbyeMessage is said before hanging up after too much silence or at the call time limit. Default "Goodbye.".
	GoodbyeMessage string `yaml:"goodbye_message,omitempty" json:"goodbye_message"`
	// MaxCallDuration ends the call after this long, 10s to 24h. Default 15m.
	MaxCallDuration Duration `yaml:"max_call_duration,omitempty" json:"max_call_duration"`
	// Watchdog ends the call when it cannot make progress (a provider hangs) for this long, 1s to 10m. Default 10s.
	Watchdog Duration `yaml:"watchdog,omitempty" json:"watchdog"`
	// ToolTimeout is the default deadline of a tool run, 100ms to 5m. Default 5s.
	ToolTimeout Duration `yaml:"tool_timeout,omitempty" json:"tool_timeout"`
}
