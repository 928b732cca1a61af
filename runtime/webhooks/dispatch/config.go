package dispatch

import (
	"cmp"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/trace"

	"github.com/parley-voice/parley/runtime/events"
	"github.com/parley-voice/parley/runtime/webhooks"
)

// Config configures a Dispatcher. Zero fields take the defaults below.
type Config struct {
	// Endpoints are the subscriptions; ids must be unique.
	Endpoints []webhooks.Endpoint

	// URL is an external NATS server or cluster ("nats://a:4222,nats://b:4222").
	// Empty runs an embedded NATS server inside the process with file
	// storage under DataDir.
	URL string
	// NATSOptions are extra connection options for URL (credentials, TLS).
	NATSOptions []nats.Option
	// DataDir is where the embedded server keeps its JetStream files
	// (DataDir/nats). Required when URL is empty.
	DataDir string
	// Replicas is the number of copies a clustered JetStream keeps of each
	// stream (1 for the embedded server; 3 for a three-node cluster).
	Replicas int
	// Prefix names the streams, consumers and subjects; default "PARLEY"
	// (subjects use it lower-cased). Two deployments can share one NATS
	// cluster under different prefixes.
	Prefix string

	// Buffer is how many events may wait in memory for the queue to store
	// them; when it is full new events are dropped, counted and logged
	// (producing never blocks a call). Default 65536.
	Buffer int
	// MaxPublishing is how many events may be awaiting the queue's
	// acknowledgement at once. Default 4096.
	MaxPublishing int
	// Partitions is the number of event subject partitions. Default 16.
	Partitions int
	// AckWait is how long the queue waits for a delivery's outcome before
	// handing the event out again (after a crash). Default: the longest
	// endpoint timeout × 4, at least 30s.
	AckWait time.Duration
	// RetryPoll is the longest a waiting retry sleeps in the queue before it
	// is checked against the clock again. Default 1m.
	RetryPoll time.Duration
	// MaxWaitingRetries bounds the retries one endpoint may have waiting in
	// the queue at once; more wait their turn in the retry stream. Default
	// 100000.
	MaxWaitingRetries int
	// EventRetention, AttemptRetention and DLQRetention are how long events,
	// attempt records and dead letters are kept. Defaults 72h, 7 days and
	// 30 days. An endpoint that is disabled for longer than EventRetention
	// loses the events it did not take.
	EventRetention   time.Duration
	AttemptRetention time.Duration
	DLQRetention     time.Duration
	// MaxEventBytes and MaxAttemptBytes cap the events and attempts streams'
	// storage (the oldest go first). Defaults 2 GiB and 512 MiB. JetStream
	// reserves them (on every replica) when the streams are created.
	MaxEventBytes   int64
	MaxAttemptBytes int64

	// Produce and Deliver say what this node does; both default to true.
	// A node with Deliver false only queues events (other nodes deliver).
	NoProduce bool
	NoDeliver bool

	// Node names this process in attempt records; default the host name.
	Node string
	// Clock is the time of due retries, the circuit breakers, rate limits
	// and attempt records; webhooks.SystemClock when nil.
	Clock webhooks.Clock
	// Rand returns numbers in [0,1) for retry jitter; math/rand/v2 when nil.
	Rand func() float64
	// RootCAs, when set, replaces the system roots for HTTPS endpoints.
	RootCAs *x509.CertPool
	// OnPayloadRejected is called (on the dispatcher's goroutine) for each
	// endpoint an event is too large for; the server publishes an error event
	// from it. The event is still stored and delivered to the other endpoints.
	OnPayloadRejected func(*events.Event, *webhooks.PayloadTooLargeError)
	// Observer, when set, is told of every finished delivery attempt (on the
	// endpoint's delivery goroutine; it must be quick), e.g. for metrics.
	Observer AttemptObserver
	// Tracer, when set, makes a "webhook.deliver" span of each attempt,
	// linked to the span the event was emitted in (trace.go). Nil: no spans.
	Tracer trace.Tracer
	// Logger receives the dispatcher's logs; slog.Default when nil.
	Logger *slog.Logger
}

// Defaults of Config.
const (
	DefaultBuffer            = 65536
	DefaultMaxPublishing     = 4096
	DefaultPartitions        = 16
	DefaultRetryPoll         = time.Minute
	DefaultMaxWaitingRetries = 100000
	DefaultEventRetention    = 72 * time.Hour
	DefaultAttemptRetention  = 7 * 24 * time.Hour
	DefaultDLQRetention      = 30 * 24 * time.Hour
	DefaultMaxEventBytes     = 2 << 30
	DefaultMaxAttemptBytes   = 512 << 20
	minAckWait               = 30 * time.Second
)

func (c Config) withDefaults() Config {
	c.Replicas = cmp.Or(c.Replicas, 1)
	c.Prefix = cmp.Or(c.Prefix, "PARLEY")
	c.Buffer = cmp.Or(c.Buffer, DefaultBuffer)
	c.MaxPublishing = cmp.Or(c.MaxPublishing, DefaultMaxPublishing)
	c.Partitions = cmp.Or(c.Partitions, DefaultPartitions)
	c.RetryPoll = cmp.Or(c.RetryPoll, DefaultRetryPoll)
	c.MaxWaitingRetries = cmp.Or(c.MaxWaitingRetries, DefaultMaxWaitingRetries)
	c.EventRetention = cmp.Or(c.EventRetention, DefaultEventRetention)
	c.AttemptRetention = cmp.Or(c.AttemptRetention, DefaultAttemptRetention)
	c.DLQRetention = cmp.Or(c.DLQRetention, DefaultDLQRetention)
	c.MaxEventBytes = cmp.Or(c.MaxEventBytes, DefaultMaxEventBytes)
	c.MaxAttemptBytes = cmp.Or(c.MaxAttemptBytes, DefaultMaxAttemptBytes)
	if c.AckWait == 0 {
		c.AckWait = minAckWait
		for i := range c.Endpoints {
			ep := c.Endpoints[i].WithDefaults()
			c.AckWait = max(c.AckWait, 4*ep.Timeout.Std())
		}
	}
	if c.Clock == nil {
		c.Clock = webhooks.SystemClock
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

func (c *Config) validate() error {
	var errs []error
	if c.URL == "" && c.DataDir == "" {
		errs = append(errs, errors.New("webhook queue: data_dir is required for the embedded NATS server (or set queue.url)"))
	}
	if err := webhooks.ValidateEndpoints("webhooks.endpoints", c.Endpoints); err != nil {
		errs = append(errs, err)
	}
	if c.Replicas < 1 || c.Replicas > 5 {
		errs = append(errs, fmt.Errorf("webhook queue: replicas must be 1 to 5, got %d", c.Replicas))
	}
	for i := range c.Endpoints {
		ep := c.Endpoints[i].WithDefaults()
		if t := ep.Timeout.Std(); c.AckWait < 2*t {
			errs = append(errs, fmt.Errorf("webhook queue: ack_wait %s is shorter than twice endpoint %q's timeout of %s: deliveries still in flight would be handed out again", c.AckWait, ep.ID, t))
		}
	}
	if c.Partitions < 1 || c.Partitions > 1024 {
		errs = append(errs, fmt.Errorf("webhook queue: partitions must be 1 to 1024, got %d", c.Partitions))
	}
	return errors.Join(errs...)
}
