package metrics_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/parley-voice/parley/runtime/events"
	"github.com/parley-voice/parley/runtime/metrics"
	"github.com/parley-voice/parley/runtime/webhooks"
	"github.com/parley-voice/parley/runtime/webhooks/dispatch"
)

// fakeSource is a dispatcher as the collector sees it.
type fakeSource struct {
	health []webhooks.EndpointHealth
	eps    []dispatch.EndpointStatus
	err    error
	stats  dispatch.ProducerStats
}

func (f *fakeSource) Health() []webhooks.EndpointHealth { return f.health }
func (f *fakeSource) Endpoints(context.Context) ([]dispatch.EndpointStatus, error) {
	return f.eps, f.err
}
func (f *fakeSource) Stats() dispatch.ProducerStats { return f.stats }

func TestAttemptStatusClasses(t *testing.T) {
	m := metrics.New(metrics.Options{})
	old := events.NewEventID(time.Now().Add(-90 * time.Second))
	for _, a := range []dispatch.AttemptRecord{
		{EndpointID: "crm", EventID: old, Attempt: webhooks.Attempt{Status: 204, Outcome: webhooks.OutcomeDelivered, Latency: 30 * time.Millisecond}},
		{EndpointID: "crm", EventID: old, Attempt: webhooks.Attempt{Status: 301, Outcome: webhooks.OutcomeRetry}},
		{EndpointID: "crm", EventID: old, Attempt: webhooks.Attempt{Status: 429, Outcome: webhooks.OutcomeRetry}},
		{EndpointID: "crm", EventID: old, Attempt: webhooks.Attempt{Status: 410, Outcome: webhooks.OutcomeGone}, DeadLettered: true},
		{EndpointID: "crm", EventID: old, Attempt: webhooks.Attempt{Status: 503, Outcome: webhooks.OutcomeRetry}},
		{EndpointID: "crm", EventID: old, Attempt: webhooks.Attempt{Timeout: true, Outcome: webhooks.OutcomeRetry}},
		{EndpointID: "crm", EventID: old, Attempt: webhooks.Attempt{Err: "connection refused", Outcome: webhooks.OutcomeRetry}},
		{EndpointID: "crm", EventID: old, Attempt: webhooks.Attempt{Outcome: webhooks.OutcomeRejected}, DeadLettered: true},
		{EndpointID: "crm", EventID: "not-an-id", Attempt: webhooks.Attempt{Status: 200, Outcome: webhooks.OutcomeDelivered}},
	} {
		m.ObserveAttempt(&a)
	}
	f := scrapeHandler(t, m.Handler())
	for class, want := range map[string]float64{"2xx": 2, "3xx": 1, "4xx": 2, "5xx": 1, "timeout": 1, "network": 1, "rejected": 1} {
		if got := f.value("parley_webhook_attempts_total", "endpoint=crm", "status_class="+class); got != want {
			t.Errorf("status class %s: %v, want %v", class, got, want)
		}
	}
	if got := f.value("parley_webhook_dead_lettered_total", "endpoint=crm"); got != 2 {
		t.Errorf("dead lettered %v, want 2", got)
	}
	// Only the delivery with a readable event id has a latency: about 90 s.
	if n, sum := f.hist("parley_webhook_delivery_latency_seconds", "endpoint=crm"); n != 1 || sum < 89 || sum > 120 {
		t.Errorf("delivery latency count %d sum %v, want one of about 90 s", n, sum)
	}
	if n, sum := f.hist("parley_webhook_attempt_duration_seconds", "endpoint=crm"); n != 1 || sum != 0.03 {
		t.Errorf("attempt duration count %d sum %v, want one of 0.03 s", n, sum)
	}
}

func TestWebhookCollector(t *testing.T) {
	src := &fakeSource{
		health: []webhooks.EndpointHealth{
			{EndpointID: "crm", Enabled: true, State: webhooks.BreakerClosed, InFlight: 2},
			{EndpointID: "billing", Enabled: true, State: webhooks.BreakerOpen},
			{EndpointID: "legacy", Enabled: false, DisabledReason: "410 Gone", State: webhooks.BreakerHalfOpen},
		},
		eps: []dispatch.EndpointStatus{
			{ID: "crm", Pending: 3, Retrying: 1},
			{ID: "billing", Pending: 120, Retrying: 40, DeadLettered: 7},
			{ID: "legacy"},
		},
		stats: dispatch.ProducerStats{Accepted: 100, Stored: 97, Dropped: 3, Buffered: 5, BufferSize: 64},
	}
	m := metrics.New(metrics.Options{})
	m.WatchWebhooks(src)
	f := scrapeHandler(t, m.Handler())
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"parley_webhook_circuit_state", []string{"endpoint=crm"}, 0},
		{"parley_webhook_circuit_state", []string{"endpoint=legacy"}, 1},
		{"parley_webhook_circuit_state", []string{"endpoint=billing"}, 2},
		{"parley_webhook_endpoint_enabled", []string{"endpoint=legacy"}, 0},
		{"parley_webhook_endpoint_enabled", []string{"endpoint=crm"}, 1},
		{"parley_webhook_in_flight", []string{"endpoint=crm"}, 2},
		{"parley_webhook_queue_depth", []string{"endpoint=billing"}, 120},
		{"parley_webhook_retry_depth", []string{"endpoint=billing"}, 40},
		{"parley_webhook_dlq_size", []string{"endpoint=billing"}, 7},
		{"parley_webhook_dlq_size", []string{"endpoint=crm"}, 0},
		{"parley_webhook_queue_up", nil, 1},
		{"parley_webhook_events_accepted_total", nil, 100},
		{"parley_webhook_events_stored_total", nil, 97},
		{"parley_webhook_events_dropped_total", nil, 3},
		{"parley_webhook_producer_buffered", nil, 5},
		{"parley_webhook_producer_buffer_size", nil, 64},
	} {
		if got := f.value(c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}

	// The queue unreachable: the scrape still succeeds, says so, and keeps
	// the circuit states, which live in memory.
	src.eps, src.err = nil, errors.New("nats: no responders available for request")
	f = scrapeHandler(t, m.Handler())
	if got := f.value("parley_webhook_queue_up"); got != 0 {
		t.Errorf("queue_up %v with the queue unreachable, want 0", got)
	}
	if got := f.value("parley_webhook_circuit_state", "endpoint=billing"); got != 2 {
		t.Errorf("circuit state %v with the queue unreachable, want 2", got)
	}
	if f["parley_webhook_queue_depth"] != nil {
		t.Error("queue depths reported although the queue could not be read")
	}
}
