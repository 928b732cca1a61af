package call

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/parley-voice/parley/pipeline"
	"github.com/parley-voice/parley/plugins"
	"github.com/parley-voice/parley/runtime/telemetry"
)

// Tracing of a call (docs/OPERATIONS.md, "Traces"). A call is one trace:
//
//	call                       the whole call, ended once all its goroutines stopped
//	├── turn                   one reply: the answer to a caller turn (from the
//	│   │                      caller's speech start), the greeting, a re-prompt
//	│   ├── stt.final          end of turn decided → final transcript
//	│   ├── llm.generate       one request to the reply generator (per tool round)
//	│   ├── tool               one tool call
//	│   └── tts.synthesize     one sentence
//	…
//
// With Options.Tracer nil nothing here runs beyond a nil check: no span, no
// allocation, and the audio path (Audio, onAudio, the player) is never
// touched. Every span carries parley.call_id; events emitted while a span is
// current carry its traceparent to the webhook queue, so a delivery attempt
// links back to the turn that caused it.

// Span attribute keys.
const (
	attrCallID     = attribute.Key("parley.call_id")
	attrAgentID    = attribute.Key("parley.agent_id")
	attrAgentVer   = attribute.Key("parley.agent_version")
	attrTransport  = attribute.Key("parley.transport")
	attrEndReason  = attribute.Key("parley.end_reason")
	attrTurn       = attribute.Key("parley.turn")
	attrReplyKind  = attribute.Key("parley.reply")
	attrOutcome    = attribute.Key("parley.outcome")
	attrProvider   = attribute.Key("parley.provider")
	attrModel      = attribute.Key("parley.model")
	attrRound      = attribute.Key("parley.tool_round")
	attrToolName   = attribute.Key("parley.tool.name")
	attrToolCallID = attribute.Key("parley.tool.call_id")
)

// callTrace is a call's tracing state; the zero value means tracing is off.
// It is owned by the actor goroutine, except span, which is safe for
// concurrent use.
type callTrace struct {
	tracer      trace.Tracer
	span        trace.Span // the call's root span
	traceParent string     // of span, for events outside a turn
	attrs       []attribute.KeyValue
}

// ttsTrace is what the synthesis worker needs to make its spans; set by
// startTelemetry, nil attrs when tracing is off.
type ttsTrace struct {
	tracer   trace.Tracer
	provider string
	attrs    []attribute.KeyValue
}

// startTelemetry runs at the end of Start: it opens the call's span, makes
// it the parent of everything the call does, and logs the call's start.
func (c *Call) startTelemetry() {
	if tr := c.opts.Tracer; tr != nil {
		c.trc.tracer = tr
		c.trc.attrs = []attribute.KeyValue{attrCallID.String(c.id)}
		ctx, span := tr.Start(c.ctx, "call", trace.WithNewRoot(), trace.WithSpanKind(trace.SpanKindServer),
			trace.WithTimestamp(c.started), trace.WithAttributes(
				attrCallID.String(c.id), attrAgentID.String(c.cfg.ID), attrAgentVer.String(c.agent.Version),
				attrTransport.String(c.params.Transport)))
		if span.IsRecording() {
			c.ctx = ctx
			c.trc.span = span
			c.trc.traceParent = telemetry.FormatTraceParent(span.SpanContext())
			c.tts.trace = ttsTrace{tracer: tr, provider: c.cfg.TTS.Provider, attrs: c.trc.attrs}
			c.log = c.log.With("trace_id", span.SpanContext().TraceID().String())
		} else {
			span.End() // sampled out: the call makes no spans at all
			c.trc.tracer = nil
		}
	}
	c.log.Info("call started", "transport", c.params.Transport, "agent_version", c.agent.Version)
}

// endTelemetry runs when the call ends (on the actor goroutine): it closes
// the reply's span and records why the call ended. The call's span itself
// ends in finishTelemetry, after every goroutine of the call has stopped, so
// that it encloses its children.
func (c *Call) endTelemetry(reason string) {
	lvl := c.log.Info
	switch reason {
	case ReasonProviderError, ReasonWatchdog:
		lvl = c.log.Warn
	}
	lvl("call ended", "reason", reason, "duration", c.now().Sub(c.started).Round(time.Millisecond),
		"turns", c.turns, "interruptions", c.stats.interruptions, "budget_misses", c.stats.budgetMisses,
		"dropped_frames", c.mb.droppedAudio.Load())
	if c.trc.span == nil {
		return
	}
	if r := c.reply; r != nil {
		c.endReplySpan(r, "call_ended")
	}
	c.trc.span.SetAttributes(attrEndReason.String(reason), attribute.Int("parley.turns", c.turns),
		attribute.Int("parley.interruptions", c.stats.interruptions),
		attribute.Int("parley.budget_misses", c.stats.budgetMisses))
	switch reason {
	case ReasonProviderError, ReasonWatchdog, ReasonTransportError:
		c.trc.span.SetStatus(codes.Error, "call ended: "+reason)
	}
}

// finishTelemetry ends the call's span; it runs once the call's goroutines
// have all stopped.
func (c *Call) finishTelemetry() {
	if c.trc.span != nil {
		c.trc.span.End()
	}
}

// traceParent is the W3C traceparent of the span an event emitted now
// belongs to: the live reply's, else the call's; "" when tracing is off.
func (c *Call) traceParent() string {
	if r := c.reply; r != nil && r.traceParent != "" {
		return r.traceParent
	}
	return c.trc.traceParent
}

// startReplySpan opens the span of a new reply. A reply that answers the
// caller starts at the caller's speech start, and gets a stt.final child
// from the end of the turn to the final transcript.
func (c *Call) startReplySpan(r *reply, o replyOpts) {
	if old := c.reply; old != nil && old != r {
		c.endReplySpan(old, "replaced")
	}
	if c.trc.tracer == nil {
		return
	}
	kind := "prompt"
	switch {
	case o.userTurn:
		kind = "caller"
	case o.greeting:
		kind = "greeting"
	case o.action == plugins.ActionEndCall:
		kind = "goodbye"
	}
	opts := []trace.SpanStartOption{trace.WithAttributes(attrCallID.String(c.id), attrTurn.Int(r.turn), attrReplyKind.String(kind))}
	if t := r.tl.At(pipeline.MarkSpeechStart); r.timed && !t.IsZero() {
		opts = append(opts, trace.WithTimestamp(t))
	}
	ctx, span := c.trc.tracer.Start(r.ctx, "turn", opts...)
	r.ctx, r.span = ctx, span
	r.traceParent = telemetry.FormatTraceParent(span.SpanContext())
	if !r.timed {
		return
	}
	eot, final := r.tl.At(pipeline.MarkEndOfTurn), r.tl.At(pipeline.MarkFinalTranscript)
	if !eot.IsZero() && !final.IsZero() {
		_, stt := c.trc.tracer.Start(ctx, "stt.final", trace.WithTimestamp(eot), trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(attrCallID.String(c.id), attrTurn.Int(r.turn), attrProvider.String(c.cfg.STT.Provider)))
		stt.End(trace.WithTimestamp(final))
	}
}

// endReplySpan closes a reply's span once: outcome is completed,
// interrupted, abandoned (the caller went on talking), replaced, watchdog or
// call_ended. The turn's timeline marks become span events.
func (c *Call) endReplySpan(r *reply, outcome string) {
	span := r.span
	if span == nil {
		return
	}
	r.span, r.traceParent = nil, ""
	span.SetAttributes(attrOutcome.String(outcome), attribute.Bool("parley.interrupted", outcome == "interrupted"),
		attribute.Int("parley.tool_rounds", r.round),
		attribute.Int("parley.usage.prompt_tokens", r.usage.PromptTokens),
		attribute.Int("parley.usage.completion_tokens", r.usage.CompletionTokens))
	if r.timed {
		for m := pipeline.MarkSpeechStart; m <= pipeline.MarkFirstFrameOut; m++ {
			if t := r.tl.At(m); !t.IsZero() {
				span.AddEvent(m.String(), trace.WithTimestamp(t))
			}
		}
		if d, ok := r.tl.ResponseLatency(); ok {
			span.SetAttributes(attribute.Float64("parley.response_ms", ms(d)))
		}
	}
	if outcome == "watchdog" {
		span.SetStatus(codes.Error, "the reply made no progress")
	}
	span.End()
}

// generate runs the reply generator inside an llm.generate span.
func (c *Call) generate(ctx context.Context, req *pipeline.LLMRequest, round int, sink func(pipeline.LLMChunk)) error {
	parent := trace.SpanFromContext(ctx)
	if c.trc.tracer == nil || !parent.IsRecording() {
		return c.llm.Generate(ctx, req, sink)
	}
	ctx, span := c.trc.tracer.Start(ctx, "llm.generate", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		attrCallID.String(c.id), attrTurn.Int(req.Turn), attrRound.Int(round),
		attrProvider.String(c.cfg.LLM.Provider), attrModel.String(c.cfg.LLM.Model),
		attribute.Int("parley.messages", len(req.Messages)), attribute.Int("parley.tools", len(req.Tools))))
	var usage pipeline.Usage
	var chars, toolCalls int
	first := true
	err := c.llm.Generate(ctx, req, func(ch pipeline.LLMChunk) {
		if first && (ch.Text != "" || len(ch.ToolCalls) > 0) {
			first = false
			span.AddEvent("first_token")
		}
		chars += len(ch.Text)
		toolCalls += len(ch.ToolCalls)
		if u := ch.Usage; u != nil {
			usage.PromptTokens += u.PromptTokens
			usage.CompletionTokens += u.CompletionTokens
		}
		sink(ch)
	})
	span.SetAttributes(attribute.Int("parley.usage.prompt_tokens", usage.PromptTokens),
		attribute.Int("parley.usage.completion_tokens", usage.CompletionTokens),
		attribute.Int("parley.chars", chars), attribute.Int("parley.tool_calls", toolCalls))
	endSpan(span, err)
	return err
}

// startToolSpan opens the span of one tool call; it ends in endToolSpan, on
// the goroutine that ran the tool.
func (c *Call) startToolSpan(ctx context.Context, r *reply, tc pipeline.ToolCall) (context.Context, trace.Span) {
	if c.trc.tracer == nil || r.span == nil {
		return ctx, nil
	}
	return c.trc.tracer.Start(ctx, "tool", trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(
		attrCallID.String(c.id), attrTurn.Int(r.turn), attrRound.Int(r.round),
		attrToolName.String(tc.Name), attrToolCallID.String(tc.ID)))
}

// endToolSpan records a tool call's outcome: ok, error or timeout.
func endToolSpan(span trace.Span, res plugins.Result, err error) {
	if span == nil {
		return
	}
	outcome := "ok"
	switch {
	case errors.Is(err, plugins.ErrToolTimeout):
		outcome = "timeout"
	case err != nil:
		outcome = "error"
	}
	span.SetAttributes(attrOutcome.String(outcome), attribute.Int("parley.result_bytes", len(res.Content)))
	if res.Action != plugins.ActionNone {
		span.SetAttributes(attribute.String("parley.tool.action", res.Action.String()))
	}
	if err == nil {
		span.SetStatus(codes.Ok, "")
	}
	endSpan(span, err)
}

// start opens the span of one sentence's synthesis, a child of the reply's
// span carried by ctx.
func (t *ttsTrace) start(ctx context.Context, j *ttsJob) (context.Context, trace.Span) {
	if t.tracer == nil || !trace.SpanFromContext(ctx).IsRecording() {
		return ctx, nil
	}
	ctx, span := t.tracer.Start(ctx, "tts.synthesize", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		append(t.attrs, attrProvider.String(t.provider), attribute.Int("parley.characters", len(j.text)),
			attribute.Int64("parley.sentence", int64(j.sid)))...))
	return ctx, span
}

// firstAudio marks when a sentence's first audio arrived.
func (t *ttsTrace) firstAudio(span trace.Span) {
	if span != nil {
		span.AddEvent("first_audio")
	}
}

// end closes a sentence's span with how much audio it produced.
func (t *ttsTrace) end(span trace.Span, samples int, err error) {
	if span == nil {
		return
	}
	span.SetAttributes(attribute.Int("parley.samples", samples))
	endSpan(span, err)
}

// endSpan ends a span with its error; a cancellation (barge-in, hang-up)
// is recorded as such, not as an error.
func endSpan(span trace.Span, err error) {
	switch {
	case err == nil:
	case errors.Is(err, context.Canceled):
		span.SetAttributes(attribute.Bool("parley.cancelled", true))
	default:
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// turnOutcome names how a turn's reply ended for its span.
func turnOutcome(interrupted bool) string {
	if interrupted {
		return "interrupted"
	}
	return "completed"
}
