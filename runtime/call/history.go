package call

import (
	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/pipeline"
)

// requestHistory returns the conversation for the next LLM request: the
// history, without its oldest turns when it is over llm.history_tokens. The
// call keeps the whole history (for the transcript); the request gets its own
// copy, as the actor edits history while the request is in flight (barge-in
// truncation). The flow engine gets everything: it has no context window, and
// it tells one caller turn from the next by the history's length.
func (c *Call) requestHistory() []pipeline.Message {
	msgs := c.history
	if c.cfg.LLM.Provider != agents.ProviderFlow {
		msgs = pipeline.TrimHistory(msgs, c.cfg.LLM.HistoryTokens, pipeline.EstimateTokens)
	}
	return append([]pipeline.Message(nil), msgs...)
}
