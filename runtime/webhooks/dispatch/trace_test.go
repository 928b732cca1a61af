package dispatch_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/parley-voice/parley/runtime/telemetry"
	"github.com/parley-voice/parley/runtime/webhooks"
	"github.com/parley-voice/parley/runtime/webhooks/dispatch"
	"github.com/parley-voice/parley/runtime/webhooks/internal/whtest"
)

func spanAttr(s tracetest.SpanStub, key string) attribute.Value {
	for _, a := range s.Attributes {
		if string(a.Key) == key {
			return a.Value
		}
	}
	return attribute.Value{}
}

// TestAttemptSpansLinkToTheEmittingSpan: an event emitted in a traced span
// carries its traceparent through the events stream and, after a failed
// attempt, through the retry stream; each attempt is a root
// "webhook.deliver" span linked to the emitting span, with the attempt's
// number, status and outcome. The body the endpoint receives is unchanged.
// An event without a trace context gets an unlinked attempt span.
func TestAttemptSpansLinkToTheEmittingSpan(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer func() { _ = tp.Shutdown(context.Background()) }()

	rcv := whtest.NewReceiver(t)
	var failed atomic.Bool
	rcv.Respond = func(r *whtest.Receipt, _ int) (int, time.Duration) {
		if r.CallID == "call_traced" && !failed.Swap(true) {
			return http.StatusInternalServerError, 0
		}
		return http.StatusNoContent, 0
	}
	clock := whtest.NewClock()
	d := open(t, dispatch.Config{Endpoints: []webhooks.Endpoint{endpoint("crm", rcv.URL)}, Clock: clock,
		RetryPoll: 20 * time.Millisecond, Rand: func() float64 { return 0.5 },
		Tracer: tp.Tracer(telemetry.InstrumentationName)})

	_, emitting := tp.Tracer("test").Start(context.Background(), "turn")
	emitting.End()
	ev := whtest.Event("call_traced", 1)
	ev.TraceParent = telemetry.FormatTraceParent(emitting.SpanContext())
	plain := whtest.Event("call_plain", 1)
	d.Accept(ev)
	d.Accept(plain)
	attempts(t, d, ev.ID, 1)
	clock.Advance(5 * time.Second) // attempt 2 is due 5 s after attempt 1
	eventually(t, "delivery after a retry", func() bool { return rcv.Has(ev.ID) && rcv.Has(plain.ID) })

	var deliver []tracetest.SpanStub
	eventually(t, "three attempt spans", func() bool {
		deliver = deliver[:0]
		for _, s := range exp.GetSpans() {
			if s.Name == "webhook.deliver" {
				deliver = append(deliver, s)
			}
		}
		return len(deliver) == 3
	})
	var traced []tracetest.SpanStub
	for _, s := range deliver {
		if s.Parent.IsValid() {
			t.Errorf("attempt span has a parent %v; want a root linked to the event", s.Parent)
		}
		if spanAttr(s, "parley.endpoint_id").AsString() != "crm" {
			t.Errorf("attempt span endpoint %v", s.Attributes)
		}
		switch spanAttr(s, "parley.event_id").AsString() {
		case ev.ID:
			traced = append(traced, s)
		case plain.ID:
			if len(s.Links) != 0 {
				t.Errorf("an event without trace context got links %v", s.Links)
			}
		default:
			t.Errorf("attempt span for an unknown event: %v", s.Attributes)
		}
	}
	if len(traced) != 2 {
		t.Fatalf("%d attempt spans for the traced event, want 2", len(traced))
	}
	if spanAttr(traced[0], "parley.attempt").AsInt64() > spanAttr(traced[1], "parley.attempt").AsInt64() {
		traced[0], traced[1] = traced[1], traced[0]
	}
	want := []struct {
		attempt int64
		status  int64
		code    codes.Code
		outcome string
		retry   bool
	}{{1, 500, codes.Error, "retry", false}, {2, 204, codes.Ok, "delivered", true}}
	for i, w := range want {
		s := traced[i]
		if len(s.Links) != 1 || s.Links[0].SpanContext.SpanID() != emitting.SpanContext().SpanID() ||
			s.Links[0].SpanContext.TraceID() != emitting.SpanContext().TraceID() {
			t.Errorf("attempt %d links %v, want the emitting span %v", w.attempt, s.Links, emitting.SpanContext())
		}
		if s.SpanContext.TraceID() == emitting.SpanContext().TraceID() {
			t.Errorf("attempt %d is in the call's trace; want a trace of its own", w.attempt)
		}
		if got := spanAttr(s, "parley.attempt").AsInt64(); got != w.attempt {
			t.Errorf("attempt number %d, want %d", got, w.attempt)
		}
		if got := spanAttr(s, "http.response.status_code").AsInt64(); got != w.status {
			t.Errorf("attempt %d status %d, want %d", w.attempt, got, w.status)
		}
		if s.Status.Code != w.code || spanAttr(s, "parley.outcome").AsString() != w.outcome || spanAttr(s, "parley.retry").AsBool() != w.retry {
			t.Errorf("attempt %d: status %v outcome %q retry %v", w.attempt, s.Status, spanAttr(s, "parley.outcome").AsString(), spanAttr(s, "parley.retry").AsBool())
		}
		if spanAttr(s, "parley.event_type").AsString() != ev.Type || spanAttr(s, "parley.call_id").AsString() != "call_traced" {
			t.Errorf("attempt %d attributes %v", w.attempt, s.Attributes)
		}
	}
	if spanAttr(traced[0], "parley.next_attempt_at").AsString() == "" {
		t.Error("the failed attempt does not say when the next is due")
	}
	for _, r := range rcv.Receipts() {
		if strings.Contains(string(r.Body), "traceparent") || strings.Contains(string(r.Body), emitting.SpanContext().TraceID().String()) {
			t.Fatalf("the trace context reached the body: %s", r.Body)
		}
	}
}
