package agents

import (
	"strings"
	"testing"
	"time"
)

func ms(n int) Duration { return Duration(time.Duration(n) * time.Millisecond) }

func TestValidateConfigRules(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *Config)
		want   string // path and message, as the error shows them
	}{
		{"id required", func(c *Config) { c.ID = "" }, "id: is required"},
		{"id pattern", func(c *Config) { c.ID = "Demo" }, `id: "Demo" is not a valid id`},
		{"id leading dash", func(c *Config) { c.ID = "-x" }, "is not a valid id"},
		{"id too long", func(c *Config) { c.ID = strings.Repeat("a", 65) }, "at most 64 characters"},
		{"language", func(c *Config) { c.Language = "english" }, `language: "english" is not a language tag`},
		{"stt provider unknown", func(c *Config) { c.STT.Provider = "whisperx" }, `stt.provider: unknown provider "whisperx" (one of pocketsphinx, fake, deepgram, openai)`},
		{"stt provider typo", func(c *Config) { c.STT.Provider = "pocketsfinx" }, `(did you mean "pocketsphinx"?)`},
		{"stt provider empty", func(c *Config) { c.STT.Provider = "" }, "stt.provider: is required (one of pocketsphinx, fake, deepgram, openai)"},
		{"tts provider", func(c *Config) { c.TTS.Provider = "polly" }, "tts.provider: unknown provider"},
		{"tts voice", func(c *Config) { c.TTS.Voice = " " }, "tts.voice: is required"},
		{"tts rate low", func(c *Config) { c.TTS.Rate = 79 }, "tts.rate: must be between 80 and 450"},
		{"tts rate high", func(c *Config) { c.TTS.Rate = 451 }, "tts.rate: must be between 80 and 450"},
		{"llm provider", func(c *Config) { c.LLM.Provider = "gpt" }, "llm.provider: unknown provider"},
		{"flow required", func(c *Config) { c.Flow = nil }, `flow: is required when llm.provider is "flow"`},
		{"openai model", func(c *Config) { c.LLM.Provider = "openai" }, `llm.model: is required for provider "openai"`},
		{"base url", func(c *Config) { c.LLM.BaseURL = "localhost:11434" }, "llm.base_url: must be an http:// or https:// URL"},
		{"temperature", func(c *Config) { v := 2.5; c.LLM.Temperature = &v }, "llm.temperature: must be between 0 and 2"},
		{"endpointing low", func(c *Config) { c.Turn.Endpointing = ms(99) }, "turn.endpointing: must be between 100ms and 5s"},
		{"endpointing high", func(c *Config) { c.Turn.Endpointing = ms(5001) }, "turn.endpointing: must be between 100ms and 5s"},
		{"min interrupt duration", func(c *Config) { c.Turn.MinInterruptDuration = ms(6000) }, "turn.min_interrupt_duration: must be between 0s and 5s"},
		{"min interrupt words", func(c *Config) { c.Turn.MinInterruptWords = -1 }, "turn.min_interrupt_words: must be between 0 and 10"},
		{"backchannel max words", func(c *Config) { c.Turn.BackchannelMaxWords = 11 }, "turn.backchannel_max_words: must be between 0 and 10"},
		{"empty backchannel", func(c *Config) { c.Turn.Backchannels = []string{"ok", "..."} }, "turn.backchannels[1]: must hold at least one word"},
		{"long backchannel", func(c *Config) { c.Turn.Backchannels = []string{"i hear you"} }, "turn.backchannels[0]: has 3 words but turn.backchannel_max_words is 2"},
		{"false interruption timeout", func(c *Config) { c.Turn.FalseInterruptionTimeout = 0 }, "turn.false_interruption_timeout: must be between 100ms and 10s"},
		{"interruption backoff", func(c *Config) { c.Turn.InterruptionBackoff = ms(10001) }, "turn.interruption_backoff: must be between 0s and 10s"},
		{"vad start margin", func(c *Config) { c.VAD.StartMargin = 0 }, "vad.start_margin: must be between 1 and 60"},
		{"vad stop margin range", func(c *Config) { c.VAD.StopMargin = -1 }, "vad.stop_margin: must be between 0 and 60"},
		{"vad stop above start", func(c *Config) { c.VAD.StopMargin = 13 }, "vad.stop_margin: must not be above vad.start_margin (12 dB)"},
		{"vad min level", func(c *Config) { c.VAD.MinLevel = 3 }, "vad.min_level: must be between -100 and 0"},
		{"vad start duration", func(c *Config) { c.VAD.StartDuration = ms(10) }, "vad.start_duration: must be between 20ms and 1s"},
		{"vad stop duration", func(c *Config) { c.VAD.StopDuration = ms(6000) }, "vad.stop_duration: must be between 20ms and 5s"},
		{"budget default", func(c *Config) { c.Budgets.Default = 0 }, "budgets.default: must be between 1ms and 30s"},
		{"budget stage name", func(c *Config) { c.Budgets.Stages = map[string]Duration{"llm_first_tokn": ms(5)} }, `budgets.stages.llm_first_tokn: unknown stage "llm_first_tokn" (did you mean "llm_first_token"?)`},
		{"budget stage unknown", func(c *Config) { c.Budgets.Stages = map[string]Duration{"lunch": ms(5)} }, `unknown stage "lunch" (stages: end_of_turn, stt_final`},
		{"budget stage value", func(c *Config) { c.Budgets.Stages = map[string]Duration{"stt_final": ms(31000)} }, "budgets.stages.stt_final: must be between 1ms and 30s"},
		{"budget action", func(c *Config) { c.Budgets.OnExceeded.Action = "panic" }, "budgets.on_exceeded.action: must be one of none, log, filler"},
		{"budget action stage", func(c *Config) { c.Budgets.OnExceeded.Stage = "x" }, "budgets.on_exceeded.stage: must be one of end_of_turn"},
		{"filler without phrases", func(c *Config) { c.Budgets.OnExceeded = BudgetAction{Action: "filler", Stage: "llm_first_token"} }, `budgets.on_exceeded.filler_phrases: are required when the action is "filler"`},
		{"empty filler phrase", func(c *Config) { c.Budgets.OnExceeded.FillerPhrases = []string{""} }, "budgets.on_exceeded.filler_phrases[0]: must not be empty"},
		{"silence", func(c *Config) { c.Timeouts.Silence = ms(500) }, "timeouts.silence: must be between 1s and 10m"},
		{"max reprompts", func(c *Config) { c.Timeouts.MaxReprompts = 11 }, "timeouts.max_reprompts: must be between 0 and 10"},
		{"silence prompt", func(c *Config) { c.Timeouts.SilencePrompt = "" }, "timeouts.silence_prompt: is required when timeouts.max_reprompts is above 0"},
		{"max call duration", func(c *Config) { c.Timeouts.MaxCallDuration = Duration(25 * time.Hour) }, "timeouts.max_call_duration: must be between 10s and 24h"},
		{"watchdog", func(c *Config) { c.Timeouts.Watchdog = 0 }, "timeouts.watchdog: must be between 1s and 10m"},
		{"tool timeout", func(c *Config) { c.Timeouts.ToolTimeout = ms(50) }, "timeouts.tool_timeout: must be between 100ms and 5m"},
		{"tool name required", func(c *Config) { c.Tools = append(c.Tools, ToolRef{}) }, "tools[3].name: is required"},
		{"tool name invalid", func(c *Config) { c.Tools = append(c.Tools, ToolRef{Name: "a b"}) }, `tools[3].name: "a b" is not a valid tool name`},
		{"tool as invalid", func(c *Config) { c.Tools[2].As = "look up" }, `tools[2].as: "look up" is not a valid tool name`},
		{"tool duplicate", func(c *Config) { c.Tools = append(c.Tools, ToolRef{Name: "lookup"}) }, `tools[3]: the agent already has a tool called "lookup"`},
		{"tool duplicate as", func(c *Config) { c.Tools = append(c.Tools, ToolRef{Name: "http", As: "lookup"}) }, `tools[3]: the agent already has a tool called "lookup"`},
		{"tool timeout range", func(c *Config) { c.Tools[2].Timeout = ms(10) }, "tools[2].timeout: must be between 100ms and 5m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, minimalYAML)
			tt.mutate(c)
			wantErr(t, c.Validate(), tt.want)
		})
	}
}

func TestValidateAllowsWhatItShould(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *Config)
	}{
		{"openai with model and flow kept for switching", func(c *Config) { c.LLM.Provider = "openai"; c.LLM.Model = "gpt-4o-mini" }},
		{"openai without flow", func(c *Config) { c.LLM.Provider = "openai"; c.LLM.Model = "m"; c.Flow = nil; c.Greeting = "Hi" }},
		{"base url https", func(c *Config) { c.LLM.BaseURL = "https://api.example.com/v1" }},
		{"temperature zero", func(c *Config) { v := 0.0; c.LLM.Temperature = &v }},
		{"no backchannels", func(c *Config) { c.Turn.Backchannels = nil }},
		{"no reprompts without prompt", func(c *Config) { c.Timeouts.MaxReprompts = 0; c.Timeouts.SilencePrompt = "" }},
		{"tool used twice under two names", func(c *Config) { c.Tools = append(c.Tools, ToolRef{Name: "lookup", As: "lookup2"}) }},
		{"filler with phrases", func(c *Config) { c.Budgets.OnExceeded.Action = "filler" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, minimalYAML)
			tt.mutate(c)
			if err := c.Validate(); err != nil {
				t.Errorf("unexpected error: %v", err)
			}
		})
	}
}

func TestValidateCollectsEverything(t *testing.T) {
	c := Default()
	err := c.Validate()
	wantErr(t, err, "id: is required", "flow: is required")
	c.TTS.Rate = 1
	c.Turn.Endpointing = 0
	err = c.Validate()
	wantErr(t, err, "id: is required", "flow: is required", "tts.rate", "turn.endpointing")
	if strings.Contains(err.Error(), ".yaml") {
		t.Errorf("a config built in code has no file, got: %v", err)
	}
}

func TestValidatePointsAtLines(t *testing.T) {
	_, err := Parse("agent.yaml", []byte(minimalYAML+"turn:\n  endpointing: 50ms\n"), noEnv)
	wantErr(t, err, "agent.yaml:18:16: turn.endpointing: must be between 100ms and 5s")
	// A missing field points at its nearest written ancestor.
	_, err = Parse("agent.yaml", []byte(strings.Replace(minimalYAML, "id: test\n", "", 1)), noEnv)
	wantErr(t, err, "agent.yaml:1:1: id: is required")
}
