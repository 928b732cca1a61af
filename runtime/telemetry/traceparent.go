package telemetry

import (
	"context"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// TraceParentHeader is the W3C Trace Context header (and NATS message header)
// that carries a span context between processes.
const TraceParentHeader = "traceparent"

// FormatTraceParent returns the W3C traceparent of sc
// ("00-<trace id>-<span id>-<flags>"), or "" when sc is not valid.
func FormatTraceParent(sc trace.SpanContext) string {
	if !sc.IsValid() {
		return ""
	}
	const hex = "0123456789abcdef"
	tid, sid := sc.TraceID(), sc.SpanID()
	b := make([]byte, 0, 55)
	b = append(b, "00-"...)
	for _, x := range tid {
		b = append(b, hex[x>>4], hex[x&15])
	}
	b = append(b, '-')
	for _, x := range sid {
		b = append(b, hex[x>>4], hex[x&15])
	}
	f := byte(sc.TraceFlags())
	b = append(b, '-', hex[f>>4], hex[f&15])
	return string(b)
}

// ParseTraceParent reads a W3C traceparent; ok is false when s is empty or
// malformed. The span context returned is marked remote.
func ParseTraceParent(s string) (sc trace.SpanContext, ok bool) {
	if s == "" {
		return trace.SpanContext{}, false
	}
	ctx := propagation.TraceContext{}.Extract(context.Background(), propagation.MapCarrier{TraceParentHeader: s})
	sc = trace.SpanContextFromContext(ctx)
	return sc, sc.IsValid()
}
