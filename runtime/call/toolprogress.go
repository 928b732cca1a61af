package call

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/parley-voice/parley/pipeline"
	"github.com/parley-voice/parley/plugins"
	"github.com/parley-voice/parley/runtime/events"
)

const (
	// progressInterval spaces one tool call's progress reports: at most five
	// tool.progress events a second, so a chatty tool cannot flood the event
	// bus and the webhook queue behind it.
	progressInterval = 200 * time.Millisecond
	// progressSayGap is the least time between two spoken progress phrases of
	// one reply, so the agent does not keep talking while it waits.
	progressSayGap = 4 * time.Second
)

// toolRun is one running tool call, shared by the goroutine that runs it and
// the actor.
type toolRun struct {
	call pipeline.ToolCall
	// finished is set once the tool has returned (or was given up on), before
	// its result is posted: its progress phrases are no longer spoken.
	finished atomic.Bool
}

// toolProgress is the payload of a msgToolProgress message.
type toolProgress struct {
	run *toolRun
	p   plugins.Progress
}

// toolContext prepares the context of one tool run: it carries the tool
// call's identity (plugins.CallInfo, plugins.IdempotencyKey) and a progress
// reporter that posts throttled reports to the mailbox. finish must be called
// once the tool has returned, before its result is posted: it forwards the
// last held report and stops any later one.
func (c *Call) toolContext(r *reply, tc pipeline.ToolCall) (ctx context.Context, finish func()) {
	run := &toolRun{call: tc}
	gen := r.gen
	th := plugins.NewProgressThrottle(progressInterval, func(p plugins.Progress) {
		c.mb.post(msg{kind: msgToolProgress, gen: gen, ext: &msgExt{progress: toolProgress{run: run, p: p}}})
	})
	ctx = plugins.WithCallInfo(r.ctx, plugins.ToolCallInfo{
		CallID: c.id, AgentID: c.cfg.ID, Turn: r.turn, Round: r.round, ToolCallID: tc.ID, Tool: tc.Name,
	})
	ctx = plugins.WithProgress(ctx, th.Report)
	return ctx, func() {
		run.finished.Store(true)
		th.Stop()
	}
}

// onToolProgress publishes a tool's progress report and speaks its phrase if
// the moment is right. Reports of a cancelled reply are ignored; the others
// count as the reply's progress for the watchdog, like any message of it.
func (c *Call) onToolProgress(gen uint64, tp toolProgress) {
	r := c.live(gen)
	if r == nil {
		return
	}
	spoken := false
	if tp.p.Say != "" {
		spoken = c.maySayProgress(r, tp.run)
		if spoken {
			r.progressSaidAt = c.now()
			c.sendSentence(r, tp.p.Say, true)
		}
	}
	p := map[string]any{"turn": r.turn, "tool_call_id": tp.run.call.ID, "name": tp.run.call.Name, "message": tp.p.Message}
	if tp.p.Fraction > 0 {
		p["fraction"] = tp.p.Fraction
	}
	if tp.p.Say != "" {
		p["spoken"] = spoken
	}
	c.emit(events.ToolProgress, p)
}

// maySayProgress tells whether a tool's progress phrase may be spoken now:
// while the tool still runs, when neither the agent nor the caller is talking,
// and not within progressSayGap of the reply's last progress phrase.
func (c *Call) maySayProgress(r *reply, run *toolRun) bool {
	switch {
	case run.finished.Load() || r.toolsOut == 0:
		return false
	case r.ttsOpen > 0 || c.player.Playing() || !r.bargeAt.IsZero():
		c.log.Debug("progress phrase not spoken: the agent is speaking", "tool", run.call.Name)
		return false
	case c.vad.Speaking() || c.turn.capturing:
		c.log.Debug("progress phrase not spoken: the caller is speaking", "tool", run.call.Name)
		return false
	case !r.progressSaidAt.IsZero() && c.now().Sub(r.progressSaidAt) < progressSayGap:
		c.log.Debug("progress phrase not spoken: one was spoken recently", "tool", run.call.Name)
		return false
	}
	return true
}
