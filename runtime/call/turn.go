package call

import (
	"strings"
	"time"

	"github.com/parley-voice/parley/media/pacing"
	"github.com/parley-voice/parley/media/vad"
	"github.com/parley-voice/parley/pipeline"
	"github.com/parley-voice/parley/plugins"
	"github.com/parley-voice/parley/runtime/events"
)

// turnState is the caller side of turn taking.
type turnState struct {
	capturing     bool          // frames go to the recogniser
	awaitingFinal bool          // Finalize sent, final result pending
	discardFinal  bool          // the pending final belongs to a rejected barge-in
	bargeFinal    bool          // the pending final judges a barge-in
	carry         string        // words heard but not yet answered (pauses, barge-ins)
	speechStart   time.Time     // onset of the current utterance
	voiced        time.Duration // speech in the last utterance, hangover excluded
}

// onAudio runs turn taking on one inbound frame. at is when the transport handed
// the frame over, so marks derived from audio (speech start and end) do not
// include the frame's wait in the mailbox, and the end_of_turn stage does.
func (c *Call) onAudio(pcm []int16, at time.Time) {
	ev := c.vad.Process(pcm)
	now := at
	if c.turn.capturing {
		if err := c.stt.Write(pcm); err != nil {
			c.log.Debug("recogniser dropped a frame", "err", err)
		}
	} else {
		c.preroll.push(pcm)
	}
	switch ev {
	case vad.SpeechStart:
		c.onSpeechStart(now)
	case vad.SpeechStop:
		c.onSpeechStop(now)
	}
	if c.vad.Speaking() || (c.reply != nil && !c.reply.bargeAt.IsZero()) {
		return
	}
	// Silence is counted in audio time, not wall time, so bursty delivery of
	// frames cannot end a turn early or late.
	silent := c.vad.SilenceDuration()
	if silent < c.cfg.Turn.Endpointing.Std() {
		return
	}
	if c.turn.capturing {
		c.endOfTurn(now, silent)
	} else if c.turn.carry != "" && !c.turn.awaitingFinal && c.reply == nil {
		// A confirmed barge-in whose words are already known: answer them.
		c.turnTL.Set(pipeline.MarkSpeechEnd, now.Add(-silent))
		c.turnTL.Set(pipeline.MarkEndOfTurn, c.now())
		c.turnTL.Set(pipeline.MarkFinalTranscript, c.now())
		text := c.turn.carry
		c.turn.carry = ""
		c.userTurn(text, 1)
	}
}

func (c *Call) onSpeechStart(now time.Time) {
	onset := now.Add(-c.cfg.VAD.StartDuration.Std())
	c.lastHeard = now
	c.reprompts = 0
	c.emit(events.SpeechStarted, map[string]any{"at_ms": float64(onset.Sub(c.started).Microseconds()) / 1000})
	if !c.turn.capturing {
		c.turn.capturing = true
		c.turn.speechStart = onset
		c.preroll.each(func(f []int16) { _ = c.stt.Write(f) })
		if c.reply == nil && !c.turn.awaitingFinal && c.turn.carry == "" {
			c.turns++
			c.turnNo.Store(int64(c.turns))
			c.turnTL.Reset(uint64(c.turns), c.cfg.Turn.Endpointing.Std())
		}
		c.turnTL.Set(pipeline.MarkSpeechStart, onset)
	}
	r := c.reply
	switch {
	case r == nil:
		c.fire(evUserTalk)
	case r.audioStarted || c.player.Playing():
		if !c.cfg.Turn.AllowInterruptions || r.uninterruptible || !r.bargeAt.IsZero() {
			return
		}
		if bo := c.cfg.Turn.InterruptionBackoff.Std(); bo > 0 && now.Sub(r.tl.At(pipeline.MarkFirstFrameOut)) < bo {
			return
		}
		// Stop the agent's audio at once; whether this is a real interruption
		// (words, long enough, not a backchannel) is judged while it is paused.
		c.player.Pause()
		if err := c.conn.Clear(); err != nil {
			c.log.Debug("sending clear", "err", err)
		}
		r.bargeAt = now
		r.bargeWords = false
		c.timers.falseInterrupt = now.Add(c.cfg.Turn.FalseInterruptionTimeout.Std())
	default:
		// The caller went on talking before the reply was heard: a pause inside
		// the caller's turn, not its end. Drop the reply; answer the whole turn.
		c.abandonReply(r)
		c.fire(evUserTalk)
	}
}

func (c *Call) onSpeechStop(now time.Time) {
	dur := now.Sub(c.turn.speechStart)
	c.turn.voiced = max(0, c.vad.SpeechDuration()-c.cfg.VAD.StopDuration.Std())
	c.emit(events.SpeechStopped, map[string]any{"duration_ms": float64(dur.Microseconds()) / 1000,
		"voiced_ms": float64(c.turn.voiced.Microseconds()) / 1000})
	if r := c.reply; r != nil && !r.bargeAt.IsZero() && c.turn.capturing {
		// Finish the utterance now to learn its words quickly.
		c.turn.capturing = false
		c.turn.awaitingFinal = true
		c.turn.bargeFinal = true
		if err := c.stt.Finalize(); err != nil {
			c.log.Warn("finalizing recognition", "err", err)
		}
	}
}

func (c *Call) endOfTurn(now time.Time, silent time.Duration) {
	c.turn.capturing = false
	c.turn.awaitingFinal = true
	c.turnTL.Set(pipeline.MarkSpeechEnd, now.Add(-silent))
	c.turnTL.Set(pipeline.MarkEndOfTurn, c.now())
	if err := c.stt.Finalize(); err != nil {
		c.log.Warn("finalizing recognition", "err", err)
	}
	c.fire(evThink)
}

func (c *Call) onSTT(res pipeline.STTResult) {
	switch res.Kind {
	case pipeline.STTPartial:
		c.emit(events.SpeechPartial, map[string]any{"text": res.Text})
		// A partial confirms a barge-in only once it can no longer turn out to be
		// a backchannel ("uh" may yet become "uh huh"); the final decides the rest.
		if r := c.reply; r != nil && !r.bargeAt.IsZero() && !c.mayBeBackchannel(res.Text) &&
			c.interrupts(res.Text, c.voicedSoFar()) {
			c.confirmBargeIn(r)
		}
	case pipeline.STTError:
		c.log.Warn("speech recognition failed", "err", res.Err)
		c.emit(events.ProviderError, map[string]any{"stage": "stt", "provider": c.cfg.STT.Provider, "error": errString(res.Err)})
	case pipeline.STTFinal:
		c.onFinal(res)
	}
}

func (c *Call) onFinal(res pipeline.STTResult) {
	c.turn.awaitingFinal = false
	text := strings.TrimSpace(res.Text)
	if c.turn.discardFinal {
		c.turn.discardFinal = false
		return
	}
	if c.turn.bargeFinal {
		c.turn.bargeFinal = false
		r := c.reply
		if r == nil || r.bargeAt.IsZero() {
			c.transcribed(text, res)
			c.turn.carry = joinText(c.turn.carry, text)
			return
		}
		// Judged on how long the caller actually spoke, so a short "uh-huh" never
		// interrupts even when the recogniser hears some other word in it.
		if text == "" || c.isBackchannel(text) || !c.interrupts(text, c.turn.voiced) {
			c.resumeAfterFalseInterruption(r, text)
			return
		}
		c.confirmBargeIn(r)
		c.transcribed(text, res)
		c.turn.carry = joinText(c.turn.carry, text)
		return
	}
	c.transcribed(text, res)
	full := joinText(c.turn.carry, text)
	if c.turn.capturing {
		// The caller is already speaking again: keep these words for the whole turn.
		c.turn.carry = full
		return
	}
	c.turn.carry = ""
	if full == "" {
		if c.reply == nil {
			c.fire(evListen)
		}
		return
	}
	c.turnTL.Set(pipeline.MarkFinalTranscript, c.now())
	c.userTurn(full, res.Confidence)
}

// transcribed publishes a final transcript (nothing for empty ones).
func (c *Call) transcribed(text string, res pipeline.STTResult) {
	if text == "" {
		return
	}
	c.emit(events.SpeechTranscribed, map[string]any{"text": text, "confidence": res.Confidence, "is_final": true,
		"turn": c.turns, "audio_ms": float64(res.AudioDuration.Microseconds()) / 1000})
}

// userTurn answers the caller's words.
func (c *Call) userTurn(text string, confidence float64) {
	c.lastHeard = c.now()
	c.history = append(c.history, pipeline.Message{Role: pipeline.RoleUser, Content: text})
	c.transcript = append(c.transcript, transcriptLine{Role: "caller", Text: text, AtMS: c.sinceStartMS()})
	if c.State() != StateThinking {
		c.fire(evThink)
	}
	c.startReply(replyOpts{userTurn: true})
	c.checkBudgets(c.reply)
}

// interrupts decides whether caller speech during agent speech is a real interruption.
func (c *Call) interrupts(text string, dur time.Duration) bool {
	t := c.cfg.Turn
	words := strings.Fields(normalizeWords(text))
	if len(words) == 0 {
		return false
	}
	if dur < t.MinInterruptDuration.Std() {
		return false
	}
	if t.MinInterruptWords > 0 && len(words) < t.MinInterruptWords {
		return false
	}
	return !c.isBackchannel(text)
}

// isBackchannel reports whether text is only short acknowledgement ("uh-huh", "okay").
func (c *Call) isBackchannel(text string) bool {
	norm := normalizeWords(text)
	words := strings.Fields(norm)
	if len(words) == 0 || len(words) > c.cfg.Turn.BackchannelMaxWords {
		return false
	}
	for _, b := range c.cfg.Turn.Backchannels {
		if normalizeWords(b) == norm {
			return true
		}
	}
	// Every word being a backchannel word also counts ("okay okay").
	for _, w := range words {
		found := false
		for _, b := range c.cfg.Turn.Backchannels {
			if normalizeWords(b) == w {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// voicedSoFar is how long the caller has actually spoken in the current
// utterance: the detector's speech duration less the silence of a hangover.
func (c *Call) voicedSoFar() time.Duration {
	if !c.vad.Speaking() {
		return c.turn.voiced
	}
	return max(0, c.vad.SpeechDuration()-c.vad.SilenceDuration())
}

// mayBeBackchannel reports whether a partial hypothesis could still grow into a
// backchannel: it is short enough and a word-prefix of one of them.
func (c *Call) mayBeBackchannel(partial string) bool {
	norm := normalizeWords(partial)
	words := strings.Fields(norm)
	if len(words) == 0 {
		return true
	}
	if len(words) > c.cfg.Turn.BackchannelMaxWords {
		return false
	}
	for _, b := range c.cfg.Turn.Backchannels {
		nb := normalizeWords(b)
		if nb == norm || strings.HasPrefix(nb, norm+" ") {
			return true
		}
	}
	return c.isBackchannel(partial)
}

func normalizeWords(s string) string {
	s = strings.ToLower(s)
	s = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '\'':
			return r
		}
		return ' '
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

func joinText(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + " " + b
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// resumeAfterFalseInterruption lets the agent go on after noise or a backchannel.
func (c *Call) resumeAfterFalseInterruption(r *reply, heard string) {
	r.bargeAt = time.Time{}
	c.timers.falseInterrupt = time.Time{}
	c.stats.falseInterruptions++
	c.emit(events.AgentResumed, map[string]any{"turn": r.turn, "heard": heard, "backchannel": heard != "" && c.isBackchannel(heard)})
	if c.cfg.Turn.ResumeAfterFalseInterruption {
		c.player.Resume()
	} else {
		c.player.Clear()
		c.player.Resume()
		r.playerCleared = true
	}
	if c.turn.capturing {
		c.turn.capturing = false
		c.turn.awaitingFinal = true
		c.turn.discardFinal = true
		_ = c.stt.Finalize()
	}
	c.maybeFinish(r)
}

// confirmBargeIn cancels the reply for good and keeps in history only what was played.
func (c *Call) confirmBargeIn(r *reply) {
	c.timers.falseInterrupt = time.Time{}
	r.cancel()
	c.tts.mu.Lock()
	progress := c.player.Clear()
	unplayed := map[uint64]int{}
	for _, p := range progress {
		unplayed[p.ID>>16] += p.TotalSamples - p.PlayedSamples
	}
	if pt, ok := c.conn.(PlaybackTracker); ok {
		// The far end dropped what it had buffered: the latest written samples,
		// counted back from the last sentence.
		lost := pt.ClearedUnheard()
		for i := len(r.sentences) - 1; i >= 0 && lost > 0; i-- {
			s := r.sentences[i]
			a := c.tts.audio[s.sid]
			if a == nil {
				continue
			}
			written := a.produced - unplayed[s.sid]
			n := min(max(written, 0), lost)
			unplayed[s.sid] += n
			lost -= n
		}
	}
	played := make(map[uint64]float64, len(r.sentences))
	for _, s := range r.sentences {
		a := c.tts.audio[s.sid]
		if a == nil || a.produced == 0 {
			continue
		}
		total := a.produced
		if !a.done {
			// Still being synthesised: estimate the whole length from the text.
			if est := len(s.text) * c.params.SampleRate * 65 / 1000; est > total {
				total = est
			}
		}
		p := a.produced - unplayed[s.sid]
		if p > 0 {
			played[s.sid] = float64(p) / float64(total)
		}
	}
	c.tts.mu.Unlock()
	c.player.Resume()

	var heard, lost []string
	perMsg := map[int][]string{}
	for _, s := range r.sentences {
		f := played[s.sid]
		part := s.text
		if f < 1 {
			part = wordsPrefix(s.text, f)
		}
		if part != "" {
			heard = append(heard, part)
		}
		if part != s.text {
			lost = append(lost, strings.TrimSpace(strings.TrimPrefix(s.text, part)))
		}
		if s.msgIdx >= 0 && !s.filler {
			perMsg[s.msgIdx] = append(perMsg[s.msgIdx], part)
		}
	}
	// Rewrite this reply's assistant messages to what the caller heard.
	for idx, parts := range perMsg {
		m := &c.history[idx]
		m.Content = strings.TrimSpace(strings.Join(nonEmpty(parts), " "))
		m.Interrupted = true
	}
	if r.llmRunning {
		if h := strings.Join(heard, " "); h != "" {
			c.history = append(c.history, pipeline.Message{Role: pipeline.RoleAssistant, Content: h, Interrupted: true})
		}
	}
	// Tool calls left without results would make the history invalid for LLM APIs.
	c.closeDanglingToolCalls()
	heardText := strings.Join(heard, " ")
	c.transcript = append(c.transcript, transcriptLine{Role: "agent", Text: heardText, AtMS: c.sinceStartMS(), Interrupted: true})
	c.stats.interruptions++
	c.emit(events.CallInterrupted, map[string]any{
		"turn": r.turn, "played_text": heardText, "unplayed_text": strings.Join(lost, " "),
		"pending_action": actionName(r.action),
		"reaction_ms":    float64(c.now().Sub(r.bargeAt).Microseconds()) / 1000,
	})
	if r.action != plugins.ActionNone {
		c.log.Info("barge-in cancelled a pending action", "action", r.action.String())
	}
	c.finishTurn(r, true)
	c.tts.forget(sids(r))
	c.reply = nil
	c.timers.watchdog = time.Time{}
	c.timers.budget = time.Time{}
	c.turns++
	c.turnNo.Store(int64(c.turns))
	c.turnTL.Reset(uint64(c.turns), c.cfg.Turn.Endpointing.Std())
	c.turnTL.Set(pipeline.MarkSpeechStart, c.turn.speechStart)
	c.fire(evUserTalk)
}

func actionName(a plugins.Action) string {
	if a == plugins.ActionNone {
		return ""
	}
	return a.String()
}

func nonEmpty(xs []string) []string {
	out := xs[:0:0]
	for _, x := range xs {
		if x != "" {
			out = append(out, x)
		}
	}
	return out
}

// wordsPrefix returns the first fraction f of the words of s (rounded down).
func wordsPrefix(s string, f float64) string {
	if f <= 0 {
		return ""
	}
	w := strings.Fields(s)
	n := int(f * float64(len(w)))
	return strings.Join(w[:n], " ")
}

func (c *Call) closeDanglingToolCalls() {
	answered := map[string]bool{}
	for _, m := range c.history {
		if m.Role == pipeline.RoleTool {
			answered[m.ToolCallID] = true
		}
	}
	for _, m := range c.history {
		for _, tc := range m.ToolCalls {
			if !answered[tc.ID] {
				c.history = append(c.history, pipeline.Message{Role: pipeline.RoleTool, ToolCallID: tc.ID,
					Content: `{"error":"cancelled: the caller interrupted"}`})
				answered[tc.ID] = true
			}
		}
	}
}

// abandonReply drops a reply nobody has heard yet (the caller kept talking); its
// user message is taken back so the next final transcript answers the whole turn.
func (c *Call) abandonReply(r *reply) {
	r.cancel()
	c.tts.mu.Lock()
	c.player.Clear()
	c.tts.mu.Unlock()
	c.tts.forget(sids(r))
	// Remove everything this reply appended, and the user message it answered.
	for i := len(c.history) - 1; i >= 0; i-- {
		if c.history[i].Role == pipeline.RoleUser {
			c.turn.carry = joinText(c.history[i].Content, c.turn.carry)
			c.history = c.history[:i]
			break
		}
	}
	if n := len(c.transcript); n > 0 && c.transcript[n-1].Role == "caller" {
		c.transcript = c.transcript[:n-1]
	}
	c.endReplySpan(r, "abandoned")
	c.reply = nil
	c.timers.watchdog = time.Time{}
	c.timers.budget = time.Time{}
	c.turnTL.Set(pipeline.MarkSpeechStart, c.turn.speechStart)
	c.emit(events.AgentReplyAbandoned, map[string]any{"turn": r.turn, "carried_text": c.turn.carry})
}

func (c *Call) onPlayerEvent(ev pacing.Event) {
	r := c.reply
	switch ev.Kind {
	case pacing.SegmentStarted:
		if r == nil || r.audioStarted || !r.ownsSegment(ev.SegmentID) {
			return
		}
		r.audioStarted = true
		c.live(r.gen)
		c.mark(r, pipeline.MarkFirstFrameOut)
		c.emit(events.AgentSpeechStarted, map[string]any{"turn": r.turn})
		if c.State() != StateGreeting {
			c.fire(evSpeak)
		}
	case pacing.SegmentDone:
		// Audio is flowing: the reply is making progress (keeps the watchdog off
		// replies that speak for longer than its timeout).
		if r != nil && r.ownsSegment(ev.SegmentID) {
			r.playedSamples += ev.PlayedSamples
			c.live(r.gen)
		}
	case pacing.Drained:
		if r != nil {
			c.live(r.gen)
			c.maybeFinish(r)
		}
	case pacing.WriteError:
		c.log.Warn("writing audio to transport", "err", ev.Err)
		c.end(ReasonTransportError)
	}
}

func (r *reply) ownsSegment(id uint64) bool {
	sid := id >> 16
	for _, s := range r.sentences {
		if s.sid == sid {
			return true
		}
	}
	return false
}

func (c *Call) onTimers() {
	now := c.now()
	if t := c.timers.maxDuration; !t.IsZero() && !now.Before(t) {
		c.timers.maxDuration = time.Time{}
		c.sayAndHangUp(c.cfg.Timeouts.GoodbyeMessage, ReasonMaxDuration)
		return
	}
	if t := c.timers.falseInterrupt; !t.IsZero() && !now.Before(t) {
		c.timers.falseInterrupt = time.Time{}
		switch r := c.reply; {
		case r == nil || r.bargeAt.IsZero() || c.turn.bargeFinal:
		case c.turn.capturing:
			// The caller is still speaking and no partial has confirmed it yet
			// (a phone line's first utterance gives poor partials): the final
			// transcript at speech stop decides, as for a short sound. Resuming
			// now would talk over the caller.
			c.timers.falseInterrupt = now.Add(c.cfg.Turn.FalseInterruptionTimeout.Std())
		default:
			c.resumeAfterFalseInterruption(r, "")
		}
	}
	if t := c.timers.budget; !t.IsZero() && !now.Before(t) {
		c.timers.budget = time.Time{}
		c.onBudgetTimer()
	}
	if t := c.timers.watchdog; !t.IsZero() && !now.Before(t) {
		c.timers.watchdog = time.Time{}
		c.onWatchdog()
	}
	if t := c.timers.silence; !t.IsZero() && !now.Before(t) {
		c.timers.silence = time.Time{}
		if c.State() == StateListening && c.reply == nil && !c.turn.capturing {
			c.reprompts++
			c.emit(events.SilenceTimeout, map[string]any{"reprompt": c.reprompts, "silence_ms": float64(now.Sub(c.lastHeardOrStart()).Microseconds()) / 1000})
			if c.reprompts > c.cfg.Timeouts.MaxReprompts {
				c.sayAndHangUp(c.cfg.Timeouts.GoodbyeMessage, ReasonSilence)
			} else {
				c.startReply(replyOpts{script: c.cfg.Timeouts.SilencePrompt})
			}
		}
	}
}

func (c *Call) lastHeardOrStart() time.Time {
	if c.lastHeard.IsZero() {
		return c.started
	}
	return c.lastHeard
}

// sayAndHangUp replaces whatever is happening with a final message, then ends.
func (c *Call) sayAndHangUp(text, reason string) {
	if r := c.reply; r != nil {
		r.cancel()
		c.tts.mu.Lock()
		c.player.Clear()
		c.tts.mu.Unlock()
		c.player.Resume()
		c.endReplySpan(r, "replaced")
		c.reply = nil
	}
	c.startReply(replyOpts{script: text, action: plugins.ActionEndCall, actionReason: reason, uninterruptible: true})
}

func (c *Call) onWatchdog() {
	r := c.reply
	if r == nil {
		return
	}
	state := c.State()
	stalled := c.now().Sub(r.lastProgress)
	c.log.Warn("watchdog: reply made no progress", "state", state, "stalled", stalled)
	c.emit(events.CallWatchdog, map[string]any{"state": state, "turn": r.turn, "stalled_ms": float64(stalled.Microseconds()) / 1000})
	c.stats.watchdogs++
	if c.stats.watchdogs >= 3 {
		c.end(ReasonWatchdog)
		return
	}
	r.cancel()
	c.tts.mu.Lock()
	c.player.Clear()
	c.tts.mu.Unlock()
	c.player.Resume()
	c.endReplySpan(r, "watchdog")
	c.reply = nil
	c.fire(evListen)
}

// mark records a timeline mark on the reply and checks the budgets it closes.
func (c *Call) mark(r *reply, m pipeline.Mark) {
	if !r.timed || !r.tl.Set(m, c.now()) {
		return
	}
	c.checkBudgets(r)
}

func (c *Call) checkBudgets(r *reply) {
	if r == nil || !r.timed {
		return
	}
	for _, s := range pipeline.Stages {
		if r.budgetTold[s] {
			continue
		}
		d, ok := r.tl.Stage(s)
		if !ok {
			continue
		}
		if b := c.cfg.Budgets.Budget(s); b > 0 && d > b {
			r.budgetTold[s] = true
			c.budgetExceeded(r, s, b, d, false)
		}
	}
}

func (c *Call) budgetExceeded(r *reply, stage string, budget, actual time.Duration, pending bool) {
	c.stats.budgetMisses++
	act := c.cfg.Budgets.OnExceeded
	c.emit(events.TurnBudgetExceeded, map[string]any{
		"turn": r.turn, "stage": stage, "budget_ms": ms(budget), "actual_ms": ms(actual),
		"pending": pending, "action": act.Action,
	})
	if act.Action == "log" {
		c.log.Info("turn budget exceeded", "stage", stage, "budget", budget, "actual", actual)
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// armBudgetTimer schedules the live check of the stage that triggers the action.
func (c *Call) armBudgetTimer(r *reply) {
	if !r.timed {
		return
	}
	stage := c.cfg.Budgets.OnExceeded.Stage
	if stage == "" {
		stage = pipeline.StageLLMFirstToken
	}
	start := r.tl.At(stageStart(stage))
	if start.IsZero() {
		start = c.now()
	}
	c.timers.budget = start.Add(c.cfg.Budgets.Budget(stage))
}

func stageStart(stage string) pipeline.Mark {
	for i, s := range pipeline.Stages {
		if s == stage {
			if i == 0 {
				return pipeline.MarkSpeechEnd
			}
			return pipeline.StageEnd(pipeline.Stages[i-1])
		}
	}
	return pipeline.MarkFinalTranscript
}

func (c *Call) onBudgetTimer() {
	r := c.reply
	if r == nil || !r.timed {
		return
	}
	stage := c.cfg.Budgets.OnExceeded.Stage
	if stage == "" {
		stage = pipeline.StageLLMFirstToken
	}
	if !r.tl.At(pipeline.StageEnd(stage)).IsZero() || r.budgetTold[stage] {
		return
	}
	r.budgetTold[stage] = true
	start := r.tl.At(stageStart(stage))
	c.budgetExceeded(r, stage, c.cfg.Budgets.Budget(stage), c.now().Sub(start), true)
	if c.cfg.Budgets.OnExceeded.Action == "filler" && !r.fillerSaid && len(c.cfg.Budgets.OnExceeded.FillerPhrases) > 0 {
		r.fillerSaid = true
		ph := c.cfg.Budgets.OnExceeded.FillerPhrases
		c.sendSentence(r, ph[(c.turns)%len(ph)], true)
	}
}
