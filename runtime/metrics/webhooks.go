package metrics

import (
	"context"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/parley-voice/parley/runtime/webhooks"
	"github.com/parley-voice/parley/runtime/webhooks/dispatch"
)

// ObserveAttempt counts one webhook delivery attempt: set Metrics as the
// dispatcher's Config.Observer. A delivered event's latency runs from the
// event's time (in its event id) to now.
func (m *Metrics) ObserveAttempt(rec *dispatch.AttemptRecord) {
	ep := m.endpoints.value(rec.EndpointID)
	m.attempts.WithLabelValues(ep, statusClass(&rec.Attempt)).Inc()
	if rec.Latency > 0 {
		m.attemptDuration.WithLabelValues(ep).Observe(rec.Latency.Seconds())
	}
	if rec.Outcome == webhooks.OutcomeDelivered {
		if at, ok := eventTime(rec.EventID); ok {
			m.deliveryLatency.WithLabelValues(ep).Observe(max(time.Since(at), 0).Seconds())
		}
	}
	if rec.DeadLettered {
		m.deadLettered.WithLabelValues(ep).Inc()
	}
}

// statusClass is the attempts_total status_class of an attempt.
func statusClass(a *webhooks.Attempt) string {
	switch {
	case a.Status >= 200 && a.Status < 600:
		return [...]string{"2xx", "3xx", "4xx", "5xx"}[a.Status/100-2]
	case a.Timeout:
		return "timeout"
	case a.Outcome == webhooks.OutcomeRejected:
		return "rejected"
	}
	return "network"
}

// eventTime reads the millisecond time in an event id ("evt_" + ULID).
func eventTime(id string) (time.Time, bool) {
	u, err := ulid.ParseStrict(strings.TrimPrefix(id, "evt_"))
	if err != nil {
		return time.Time{}, false
	}
	return ulid.Time(u.Time()), true
}

// WebhookSource is what the webhook collector reads at each scrape; a
// *dispatch.Dispatcher is one.
type WebhookSource interface {
	// Health is each endpoint's state on this node, without the queue.
	Health() []webhooks.EndpointHealth
	// Endpoints adds the queue depths, asking the queue.
	Endpoints(ctx context.Context) ([]dispatch.EndpointStatus, error)
	// Stats counts the events this node handed to the queue.
	Stats() dispatch.ProducerStats
}

// scrapeTimeout bounds the queue reads of one scrape.
const scrapeTimeout = 5 * time.Second

// WatchWebhooks registers a collector that reads the dispatcher's endpoints
// and producer at each scrape. Call it once, after the dispatcher is open.
func (m *Metrics) WatchWebhooks(src WebhookSource) {
	m.reg.MustRegister(&webhookCollector{m: m, src: src})
}

// webhookCollector reports read-at-scrape webhook values: queue depths and
// DLQ sizes (shared by every node of a cluster: aggregate with max, not
// sum), circuit states, and the producer's counters.
type webhookCollector struct {
	m   *Metrics
	src WebhookSource
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "webhook", name), help, labels, nil)
}

var (
	descQueueUp = desc("queue_up", "1 when the last scrape could read the webhook queue, 0 when it could not.")
	descPending = desc("queue_depth",
		"Events stored for an endpoint that it has not yet taken or finished (first attempts). Cluster-wide: every node reports the same value.", "endpoint")
	descRetrying = desc("retry_depth", "Events waiting for a retry at an endpoint. Cluster-wide.", "endpoint")
	descDLQ      = desc("dlq_size", "Events in an endpoint's dead-letter queue. Cluster-wide.", "endpoint")
	descCircuit  = desc("circuit_state", "An endpoint's circuit breaker on this node: 0 closed, 1 half-open, 2 open.", "endpoint")
	descEnabled  = desc("endpoint_enabled", "1 when an endpoint takes deliveries, 0 when disabled (by config or after 410 Gone).", "endpoint")
	descInFlight = desc("in_flight", "Requests to an endpoint outstanding on this node.", "endpoint")
	descAccepted = desc("events_accepted_total", "Events this node's producer took from the bus.")
	descStored   = desc("events_stored_total", "Events this node stored in the queue.")
	descDropped  = desc("events_dropped_total",
		"Events dropped because the producer's buffer was full (the queue was too slow or unreachable); never delivered.")
	descBuffered = desc("producer_buffered", "Events waiting in this node's producer buffer for the queue.")
	descBufSize  = desc("producer_buffer_size", "Capacity of the producer buffer.")
)

// Describe sends every descriptor.
func (c *webhookCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descQueueUp, descPending, descRetrying, descDLQ, descCircuit, descEnabled,
		descInFlight, descAccepted, descStored, descDropped, descBuffered, descBufSize} {
		ch <- d
	}
}

// Collect reads the dispatcher. Circuit states come from memory and are
// reported even when the queue cannot be read.
func (c *webhookCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	// Endpoints beyond the label cap are left out rather than reported twice
	// under "other".
	for _, h := range c.src.Health() {
		ep := c.m.endpoints.value(h.EndpointID)
		if ep == Other {
			continue
		}
		gauge(descCircuit, circuitValue(h.State), ep)
		enabled := 0.0
		if h.Enabled {
			enabled = 1
		}
		gauge(descEnabled, enabled, ep)
		gauge(descInFlight, float64(h.InFlight), ep)
	}
	st := c.src.Stats()
	counter(descAccepted, st.Accepted)
	counter(descStored, st.Stored)
	counter(descDropped, st.Dropped)
	gauge(descBuffered, float64(st.Buffered))
	gauge(descBufSize, float64(st.BufferSize))

	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	eps, err := c.src.Endpoints(ctx)
	if err != nil {
		c.m.log.Warn("metrics: reading the webhook queue", "err", err)
		gauge(descQueueUp, 0)
		return
	}
	gauge(descQueueUp, 1)
	for _, s := range eps {
		ep := c.m.endpoints.value(s.ID)
		if ep == Other {
			continue
		}
		gauge(descPending, float64(s.Pending), ep)
		gauge(descRetrying, float64(s.Retrying), ep)
		gauge(descDLQ, float64(s.DeadLettered), ep)
	}
}

// circuitValue maps a breaker state to the circuit_state gauge.
func circuitValue(s webhooks.BreakerState) float64 {
	switch s {
	case webhooks.BreakerHalfOpen:
		return 1
	case webhooks.BreakerOpen:
		return 2
	}
	return 0
}

var (
	_ dispatch.AttemptObserver = (*Metrics)(nil)
	_ WebhookSource            = (*dispatch.Dispatcher)(nil)
	_ prometheus.Collector     = (*webhookCollector)(nil)
)
