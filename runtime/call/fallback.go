package call

import (
	"context"

	"github.com/parley-voice/parley/pipeline/fallback"
	"github.com/parley-voice/parley/runtime/events"
)

// withFallbackReporter returns ctx carrying this call's fallback reporter. The
// agent's provider chains are shared by all its calls; the reporter on the
// context they are called with is how a switch reaches the call it happened in.
// It runs on the provider's goroutine, so it only posts to the mailbox.
func (c *Call) withFallbackReporter(ctx context.Context) context.Context {
	return fallback.WithReporter(ctx, func(s fallback.Switch) {
		c.mb.post(msg{kind: msgFallback, ext: &msgExt{fallback: s}})
	})
}

// onFallback publishes provider.fallback for a switch of one of the call's
// provider chains. A speech-to-text switch belongs to the caller's current
// turn; a reply generator or synthesiser switch to the reply being made.
func (c *Call) onFallback(s fallback.Switch) {
	turn := c.turns
	if r := c.reply; r != nil && s.Stage != "stt" {
		turn = r.turn
	}
	c.log.Warn("provider failed, moving to the next one", "stage", s.Stage, "from", s.From, "to", s.To, "err", s.Err)
	c.emit(events.ProviderFallback, map[string]any{
		"turn": turn, "stage": s.Stage, "from": s.From, "to": s.To, "error": errString(s.Err),
	})
}
