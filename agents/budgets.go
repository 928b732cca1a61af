package agents

import (
	"slices"
	"time"

	"github.com/parley-voice/parley/pipeline"
)

// Budget actions: what happens when a stage of a turn runs over its budget.
const (
	// BudgetNone does nothing beyond the turn.budget_exceeded event.
	BudgetNone = "none"
	// BudgetLog also logs a warning.
	BudgetLog = "log"
	// BudgetFiller says a filler phrase while the caller waits.
	BudgetFiller = "filler"
)

var budgetActions = []string{BudgetNone, BudgetLog, BudgetFiller}

// BudgetConfig holds the latency budget of every stage of a turn. Stage names are
// those of pipeline.Stages: end_of_turn, stt_final, llm_first_token,
// first_sentence, tts_first_audio, first_frame_out.
type BudgetConfig struct {
	// Default is the budget of every stage not listed in stages, 1ms to 30s. Default 200ms.
	Default Duration `yaml:"default,omitempty" json:"default"`
	// Stages overrides the budget per stage: end_of_turn, stt_final, llm_first_token, first_sentence, tts_first_audio, first_frame_out.
	Stages map[string]Duration `yaml:"stages,omitempty" json:"stages,omitempty"`
	// OnExceeded says what to do when a stage runs over its budget.
	OnExceeded BudgetAction `yaml:"on_exceeded,omitempty" json:"on_exceeded"`
}

// BudgetAction says what to do when a stage runs over its budget.
type BudgetAction struct {
	// Action is "none", "log" or "filler" (say a filler phrase while the caller waits). Default "log".
	Action string `yaml:"action,omitempty" json:"action"`
	// FillerPhrases are said, in turn, by the "filler" action.
	FillerPhrases []string `yaml:"filler_phrases,omitempty" json:"filler_phrases,omitempty"`
	// Stage is the stage whose budget triggers the filler. Default "llm_first_token".
	Stage string `yaml:"stage,omitempty" json:"stage"`
}

// Budget returns the budget of a stage: its own if set, else the default.
func (b BudgetConfig) Budget(stage string) time.Duration {
	if d, ok := b.Stages[stage]; ok {
		return d.Std()
	}
	return b.Default.Std()
}

func isStage(name string) bool { return slices.Contains(pipeline.Stages, name) }
