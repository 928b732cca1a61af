package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/parley-voice/parley/runtime/events"
	"github.com/parley-voice/parley/runtime/webhooks"
)

// Dispatcher queues events durably and delivers them to webhook endpoints. It
// is an events.Sink: add it to the bus with AddSink. Open it with Open; Close
// it once.
type Dispatcher struct {
	cfg   Config
	log   *slog.Logger
	clock webhooks.Clock
	names names

	ns *server.Server // the embedded server, nil with Config.URL
	nc *nats.Conn
	js jetstream.JetStream

	events, retries, dlq, attempts jetstream.Stream
	state                          jetstream.KeyValue

	endpoints       []*endpoint
	byID            map[string]*endpoint
	minPayloadLimit int // the smallest max_payload_bytes of the endpoints

	prod *producer

	ctx    context.Context // ends when delivery must stop
	cancel context.CancelFunc
	wg     sync.WaitGroup // delivery goroutines
	closed sync.Once
}

// names are the JetStream names under the configured prefix.
type names struct {
	upper, lower                                 string
	events, retries, dlq, attempts, stateKV      string
	evSubject, retrySubject, dlqSubject, attSubj string // prefixes, ending in '.'
}

func newNames(prefix string) names {
	lo := strings.ToLower(prefix)
	return names{
		upper: prefix, lower: lo,
		events: prefix + "_EVENTS", retries: prefix + "_WH_RETRY", dlq: prefix + "_WH_DLQ",
		attempts: prefix + "_WH_ATTEMPTS", stateKV: prefix + "_WH_STATE",
		evSubject: lo + ".ev.", retrySubject: lo + ".wh.retry.", dlqSubject: lo + ".wh.dlq.", attSubj: lo + ".wh.att.",
	}
}

// Open starts (or connects to) NATS, creates or updates the streams and the
// endpoints' consumers, and starts delivering. Every endpoint is checked
// first; all problems are reported at once.
func Open(ctx context.Context, cfg Config) (*Dispatcher, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	d := &Dispatcher{cfg: cfg, log: cfg.Logger.With("component", "webhooks"), clock: cfg.Clock, names: newNames(cfg.Prefix), byID: map[string]*endpoint{}}
	if err := d.connect(); err != nil {
		d.shutdownNATS()
		return nil, err
	}
	if err := d.setup(ctx); err != nil {
		d.shutdownNATS()
		return nil, err
	}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	for i := range cfg.Endpoints {
		ep, err := d.newEndpoint(ctx, cfg.Endpoints[i])
		if err != nil {
			d.cancel()
			d.shutdownNATS()
			return nil, err
		}
		d.endpoints = append(d.endpoints, ep)
		if len(d.endpoints) == 1 || ep.ep.MaxPayloadBytes < d.minPayloadLimit {
			d.minPayloadLimit = ep.ep.MaxPayloadBytes
		}
		d.byID[ep.ep.ID] = ep
	}
	if err := d.watchState(); err != nil {
		d.cancel()
		d.shutdownNATS()
		return nil, err
	}
	if !cfg.NoDeliver {
		for _, ep := range d.endpoints {
			if err := ep.start(); err != nil {
				d.cancel()
				d.wg.Wait()
				d.shutdownNATS()
				return nil, err
			}
		}
	}
	if !cfg.NoProduce {
		c, err := d.dial("producer")
		if err != nil {
			d.cancel()
			d.wg.Wait()
			d.shutdownNATS()
			return nil, err
		}
		d.prod = newProducer(d, c)
	}
	where := cfg.URL
	if where == "" {
		where = "embedded, " + filepath.Join(cfg.DataDir, "nats")
	}
	d.log.Info("webhook dispatcher ready", "queue", where, "endpoints", len(d.endpoints), "deliver", !cfg.NoDeliver)
	return d, nil
}

// connect starts the embedded server (without Config.URL) and opens the
// control connection.
func (d *Dispatcher) connect() error {
	cfg := &d.cfg
	if cfg.URL == "" {
		dir := filepath.Join(cfg.DataDir, "nats")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("webhook queue: creating %s: %w", dir, err)
		}
		ns, err := server.NewServer(&server.Options{
			ServerName: "parley-embedded",
			DontListen: true,
			JetStream:  true,
			StoreDir:   dir,
			NoSigs:     true,
			NoLog:      true,
			// Streams with a byte limit reserve it; without a set maximum the
			// server allows only 75% of the disk's free space, so a smaller
			// disk could not even open the queue. Writes still stop (and
			// publishes fail, loudly) when the disk is really full.
			JetStreamMaxStore: cfg.MaxEventBytes + cfg.MaxAttemptBytes + 4<<30,
		})
		if err != nil {
			return fmt.Errorf("webhook queue: starting the embedded NATS server: %w", err)
		}
		ns.Start()
		if !ns.ReadyForConnections(30 * time.Second) {
			ns.Shutdown()
			return fmt.Errorf("webhook queue: the embedded NATS server did not start within 30s (store %s)", dir)
		}
		d.ns = ns
	}
	c, err := d.dial("control")
	if err != nil {
		return err
	}
	d.nc, d.js = c.nc, c.js
	return nil
}

// conn is one NATS connection with its JetStream context.
type conn struct {
	nc *nats.Conn
	js jetstream.JetStream
}

// dial opens a connection. The producer and each endpoint have their own, so
// that a burst of publishes never queues pulls and acks behind it.
func (d *Dispatcher) dial(role string) (*conn, error) {
	cfg := &d.cfg
	opts := []nats.Option{
		nats.Name("parley-webhooks-" + role),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				d.log.Warn("webhook queue disconnected; reconnecting", "connection", role, "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			d.log.Info("webhook queue reconnected", "connection", role, "server", nc.ConnectedUrlRedacted())
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			d.log.Warn("webhook queue: asynchronous error", "connection", role, "err", err)
		}),
	}
	url := cfg.URL
	if d.ns != nil {
		opts = append(opts, nats.InProcessServer(d.ns))
		url = nats.DefaultURL // not dialled
	} else {
		opts = append(opts, cfg.NATSOptions...)
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("webhook queue: connecting to NATS at %s: %w", redactURL(cfg.URL), err)
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(cfg.MaxPublishing),
		jetstream.WithPublishAsyncTimeout(3*time.Second)) // a cluster elects a new leader in 1–3 s
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("webhook queue: %w", err)
	}
	return &conn{nc: nc, js: js}, nil
}

// close drains the connection, so that acks and publishes in flight reach
// the server, then closes it.
func (c *conn) close() {
	if c == nil || c.nc == nil {
		return
	}
	_ = c.nc.Drain()
	deadline := time.Now().Add(5 * time.Second)
	for !c.nc.IsClosed() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	c.nc.Close()
}

// redactURL drops credentials from NATS URLs for messages.
func redactURL(u string) string {
	if u == "" {
		return "(embedded)"
	}
	parts := strings.Split(u, ",")
	for i, p := range parts {
		if at := strings.LastIndex(p, "@"); at >= 0 {
			if s := strings.Index(p, "://"); s >= 0 && s < at {
				parts[i] = p[:s+3] + "***@" + p[at+1:]
			}
		}
	}
	return strings.Join(parts, ",")
}

// setup creates or updates the streams and the state bucket.
func (d *Dispatcher) setup(ctx context.Context) error {
	cfg, n := &d.cfg, &d.names
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	mk := func(sc jetstream.StreamConfig) (jetstream.Stream, error) {
		sc.Storage = jetstream.FileStorage
		sc.Replicas = cfg.Replicas
		sc.AllowDirect = true
		s, err := d.js.CreateOrUpdateStream(ctx, sc)
		if err != nil {
			return nil, fmt.Errorf("webhook queue: creating stream %s: %w", sc.Name, err)
		}
		return s, nil
	}
	var err error
	if d.events, err = mk(jetstream.StreamConfig{
		Name: n.events, Description: "Parley call events, stored once for every webhook endpoint",
		Subjects: []string{n.evSubject + ">"}, Retention: jetstream.LimitsPolicy,
		MaxAge: cfg.EventRetention, MaxBytes: cfg.MaxEventBytes, Discard: jetstream.DiscardOld,
		Duplicates: 2 * time.Minute,
	}); err != nil {
		return err
	}
	if d.retries, err = mk(jetstream.StreamConfig{
		Name: n.retries, Description: "Parley webhook retries, each with its due time",
		Subjects: []string{n.retrySubject + ">"}, Retention: jetstream.WorkQueuePolicy,
		Duplicates: 2 * time.Minute,
	}); err != nil {
		return err
	}
	if d.dlq, err = mk(jetstream.StreamConfig{
		Name: n.dlq, Description: "Parley webhook dead-letter queue",
		Subjects: []string{n.dlqSubject + ">"}, Retention: jetstream.LimitsPolicy,
		MaxAge: cfg.DLQRetention, Duplicates: 2 * time.Minute,
	}); err != nil {
		return err
	}
	if d.attempts, err = mk(jetstream.StreamConfig{
		Name: n.attempts, Description: "Parley webhook attempt log",
		Subjects: []string{n.attSubj + ">"}, Retention: jetstream.LimitsPolicy,
		MaxAge: cfg.AttemptRetention, MaxBytes: cfg.MaxAttemptBytes, Discard: jetstream.DiscardOld,
	}); err != nil {
		return err
	}
	d.state, err = d.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: n.stateKV, Description: "Parley webhook endpoints disabled at run time",
		Storage: jetstream.FileStorage, Replicas: cfg.Replicas, History: 1,
	})
	if err != nil {
		return fmt.Errorf("webhook queue: creating key-value bucket %s: %w", n.stateKV, err)
	}
	return nil
}

// Accept queues an event for delivery without blocking (events.Sink). When the
// local buffer is full the event is dropped, counted and logged.
func (d *Dispatcher) Accept(ev *events.Event) {
	if d.prod != nil {
		d.prod.accept(ev)
	}
}

// Flush waits until every event accepted so far is stored in the queue (or was
// dropped), or ctx ends.
func (d *Dispatcher) Flush(ctx context.Context) error {
	if d.prod == nil {
		return nil
	}
	return d.prod.flush(ctx)
}

// Close stops taking events, stores those still buffered, stops fetching new
// deliveries and lets the ones in flight finish until ctx ends (then cancels
// them: they stay in the queue), and shuts NATS down. Events not yet delivered
// stay in the queue for the next start.
func (d *Dispatcher) Close(ctx context.Context) error {
	var err error
	d.closed.Do(func() {
		if d.prod != nil {
			err = d.prod.close(ctx)
		}
		for _, ep := range d.endpoints {
			ep.stopFetching()
		}
		done := make(chan struct{})
		go func() { d.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			d.log.Warn("webhook deliveries still in flight at the shutdown deadline; cancelling them (they stay queued)")
			d.cancel()
			<-done
		}
		d.cancel()
		for _, ep := range d.endpoints {
			ep.close()
		}
		d.shutdownNATS()
		d.log.Info("webhook dispatcher stopped")
	})
	return err
}

func (d *Dispatcher) shutdownNATS() {
	for _, e := range d.endpoints {
		e.conn.close()
	}
	if d.prod != nil {
		d.prod.conn.close()
	}
	if d.nc != nil {
		(&conn{nc: d.nc}).close()
	}
	if d.ns != nil {
		d.ns.Shutdown()
		d.ns.WaitForShutdown()
	}
}

var hostname = func() string {
	h, err := os.Hostname()
	if err != nil {
		return "parley"
	}
	return h
}()

// Ready reports whether the queue connection is up, for /readyz.
func (d *Dispatcher) Ready() error {
	if d.nc == nil || !d.nc.IsConnected() {
		return errors.New("webhook queue (NATS) not connected")
	}
	return nil
}
