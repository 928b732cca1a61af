package call

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/parley-voice/parley/pipeline"
	"github.com/parley-voice/parley/plugins"
	"github.com/parley-voice/parley/runtime/events"
)

// reply is one generation: the agent's answer to one caller turn (or the greeting,
// a re-prompt, a goodbye). Its gen id tags every message its goroutines send, so
// anything from a cancelled reply is recognised and ignored.
type reply struct {
	gen      uint64
	turn     int
	ctx      context.Context
	cancel   context.CancelFunc
	greeting bool
	// timed replies answer a caller turn: they carry its timeline, budgets and
	// turn.completed. Greetings, re-prompts and goodbyes are not timed.
	timed bool
	// uninterruptible replies (the final goodbye) ignore barge-in.
	uninterruptible bool

	chunker   pipeline.Chunker
	roundText strings.Builder
	sentences []*sentence
	ttsOpen   int

	llmRunning bool
	llmDone    bool
	round      int
	toolCalls  []pipeline.ToolCall
	toolsOut   int
	toolMsgs   []pipeline.Message
	usage      pipeline.Usage

	// action to take once the reply has been spoken.
	action       plugins.Action
	actionReason string
	transferTo   string

	audioStarted bool
	// playedSamples counts the samples of this reply's segments the player
	// has finished writing (SegmentDone); playerCleared is set when a Clear
	// dropped some of them, after which the count cannot catch up.
	playedSamples int
	playerCleared bool
	lastProgress  time.Time
	bargeAt       time.Time // non-zero while a barge-in is being judged (audio paused)
	bargeWords    bool
	fillerSaid    bool
	budgetTold    map[string]bool
	tl            pipeline.Timeline

	// progressSaidAt is when a tool's progress phrase was last spoken
	// (toolprogress.go).
	progressSaidAt time.Time

	// span is the reply's "turn" span, nil when not traced or ended
	// (trace.go); traceParent is its W3C traceparent, for events.
	span        trace.Span
	traceParent string
}

type sentence struct {
	sid     uint64
	text    string
	msgIdx  int // index of the assistant message in history, -1 until appended
	done    bool
	samples int
	filler  bool
}

type replyOpts struct {
	greeting        bool
	userTurn        bool
	script          string // speak this text instead of asking the LLM
	action          plugins.Action
	actionReason    string
	uninterruptible bool
}

// startReply begins a new generation. Any previous reply must be finished or cancelled.
func (c *Call) startReply(o replyOpts) {
	c.gen++
	r := &reply{gen: c.gen, turn: c.turns, greeting: o.greeting, uninterruptible: o.uninterruptible,
		action: o.action, actionReason: o.actionReason, lastProgress: c.now(), budgetTold: map[string]bool{}}
	r.ctx, r.cancel = context.WithCancel(c.ctx)
	r.chunker.MinChars = 8
	if o.userTurn {
		r.timed = true
		r.tl = c.turnTL
	}
	c.startReplySpan(r, o)
	c.reply = r
	c.timers.watchdog = c.now().Add(c.cfg.Timeouts.Watchdog.Std())
	if o.script != "" {
		c.sendSentence(r, o.script, false)
		r.llmDone = true
		c.appendAssistant(r, o.script, nil)
		c.emit(events.AgentResponse, map[string]any{"turn": r.turn, "text": o.script, "scripted": true})
		return
	}
	c.armBudgetTimer(r)
	c.startLLM(r)
}

func (c *Call) startLLM(r *reply) {
	req := &pipeline.LLMRequest{
		Messages: c.requestHistory(),
		Vars:     c.params.Vars,
		CallID:   c.id,
		AgentID:  c.cfg.ID,
		Turn:     r.turn,
	}
	if c.agent.Tools != nil {
		req.Tools = c.agent.Tools.Specs()
	}
	r.llmRunning, r.llmDone = true, false
	r.roundText.Reset()
	r.toolCalls = nil
	gen, ctx, round := r.gen, r.ctx, r.round
	if il, ok := c.llm.(pipeline.InlineLLM); ok && il.Inline() {
		err := c.generate(ctx, req, round, func(ch pipeline.LLMChunk) { c.onLLMChunk(gen, ch) })
		c.onLLMDone(gen, err)
		return
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.llmMu.Lock()
		defer c.llmMu.Unlock()
		err := c.generate(ctx, req, round, func(ch pipeline.LLMChunk) {
			c.mb.post(msg{kind: msgLLMChunk, gen: gen, ext: &msgExt{chunk: ch}})
		})
		c.mb.post(msg{kind: msgLLMDone, gen: gen, err: err})
	}()
}

func (c *Call) live(gen uint64) *reply {
	if r := c.reply; r != nil && r.gen == gen {
		r.lastProgress = c.now()
		c.timers.watchdog = r.lastProgress.Add(c.cfg.Timeouts.Watchdog.Std())
		return r
	}
	return nil
}

func (c *Call) onLLMChunk(gen uint64, ch pipeline.LLMChunk) {
	r := c.live(gen)
	if r == nil {
		return
	}
	if ch.Intent != nil {
		c.emit(events.IntentMatched, map[string]any{
			"turn": r.turn, "intent": ch.Intent.Name, "confidence": ch.Intent.Confidence, "slots": ch.Intent.Slots,
		})
	}
	if ch.Text != "" {
		c.mark(r, pipeline.MarkLLMFirstToken)
		r.roundText.WriteString(ch.Text)
		for _, s := range r.chunker.Push(ch.Text) {
			c.sendSentence(r, s, false)
		}
	}
	if len(ch.ToolCalls) > 0 {
		r.toolCalls = append(r.toolCalls, ch.ToolCalls...)
	}
	if e := ch.End; e != nil {
		// Like a tool's action: carried out once what was said has been played.
		if e.Transfer != "" {
			r.action, r.transferTo = plugins.ActionTransfer, e.Transfer
		} else {
			r.action, r.actionReason = plugins.ActionEndCall, e.Reason
		}
	}
	if ch.Usage != nil {
		r.usage.PromptTokens += ch.Usage.PromptTokens
		r.usage.CompletionTokens += ch.Usage.CompletionTokens
	}
}

func (c *Call) onLLMDone(gen uint64, err error) {
	r := c.live(gen)
	if r == nil {
		return
	}
	r.llmRunning = false
	if rest := r.chunker.Flush(); rest != "" {
		c.sendSentence(r, rest, false)
	}
	text := r.roundText.String()
	if err != nil && !errors.Is(err, context.Canceled) {
		c.log.Warn("reply generation failed", "err", err)
		c.emit(events.ProviderError, map[string]any{"turn": r.turn, "stage": "llm", "provider": c.cfg.LLM.Provider, "error": err.Error()})
		if text == "" && len(r.sentences) == 0 {
			apology := "Sorry, I'm having trouble right now. Could you say that again?"
			c.sendSentence(r, apology, false)
			text = apology
		}
		r.toolCalls = nil
	}
	if text != "" || len(r.toolCalls) > 0 {
		c.appendAssistant(r, text, r.toolCalls)
		c.emit(events.AgentResponse, map[string]any{"turn": r.turn, "text": text, "tool_calls": len(r.toolCalls), "round": r.round})
	}
	if len(r.toolCalls) > 0 && r.round < c.opts.MaxToolRounds {
		c.runTools(r)
		return
	}
	r.llmDone = true
	c.maybeFinish(r)
}

// appendAssistant records an assistant message and links unassigned sentences to it.
func (c *Call) appendAssistant(r *reply, text string, calls []pipeline.ToolCall) {
	c.history = append(c.history, pipeline.Message{Role: pipeline.RoleAssistant, Content: text, ToolCalls: calls})
	idx := len(c.history) - 1
	for _, s := range r.sentences {
		if s.msgIdx < 0 && !s.filler {
			s.msgIdx = idx
		}
	}
}

func (c *Call) sendSentence(r *reply, text string, filler bool) {
	s := &sentence{sid: c.nextSID(), text: text, msgIdx: -1, filler: filler}
	r.sentences = append(r.sentences, s)
	r.ttsOpen++
	if !filler {
		c.mark(r, pipeline.MarkFirstSentence)
	}
	if !c.tts.submit(ttsJob{ctx: r.ctx, gen: r.gen, sid: s.sid, text: text}) {
		c.log.Debug("text-to-speech worker stopped; sentence dropped")
		s.done = true
		r.ttsOpen--
	}
}

func (c *Call) nextSID() uint64 {
	c.sid++
	return c.sid
}

func (c *Call) onTTSAudio(gen uint64) {
	if r := c.live(gen); r != nil {
		c.mark(r, pipeline.MarkTTSFirstAudio)
	}
}

func (c *Call) onTTSDone(gen, sid uint64, samples int, err error) {
	r := c.live(gen)
	if r == nil {
		return
	}
	for _, s := range r.sentences {
		if s.sid == sid && !s.done {
			s.done, s.samples = true, samples
			r.ttsOpen--
		}
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		c.log.Warn("speech synthesis failed", "err", err)
		c.emit(events.ProviderError, map[string]any{"turn": r.turn, "stage": "tts", "provider": c.cfg.TTS.Provider, "error": err.Error()})
	}
	c.maybeFinish(r)
}

// maybeFinish completes the reply once it is generated, synthesised and played.
func (c *Call) maybeFinish(r *reply) {
	if !r.llmDone || r.toolsOut > 0 || r.ttsOpen > 0 || c.player.Playing() || !r.bargeAt.IsZero() {
		return
	}
	if !r.playerCleared && r.playedSamples < producedSamples(r) {
		// The player has written everything but its events (segment started,
		// done, drained) are still on their way through the mailbox: the
		// Drained event finishes the reply, after speech.started was seen.
		return
	}
	if r.audioStarted {
		c.emit(events.AgentSpeechEnded, map[string]any{"turn": r.turn})
		if said := spokenText(r); said != "" {
			c.transcript = append(c.transcript, transcriptLine{Role: "agent", Text: said, AtMS: c.sinceStartMS()})
		}
	}
	c.finishTurn(r, false)
	c.reply = nil
	c.timers.watchdog = time.Time{}
	c.timers.budget = time.Time{}
	c.tts.forget(sids(r))
	r.cancel()
	switch r.action {
	case plugins.ActionEndCall:
		reason := ReasonAgentHangup
		if r.actionReason != "" {
			reason = r.actionReason
		}
		c.end(reason)
		return
	case plugins.ActionTransfer:
		c.fire(evTransfer)
		c.emit(events.CallTransferred, map[string]any{"to": r.transferTo, "turn": r.turn})
		c.end(ReasonTransferred)
		return
	}
	c.fire(evListen)
}

// producedSamples is how much audio the finished sentences of r gave the player.
func producedSamples(r *reply) int {
	n := 0
	for _, s := range r.sentences {
		if s.done {
			n += s.samples
		}
	}
	return n
}

// spokenText is the text of a reply that was played to the end.
func spokenText(r *reply) string {
	var b strings.Builder
	for _, s := range r.sentences {
		if t := strings.TrimSpace(s.text); t != "" {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(t)
		}
	}
	return b.String()
}

func sids(r *reply) []uint64 {
	out := make([]uint64, len(r.sentences))
	for i, s := range r.sentences {
		out[i] = s.sid
	}
	return out
}

// finishTurn emits turn.completed for a caller turn.
func (c *Call) finishTurn(r *reply, interrupted bool) {
	c.endReplySpan(r, turnOutcome(interrupted))
	if !r.timed {
		return
	}
	bd := r.tl.Breakdown()
	if d, ok := r.tl.ResponseLatency(); ok {
		c.stats.responseMS = append(c.stats.responseMS, float64(d.Microseconds())/1000)
	}
	c.emit(events.TurnCompleted, map[string]any{
		"turn": r.turn, "interrupted": interrupted, "latency_ms": bd,
		"marks": marksOf(&r.tl, c.started), "usage": r.usage, "tool_rounds": r.round,
	})
}

func marksOf(tl *pipeline.Timeline, start time.Time) map[string]float64 {
	out := map[string]float64{}
	for m := pipeline.MarkSpeechStart; m <= pipeline.MarkFirstFrameOut; m++ {
		if t := tl.At(m); !t.IsZero() {
			out[m.String()] = float64(t.Sub(start).Microseconds()) / 1000
		}
	}
	return out
}

// runTools starts every tool call of the round in parallel, off the actor goroutine.
func (c *Call) runTools(r *reply) {
	r.round++
	if r.bargeAt.IsZero() && !c.player.Playing() {
		c.fire(evRunTool)
	}
	calls := r.toolCalls
	r.toolCalls = nil
	r.toolsOut = len(calls)
	r.toolMsgs = r.toolMsgs[:0]
	for _, tc := range calls {
		c.emit(events.ToolCalled, map[string]any{"turn": r.turn, "tool_call_id": tc.ID, "name": tc.Name, "arguments": json.RawMessage(orEmptyObject(tc.Arguments))})
		tool, ok := c.lookupTool(tc.Name)
		gen, tc := r.gen, tc
		if !ok {
			c.mb.post(msg{kind: msgToolDone, gen: gen, ext: &msgExt{tool: toolOutcome{call: tc, err: plugins.ErrUnknownTool}}})
			continue
		}
		// The tool's ref or the tool itself may set a deadline; otherwise the
		// agent's timeouts.tool_timeout applies (plugins.Run defaults the rest).
		timeout := c.cfg.Timeouts.ToolTimeout.Std()
		if c.agent.Tools != nil {
			if d := c.agent.Tools.ConfiguredTimeout(tc.Name); d > 0 {
				timeout = d
			}
		}
		// The tool's ctx carries its identity and progress reporter (toolprogress.go).
		ctx, finish := c.toolContext(r, tc)
		ctx, span := c.startToolSpan(ctx, r, tc)
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			start := time.Now()
			res, err := plugins.Run(ctx, tool, orEmptyObject(tc.Arguments), timeout, c.opts.MaxToolResult)
			ms := float64(time.Since(start).Microseconds()) / 1000
			endToolSpan(span, res, err)
			finish()
			c.mb.post(msg{kind: msgToolDone, gen: gen, ext: &msgExt{tool: toolOutcome{call: tc, result: res, err: err, ms: ms}}})
		}()
	}
}

func orEmptyObject(b json.RawMessage) json.RawMessage {
	if len(strings.TrimSpace(string(b))) == 0 {
		return json.RawMessage("{}")
	}
	return b
}

func (c *Call) lookupTool(name string) (plugins.Tool, bool) {
	if c.agent.Tools == nil {
		return nil, false
	}
	return c.agent.Tools.Lookup(name)
}

func (c *Call) onToolDone(gen uint64, o toolOutcome) {
	r := c.live(gen)
	if r == nil {
		c.log.Debug("result of a cancelled reply's tool ignored", "tool", o.call.Name, "tool_call_id", o.call.ID)
		return
	}
	r.toolsOut--
	content := o.result.Content
	p := map[string]any{"turn": r.turn, "tool_call_id": o.call.ID, "name": o.call.Name, "duration_ms": o.ms, "ok": o.err == nil}
	if o.err != nil {
		content = `{"error":` + quoteJSON(o.err.Error()) + `}`
		p["error"] = o.err.Error()
	} else {
		p["result"] = truncate(content, 2048)
		if o.result.Action != plugins.ActionNone {
			p["action"] = o.result.Action.String()
			r.action = o.result.Action
			r.transferTo = o.result.TransferTo
		}
	}
	c.emit(events.ToolCompleted, p)
	r.toolMsgs = append(r.toolMsgs, pipeline.Message{Role: pipeline.RoleTool, ToolCallID: o.call.ID, Content: content})
	if r.toolsOut > 0 {
		return
	}
	c.history = append(c.history, r.toolMsgs...)
	r.toolMsgs = nil
	if r.action != plugins.ActionNone {
		// Hang-up and transfer happen once what was said has been played.
		r.llmDone = true
		c.maybeFinish(r)
		return
	}
	if c.State() == StateToolRunning {
		c.fire(evThink)
	}
	c.startLLM(r)
}

func quoteJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
