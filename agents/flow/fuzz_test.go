package flow_test

import (
	"context"
	"testing"

	"github.com/parley-voice/parley/pipeline"
)

// FuzzSession says arbitrary words to the demo flow: replies may be fallbacks,
// but must never panic, and intents must carry a confidence in [0, 1].
func FuzzSession(f *testing.F) {
	for _, s := range []string{"book an appointment on monday", "ten in the morning", "yes", "goodbye", "", "4207 o'clock 10:30", "{{day}}"} {
		f.Add(s, s)
	}
	fl := loadFlow(f, "demo.yaml")
	f.Fuzz(func(t *testing.T, first, second string) {
		s := fl.NewSession(nil)
		var history []pipeline.Message
		for _, said := range []string{"", first, second, first} {
			if said != "" {
				history = append(history, pipeline.Message{Role: pipeline.RoleUser, Content: said})
			}
			err := s.Generate(context.Background(), &pipeline.LLMRequest{Messages: history}, func(ch pipeline.LLMChunk) {
				if ch.Intent != nil && (ch.Intent.Confidence < 0 || ch.Intent.Confidence > 1) {
					t.Fatalf("confidence %v for %q", ch.Intent.Confidence, said)
				}
				history = append(history, pipeline.Message{Role: pipeline.RoleAssistant, Content: ch.Text, ToolCalls: ch.ToolCalls})
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	})
}
