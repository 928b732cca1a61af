package metrics

import (
	"log/slog"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/parley-voice/parley/runtime/events"
)

// Namespace prefixes every metric name.
const Namespace = "parley"

// Options configures New.
type Options struct {
	// MaxCalls is the node's admission limit (serve --max-calls), exported as
	// parley_calls_max so that alerts can compare live calls with it; 0 leaves
	// the gauge out.
	MaxCalls int
	// Logger receives scrape errors; slog.Default when nil.
	Logger *slog.Logger
}

// Metrics is a node's set of metrics on its own registry. Add it to the
// server's event bus (it is an events.Sink), set it as the webhook
// dispatcher's Observer, call WatchWebhooks once the dispatcher is open, and
// serve Handler.
type Metrics struct {
	reg *prometheus.Registry
	log *slog.Logger

	agents, transports, reasons, stages, providers, tools, endpoints *labelSet

	// Calls.
	callsLive     *prometheus.GaugeVec
	callsStarted  *prometheus.CounterVec
	callsEnded    *prometheus.CounterVec
	callDuration  *prometheus.HistogramVec
	droppedFrames *prometheus.CounterVec
	lateness      *prometheus.HistogramVec
	underruns     *prometheus.CounterVec
	watchdogs     *prometheus.CounterVec

	// Turns.
	turns          *prometheus.CounterVec
	stageLatency   *prometheus.HistogramVec
	response       *prometheus.HistogramVec
	budgetExceeded *prometheus.CounterVec
	bargeIns       *prometheus.CounterVec
	providerErrors *prometheus.CounterVec
	fallbacks      *prometheus.CounterVec
	toolCalls      *prometheus.CounterVec
	toolDuration   *prometheus.HistogramVec

	// Webhooks.
	attempts        *prometheus.CounterVec
	attemptDuration *prometheus.HistogramVec
	deliveryLatency *prometheus.HistogramVec
	deadLettered    *prometheus.CounterVec

	// calls maps a live call's id to the labels it was counted under, so
	// that call.ended (which does not repeat the transport) takes the same
	// live series down. It holds live calls only.
	mu    sync.Mutex
	calls map[string]callLabels
	// perAgent caches each agent's resolved series for the hot path.
	perAgent sync.Map // agent label → *agentSeries
}

type callLabels struct{ agent, transport string }

// Bucket boundaries, in seconds.
var (
	stageBuckets    = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10}
	responseBuckets = []float64{0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.25, 1.5, 2, 2.5, 3, 5, 10}
	callBuckets     = []float64{5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200}
	toolBuckets     = []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}
	latenessBuckets = []float64{0.001, 0.002, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 1}
	attemptBuckets  = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}
	deliveryBuckets = []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600, 21600, 86400}
)

// New makes the metrics and registers them, with the Go and process
// collectors, on a new registry.
func New(opts Options) *Metrics {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(), log: opts.Logger.With("component", "metrics"),
		agents:     newLabelSet(maxAgents),
		transports: newLabelSet(0, knownTransports...),
		reasons:    newLabelSet(maxReasons, knownReasons...),
		stages:     newLabelSet(maxStages, knownStages...),
		providers:  newLabelSet(maxProviders),
		tools:      newLabelSet(maxTools),
		endpoints:  newLabelSet(maxEndpoints),
		calls:      map[string]callLabels{},
	}
	counter := func(sub, name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Subsystem: sub, Name: name, Help: help}, labels)
	}
	hist := func(sub, name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Subsystem: sub, Name: name, Help: help, Buckets: buckets}, labels)
	}
	m.callsLive = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Subsystem: "calls", Name: "live",
		Help: "Calls in progress on this node."}, []string{"agent", "transport"})
	m.callsStarted = counter("calls", "started_total", "Calls admitted on this node.", "agent", "transport")
	m.callsEnded = counter("calls", "ended_total", "Calls ended on this node, by call.ended reason.", "agent", "reason")
	m.callDuration = hist("call", "duration_seconds", "Length of ended calls.", callBuckets, "agent")
	m.droppedFrames = counter("call", "dropped_frames_total",
		"Inbound audio frames dropped because a call's mailbox was full (counted when the call ends).", "agent")
	m.lateness = hist("call", "frame_lateness_p99_seconds",
		"Per call, the 99th percentile of how late outgoing audio frames were written against their schedule (frame pacing jitter).", latenessBuckets, "agent")
	m.underruns = counter("call", "frame_underruns_total",
		"Outgoing frames written after the far end had run out of audio (counted when the call ends).", "agent")
	m.watchdogs = counter("call", "watchdog_total", "Replies cancelled by the watchdog for making no progress.", "agent")

	m.turns = counter("turns", "completed_total", "Caller turns completed, by whether the reply was interrupted.", "agent", "interrupted")
	m.stageLatency = hist("turn", "stage_duration_seconds",
		"Duration of each stage of a turn's timeline (turn.completed latency_ms).", stageBuckets, "agent", "stage")
	m.response = hist("turn", "response_seconds",
		"Response latency: caller's last voiced frame to the reply's first frame out.", responseBuckets, "agent")
	m.budgetExceeded = counter("turn", "budget_exceeded_total", "Turn stages that missed their budget (turn.budget_exceeded).", "agent", "stage")
	m.bargeIns = counter("turn", "barge_ins_total",
		"Caller speech over the agent: outcome interrupted (the reply was cancelled) or false (a backchannel or noise; the reply resumed).", "agent", "outcome")
	m.providerErrors = counter("provider", "errors_total", "Provider failures (provider.error).", "agent", "stage", "provider")
	m.fallbacks = counter("provider", "fallbacks_total", "Moves to the next provider of a fallback chain (provider.fallback).", "agent", "stage")
	m.toolCalls = counter("tool", "calls_total", "Tool calls finished, by outcome ok or error.", "agent", "tool", "outcome")
	m.toolDuration = hist("tool", "duration_seconds", "Duration of tool calls.", toolBuckets, "agent", "tool")

	m.attempts = counter("webhook", "attempts_total",
		"Webhook delivery attempts, by status class: 2xx, 3xx, 4xx, 5xx, timeout, network (no response), rejected (never sendable).", "endpoint", "status_class")
	m.attemptDuration = hist("webhook", "attempt_duration_seconds", "Duration of webhook delivery attempts (request to response).", attemptBuckets, "endpoint")
	m.deliveryLatency = hist("webhook", "delivery_latency_seconds",
		"Time from an event to its successful delivery at an endpoint, retries included.", deliveryBuckets, "endpoint")
	m.deadLettered = counter("webhook", "dead_lettered_total", "Events sent to the DLQ by this node.", "endpoint")

	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.callsLive, m.callsStarted, m.callsEnded, m.callDuration, m.droppedFrames, m.lateness, m.underruns, m.watchdogs,
		m.turns, m.stageLatency, m.response, m.budgetExceeded, m.bargeIns, m.providerErrors, m.fallbacks, m.toolCalls, m.toolDuration,
		m.attempts, m.attemptDuration, m.deliveryLatency, m.deadLettered,
	)
	if opts.MaxCalls > 0 {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: Namespace, Subsystem: "calls", Name: "max",
			Help: "The node's limit of concurrent calls (serve --max-calls)."}, func() float64 { return float64(opts.MaxCalls) }))
	}
	return m
}

// Registry returns the registry, to register more collectors on.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.InstrumentMetricHandler(m.reg, promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:      slogPrinter{m.log},
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      m.reg,
	}))
}

// slogPrinter adapts the logger to promhttp's error log.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Println(v ...any) { p.log.Warn("serving metrics", "err", v) }

var _ events.Sink = (*Metrics)(nil)
