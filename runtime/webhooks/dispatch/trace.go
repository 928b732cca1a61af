package dispatch

import (
	"context"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/parley-voice/parley/runtime/events"
	"github.com/parley-voice/parley/runtime/telemetry"
	"github.com/parley-voice/parley/runtime/webhooks"
)

// Tracing of deliveries (docs/OPERATIONS.md, "Traces"). An event emitted
// inside a traced call carries the W3C traceparent of the span it was
// emitted in (events.Event.TraceParent). The producer stores it as the
// traceparent header of the event's message — the JSON body, which is what
// endpoints receive and what is signed, does not change — and the retry and
// DLQ copies keep it. Each delivery attempt is a "webhook.deliver" span of
// its own trace (an attempt may come hours after the call, from another
// node), linked to the event's span, so a tracing UI leads from a failed
// delivery to the turn that caused it and back.

// hdrTraceParent carries an event's trace context on the events, retry and
// DLQ streams.
const hdrTraceParent = telemetry.TraceParentHeader

// setTraceParent puts the event's trace context on its stream message.
func setTraceParent(h nats.Header, ev *events.Event) {
	if ev.TraceParent != "" {
		h[hdrTraceParent] = []string{ev.TraceParent}
	}
}

// startAttemptSpan opens the span of one delivery attempt of j, linked to
// the span of the event's emission when the message carries one. ctx is
// returned unchanged and span is nil when the dispatcher is not traced.
func (e *endpoint) startAttemptSpan(ctx context.Context, j *job) (context.Context, trace.Span) {
	tr := e.d.cfg.Tracer
	if tr == nil {
		return ctx, nil
	}
	opts := []trace.SpanStartOption{
		trace.WithNewRoot(), trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(
			attribute.String("parley.endpoint_id", e.ep.ID),
			attribute.String("parley.event_id", j.msg.EventID),
			attribute.String("parley.event_type", j.msg.Type),
			attribute.String("parley.call_id", j.msg.CallID),
			attribute.Int("parley.attempt", j.n),
			attribute.Bool("parley.retry", j.retry),
			attribute.String("http.request.method", "POST"),
		),
	}
	if sc, ok := telemetry.ParseTraceParent(j.traceParent); ok {
		opts = append(opts, trace.WithLinks(trace.Link{SpanContext: sc,
			Attributes: []attribute.KeyValue{attribute.String("parley.link", "emitted_by")}}))
	}
	return tr.Start(ctx, "webhook.deliver", opts...)
}

// endAttemptSpan records the attempt's outcome and ends its span.
func endAttemptSpan(span trace.Span, rec *AttemptRecord) {
	if span == nil {
		return
	}
	a := &rec.Attempt
	span.SetAttributes(attribute.String("parley.outcome", a.Outcome.String()),
		attribute.Float64("parley.latency_ms", float64(a.Latency.Microseconds())/1000))
	if a.Status != 0 {
		span.SetAttributes(attribute.Int("http.response.status_code", a.Status))
	}
	if !rec.NextAt.IsZero() {
		span.SetAttributes(attribute.String("parley.next_attempt_at", rec.NextAt.UTC().Format("2006-01-02T15:04:05.000Z")))
	}
	if rec.DeadLettered {
		span.SetAttributes(attribute.Bool("parley.dead_lettered", true))
	}
	switch {
	case a.Canceled:
		span.SetAttributes(attribute.Bool("parley.cancelled", true))
	case a.Outcome == webhooks.OutcomeDelivered:
		span.SetStatus(codes.Ok, "")
	default:
		span.SetStatus(codes.Error, a.Err)
	}
	span.End()
}
