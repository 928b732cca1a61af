package agents

import (
	"slices"
	"time"

	"github.com/parley-voice/parley/pipeline"
)

// DefaultHistoryTokens is the default llm.history_tokens. A call of the
// default maximum length (15 minutes) is about 2,000 words a side, some 6,000
// tokens, so ordinary calls are never trimmed, while a long call or large tool
// results cannot grow the prompt, and with it the time to the first token and
// the risk of overflowing a small local model's context, without bound.
const DefaultHistoryTokens = 6000

var defaultBackchannels = []string{"uh-huh", "uh huh", "mm-hmm", "okay", "ok", "yeah", "right", "sure", "i see"}

// Default returns a config with every default set. It has no id and no flow, so
// it does not validate as it is.
func Default() *Config {
	return &Config{
		Language: "en-US",
		STT:      STTConfig{Provider: "pocketsphinx"},
		TTS:      TTSConfig{Provider: "espeak", Voice: "en-us", Rate: 175},
		LLM:      LLMConfig{Provider: ProviderFlow, HistoryTokens: DefaultHistoryTokens},
		Turn: TurnConfig{
			Endpointing:                  Duration(600 * time.Millisecond),
			MinInterruptDuration:         Duration(300 * time.Millisecond),
			Backchannels:                 slices.Clone(defaultBackchannels),
			BackchannelMaxWords:          2,
			FalseInterruptionTimeout:     Duration(time.Second),
			ResumeAfterFalseInterruption: true,
			AllowInterruptions:           true,
		},
		VAD: VADConfig{
			StartMargin:   12,
			StopMargin:    6,
			MinLevel:      -50,
			StartDuration: Duration(60 * time.Millisecond),
			StopDuration:  Duration(200 * time.Millisecond),
		},
		Budgets: BudgetConfig{
			Default: Duration(200 * time.Millisecond),
			OnExceeded: BudgetAction{
				Action:        BudgetLog,
				FillerPhrases: []string{"One moment.", "Let me check."},
				Stage:         pipeline.StageLLMFirstToken,
			},
		},
		Timeouts: TimeoutConfig{
			Silence:         Duration(8 * time.Second),
			SilencePrompt:   "Are you still there?",
			MaxReprompts:    2,
			GoodbyeMessage:  "Goodbye.",
			MaxCallDuration: Duration(15 * time.Minute),
			Watchdog:        Duration(10 * time.Second),
			ToolTimeout:     Duration(5 * time.Second),
		},
	}
}

// DefaultFlow returns a flow config with its defaults set and no nodes.
func DefaultFlow() *FlowConfig {
	return &FlowConfig{Fallback: "Sorry, I didn't catch that.", Threshold: 0.5}
}

// applyDefaults fills defaults that depend on other fields once a file has been
// decoded over Default().
func (c *Config) applyDefaults() {
	for i := range c.Tools {
		if c.Tools[i].As == "" {
			c.Tools[i].As = c.Tools[i].Name
		}
	}
}
