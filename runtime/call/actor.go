package call

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/media"
	"github.com/parley-voice/parley/media/pacing"
	"github.com/parley-voice/parley/media/vad"
	"github.com/parley-voice/parley/pipeline"
	"github.com/parley-voice/parley/runtime/events"
)

// Start provisions a call for agent a on conn and starts its actor goroutine.
// ctx bounds the call's life (server shutdown cancels it); the call ends on its
// own when the caller or agent hangs up. Events go to bus.
func Start(ctx context.Context, a *Agent, p Params, conn Conn, bus *events.Bus, opts Options) (*Call, error) {
	if a == nil || a.Config == nil {
		return nil, errors.New("starting call: no agent")
	}
	if p.SampleRate <= 0 {
		return nil, errors.New("starting call: sample rate not set")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MailboxAudio <= 0 {
		opts.MailboxAudio = 250
	}
	if opts.MaxToolRounds <= 0 {
		opts.MaxToolRounds = 5
	}
	if opts.MaxToolResult <= 0 {
		opts.MaxToolResult = 16 << 10
	}
	if opts.PlayerLead <= 0 {
		opts.PlayerLead = 1
	}
	now := opts.Now()
	if p.CallID == "" {
		p.CallID = events.NewCallID(now)
	}
	cfg := a.Config
	c := &Call{
		id: p.CallID, agent: a, cfg: cfg, params: p, conn: conn, bus: bus, opts: opts,
		log:     opts.Logger,
		now:     opts.Now,
		mb:      newMailbox(opts.MailboxAudio, 4096+opts.MailboxAudio),
		done:    make(chan struct{}),
		started: now,
	}
	c.log = slog.New(turnHandler{opts.Logger.Handler(), c}).With("call_id", p.CallID, "agent_id", cfg.ID)
	c.ctx, c.cancel = context.WithCancel(c.withFallbackReporter(ctx))
	c.fsm = newFSM(c.onState)

	var err error
	c.vad, err = vad.NewDetector(vadConfig(cfg, p.SampleRate))
	if err != nil {
		c.cancel()
		return nil, fmt.Errorf("starting call: voice activity detector: %w", err)
	}
	c.preroll.init(int(300 * time.Millisecond / media.FrameDuration))

	c.stt, err = a.STT.NewStream(c.ctx, pipeline.STTConfig{
		SampleRate: p.SampleRate, Language: cfg.STTLanguage(), Phrases: a.Phrases, Bandwidth: p.Bandwidth,
	}, func(r pipeline.STTResult) { c.mb.post(msg{kind: msgSTT, ext: &msgExt{stt: r}}) })
	if err != nil {
		c.cancel()
		return nil, fmt.Errorf("starting call: speech-to-text (%s): %w", cfg.STT.Provider, err)
	}
	c.player, err = pacing.NewPlayer(pacing.Config{
		SampleRate: p.SampleRate,
		Write:      conn.WriteFrame,
		OnEvent:    func(ev pacing.Event) { c.mb.post(msg{kind: msgPlayer, ext: &msgExt{play: ev}}) },
		Lead:       opts.PlayerLead,
	})
	if err != nil {
		c.stt.Close()
		c.cancel()
		return nil, fmt.Errorf("starting call: audio player: %w", err)
	}
	c.tts = newTTSWorker(a.TTS, pipeline.TTSRequest{
		SampleRate: p.SampleRate, Voice: cfg.TTS.Voice, Language: cfg.TTSLanguage(), Rate: cfg.TTS.Rate,
	}, c.player, func(m msg) { c.mb.post(m) })
	// The call's variables: declared defaults, built-ins, then what the
	// transport and the call-start hook set; prompts are filled from them once.
	c.params.Vars = cfg.CallVars(c.id, p.From, p.To, p.Vars)
	c.llm = a.NewLLM(c.params.Vars)
	if sp := cfg.RenderSystemPrompt(c.params.Vars); sp != "" {
		c.history = append(c.history, pipeline.Message{Role: pipeline.RoleSystem, Content: sp})
	}

	c.startTelemetry()
	c.wg.Add(2)
	go func() { defer c.wg.Done(); c.tts.run() }()
	go func() { defer c.wg.Done(); c.run() }()
	return c, nil
}

// vadConfig maps the agent's VAD settings onto the detector's.
func vadConfig(cfg *agents.Config, rate int) vad.Config {
	v := vad.DefaultConfig(rate)
	v.StartMargin = cfg.VAD.StartMargin
	v.StopMargin = cfg.VAD.StopMargin
	v.MinLevel = cfg.VAD.MinLevel
	v.StartDuration = cfg.VAD.StartDuration.Std()
	v.StopDuration = cfg.VAD.StopDuration.Std()
	v.EndpointSilence = cfg.Turn.Endpointing.Std()
	return v
}

// run is the actor goroutine.
func (c *Call) run() {
	defer c.finish()
	c.begin()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var batch []msg
	for !c.ended.Load() {
		c.resetTimer(timer)
		select {
		case <-c.mb.wake:
			batch = c.mb.drain(batch)
			for i := range batch {
				if c.ended.Load() {
					break
				}
				c.handle(&batch[i])
			}
		case <-timer.C:
			c.onTimers()
		case <-c.ctx.Done():
			c.end(ReasonServerShutdown)
		}
	}
}

func (c *Call) resetTimer(t *time.Timer) {
	next := c.timers.next()
	d := time.Hour
	if !next.IsZero() {
		d = next.Sub(c.now())
		if d < 0 {
			d = 0
		}
	}
	t.Reset(d)
}

func (c *Call) handle(m *msg) {
	switch m.kind {
	case msgAudio:
		c.onAudio(m.pcm, m.at)
	case msgDTMF:
		c.emit(events.DTMFReceived, map[string]any{"digit": m.str})
	case msgHangup:
		c.end(m.str)
	case msgSTT:
		c.onSTT(m.ext.stt)
	case msgLLMChunk:
		c.onLLMChunk(m.gen, m.ext.chunk)
	case msgLLMDone:
		c.onLLMDone(m.gen, m.err)
	case msgTTSAudio:
		c.onTTSAudio(m.gen)
	case msgTTSDone:
		c.onTTSDone(m.gen, uint64(m.seq), m.ext.play.PlayedSamples, m.err)
	case msgToolDone:
		c.onToolDone(m.gen, m.ext.tool)
	case msgPlayer:
		c.onPlayerEvent(m.ext.play)
	case msgToolProgress:
		c.onToolProgress(m.gen, m.ext.progress)
	case msgFallback:
		c.onFallback(m.ext.fallback)
	}
}

// begin announces the call and speaks the greeting.
func (c *Call) begin() {
	c.timers.maxDuration = c.started.Add(c.cfg.Timeouts.MaxCallDuration.Std())
	c.emit(events.CallStarted, map[string]any{
		"transport": c.params.Transport, "from": c.params.From, "to": c.params.To,
		"sample_rate": c.params.SampleRate, "metadata": c.params.Metadata,
		"agent_name": c.cfg.Name, "agent_version": c.agent.Version,
	})
	if err := c.params.CallStartErr; err != nil {
		c.emit(events.ProviderError, map[string]any{"turn": 0, "stage": "call_start", "provider": "webhook", "error": err.Error()})
	}
	c.emit(events.MediaStreamConnected, map[string]any{
		"transport": c.params.Transport, "encoding": "pcm16", "sample_rate": c.params.SampleRate,
	})
	c.fire(evAnswer)
	if greeting := c.cfg.RenderGreeting(c.params.Vars); c.cfg.LLM.Provider == "flow" || greeting == "" {
		c.startReply(replyOpts{greeting: true})
	} else {
		c.startReply(replyOpts{greeting: true, script: greeting})
	}
}

func (c *Call) onState(from, to, event string) {
	c.emit(events.CallStateChanged, map[string]any{"from": from, "to": to, "trigger": event})
	if to == StateListening {
		c.timers.silence = c.now().Add(c.cfg.Timeouts.Silence.Std())
	} else {
		c.timers.silence = time.Time{}
	}
}

// end finishes the call: stops every stream, publishes call.ended and closes the
// transport. Safe to call more than once.
func (c *Call) end(reason string) {
	if c.ended.Load() {
		return
	}
	c.endReason = reason
	c.endTelemetry(reason)
	if r := c.reply; r != nil {
		r.cancel()
	}
	c.player.Clear()
	c.fire(evHangup)
	lat := map[string]any{
		"response_p50_ms": percentile(c.stats.responseMS, 0.5),
		"response_p95_ms": percentile(c.stats.responseMS, 0.95),
		"turns_measured":  len(c.stats.responseMS),
	}
	c.emit(events.CallEnded, map[string]any{
		"reason":              reason,
		"duration_ms":         c.sinceStartMS(),
		"turns":               c.turns,
		"interruptions":       c.stats.interruptions,
		"false_interruptions": c.stats.falseInterruptions,
		"budget_misses":       c.stats.budgetMisses,
		"dropped_frames":      c.mb.droppedAudio.Load(),
		"pacing":              pacingStats(c.player.Stats()),
		"latency":             lat,
		"transcript":          c.transcript,
	})
	c.ended.Store(true)
}

// finish runs on the actor goroutine after the loop: it releases everything the
// call started and waits for it, so no goroutine of the call survives.
func (c *Call) finish() {
	if !c.ended.Load() {
		c.end(ReasonServerShutdown)
	}
	c.mb.close()
	c.cancel()
	if err := c.stt.Close(); err != nil {
		c.log.Debug("closing speech-to-text stream", "err", err)
	}
	c.tts.close()
	c.player.Close()
	if err := c.conn.Close(c.endReason); err != nil {
		c.log.Debug("closing transport", "err", err)
	}
	go func() {
		c.wg.Wait()
		c.finishTelemetry()
		if c.opts.OnEnd != nil {
			c.opts.OnEnd(c)
		}
		close(c.done)
	}()
}
