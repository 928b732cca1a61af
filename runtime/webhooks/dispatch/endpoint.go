package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/zeebo/xxh3"

	"github.com/parley-voice/parley/runtime/events"
	"github.com/parley-voice/parley/runtime/webhooks"
)

// endpoint is one subscription's delivery: its consumers, lanes, gate and
// deliverer.
type endpoint struct {
	d    *Dispatcher
	ep   webhooks.Endpoint // with defaults
	gate *webhooks.Gate
	del  *webhooks.Deliverer

	conn        *conn // its own connection: pulls, acks, retries, attempt log
	main, retry jetstream.Consumer
	window      int // messages pulled ahead

	queues []chan *job
	// held has a token for each message pulled and not yet settled: at most
	// window, so a lane's queue never fills and a busy call never holds up
	// the fetcher or the other lanes.
	held     chan struct{}
	freed    chan struct{} // signalled when a token is given back
	perCall  bool
	stopping atomic.Bool
	fetchers sync.WaitGroup
	workers  sync.WaitGroup

	delivered, retried, dead, skipped, attempted atomic.Uint64
}

// job is one event to attempt.
type job struct {
	m        jetstream.Msg
	msg      webhooks.Message
	agent    string
	n        int // the attempt to make, 1 for the first
	retry    bool
	received time.Time
	// traceParent is the event's trace context, "" when untraced (trace.go).
	traceParent string
}

func (d *Dispatcher) newEndpoint(ctx context.Context, cfg webhooks.Endpoint) (*endpoint, error) {
	ep := cfg.WithDefaults()
	del, err := webhooks.NewDeliverer(ep, webhooks.Options{RootCAs: d.cfg.RootCAs, Now: d.clock.Now})
	if err != nil {
		return nil, err
	}
	e := &endpoint{d: d, ep: ep, del: del, gate: webhooks.NewGate(ep, d.clock), perCall: ep.Ordering != webhooks.OrderingNone}
	e.window = max(2*ep.MaxInFlight, 16)
	if e.conn, err = d.dial("endpoint-" + ep.ID); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	e.main, err = e.conn.js.CreateOrUpdateConsumer(ctx, d.names.events, jetstream.ConsumerConfig{
		Durable:        "wh_" + ep.ID,
		Description:    "webhook deliveries to endpoint " + ep.ID,
		DeliverPolicy:  jetstream.DeliverNewPolicy,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        d.cfg.AckWait,
		MaxDeliver:     -1,
		MaxAckPending:  max(1000, 4*e.window),
		FilterSubjects: d.names.filterSubjects(&ep),
	})
	if err != nil {
		e.conn.close()
		return nil, fmt.Errorf("webhook queue: consumer for endpoint %q: %w", ep.ID, err)
	}
	e.retry, err = e.conn.js.CreateOrUpdateConsumer(ctx, d.names.retries, jetstream.ConsumerConfig{
		Durable:       "whr_" + ep.ID,
		Description:   "webhook retries to endpoint " + ep.ID,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       d.cfg.AckWait,
		MaxDeliver:    -1,
		MaxAckPending: d.cfg.MaxWaitingRetries,
		FilterSubject: d.names.retrySubject + ep.ID,
	})
	if err != nil {
		e.conn.close()
		return nil, fmt.Errorf("webhook queue: retry consumer for endpoint %q: %w", ep.ID, err)
	}
	return e, nil
}

// matches reports whether the endpoint takes events of this type and agent.
func (e *endpoint) matches(eventType, agent string) bool {
	return e.ep.Matches(eventType) && e.ep.MatchesAgent(agent)
}

func (e *endpoint) start() error {
	n := e.ep.MaxInFlight
	if e.perCall {
		e.queues = make([]chan *job, n)
		for i := range e.queues {
			e.queues[i] = make(chan *job, e.window)
		}
	} else {
		e.queues = []chan *job{make(chan *job, e.window)}
	}
	e.held = make(chan struct{}, e.window)
	e.freed = make(chan struct{}, 1)
	for i := range n {
		q := e.queues[0]
		if e.perCall {
			q = e.queues[i]
		}
		e.workers.Add(1)
		e.d.wg.Add(1)
		go func() {
			defer e.d.wg.Done()
			defer e.workers.Done()
			for j := range q {
				e.process(j)
				<-e.held
				select {
				case e.freed <- struct{}{}:
				default:
				}
			}
		}()
	}
	for _, c := range []struct {
		cons  jetstream.Consumer
		retry bool
	}{{e.main, false}, {e.retry, true}} {
		e.fetchers.Add(1)
		go func() {
			defer e.fetchers.Done()
			e.fetch(c.cons, c.retry)
		}()
	}
	// The lanes close once both fetchers are gone.
	e.d.wg.Add(1)
	go func() {
		defer e.d.wg.Done()
		e.fetchers.Wait()
		for _, q := range e.queues {
			close(q)
		}
	}()
	return nil
}

// fetchWait is how long one pull request waits for messages. Stopping waits
// for the request in progress to end, so it also bounds how long Close waits
// for the fetchers.
const fetchWait = 500 * time.Millisecond

// fetch pulls from one consumer and routes its messages to the lanes, until
// stopping. It uses bounded pull requests (Fetch) rather than a continuous
// subscription so that, when stopping, every message the server sent for the
// last request is received and handed back (NAK) instead of vanishing with
// the subscription and coming back only after the ack wait.
func (e *endpoint) fetch(cons jetstream.Consumer, retry bool) {
	for !e.stopping.Load() {
		free := cap(e.held) - len(e.held)
		if free == 0 {
			select {
			case <-e.freed:
			case <-time.After(fetchWait):
			}
			continue
		}
		b, err := cons.Fetch(free, jetstream.FetchMaxWait(fetchWait))
		if err != nil {
			if e.stopping.Load() {
				return
			}
			e.d.log.Warn("webhook queue: pulling messages failed; retrying", "endpoint", e.ep.ID, "err", err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		for m := range b.Messages() {
			e.route(m, retry)
		}
		if err := b.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) && !e.stopping.Load() {
			e.d.log.Debug("webhook queue: pull request ended", "endpoint", e.ep.ID, "err", err)
		}
	}
}

// route hands one pulled message to its lane, or settles it at once.
func (e *endpoint) route(m jetstream.Msg, retry bool) {
	if e.d.ctx.Err() != nil {
		_ = m.Nak()
		return
	}
	j, err := e.parse(m, retry)
	if err != nil {
		// Not ours to fix: a message without our headers. Keep it out of the
		// way but keep it (Term leaves it in the stream).
		e.d.log.Error("webhook queue: unreadable message terminated", "endpoint", e.ep.ID, "subject", m.Subject(), "err", err)
		_ = m.TermWithReason(err.Error())
		return
	}
	if !retry && !e.matches(j.msg.Type, j.agent) {
		e.skipped.Add(1)
		_ = m.Ack()
		return
	}
	if retry {
		if due := dueOf(m); due.After(e.d.clock.Now()) {
			_ = m.NakWithDelay(min(due.Sub(e.d.clock.Now()), e.d.cfg.RetryPoll))
			return
		}
	}
	if !e.gate.Enabled() {
		_ = m.NakWithDelay(e.d.cfg.RetryPoll)
		return
	}
	q := e.queues[0]
	if e.perCall {
		q = e.queues[xxh3.HashString(j.msg.CallID)%uint64(len(e.queues))]
	}
	e.held <- struct{}{}
	q <- j
}

func (e *endpoint) parse(m jetstream.Msg, retry bool) (*job, error) {
	h := m.Headers()
	j := &job{m: m, retry: retry, n: 1, received: time.Now(), agent: h.Get(hdrAgent)}
	j.msg = webhooks.Message{EventID: h.Get(hdrEventID), Type: h.Get(hdrType), CallID: h.Get(hdrCall), Body: m.Data()}
	if j.msg.EventID == "" || j.msg.Type == "" {
		return nil, errors.New("missing Parley-Event-Id or Parley-Event-Type header")
	}
	j.msg.Sequence, _ = strconv.ParseUint(h.Get(hdrSeq), 10, 64)
	j.traceParent = h.Get(hdrTraceParent)
	if retry {
		n, err := strconv.Atoi(h.Get(hdrAttempt))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bad %s header %q", hdrAttempt, h.Get(hdrAttempt))
		}
		j.n = n
	}
	return j, nil
}

func dueOf(m jetstream.Msg) time.Time {
	ns, err := strconv.ParseInt(m.Headers().Get(hdrDue), 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// process makes one attempt and settles the message: ack when delivered,
// re-scheduled or dead-lettered; NAK when the attempt could not be made.
func (e *endpoint) process(j *job) {
	d := e.d
	if d.ctx.Err() != nil {
		_ = j.m.Nak()
		return
	}
	if time.Since(j.received) > d.cfg.AckWait/3 {
		_ = j.m.InProgress()
	}
	permit, err := e.gate.Acquire(d.ctx)
	if err != nil {
		var open *webhooks.OpenError
		switch {
		case errors.As(err, &open):
			// No attempt is counted. The event waits where it is: the whole
			// endpoint is resting, so its consumer pausing (delayed NAKs
			// count against MaxAckPending) holds back only itself, and its
			// backlog stays in the stream instead of being copied.
			wait := max(open.Until.Sub(d.clock.Now()), 0)
			_ = j.m.NakWithDelay(max(min(wait, d.cfg.RetryPoll), 10*time.Millisecond))
		case errors.Is(err, webhooks.ErrEndpointDisabled):
			_ = j.m.NakWithDelay(d.cfg.RetryPoll)
		default: // shutting down
			_ = j.m.Nak()
		}
		return
	}
	ctx, span := e.startAttemptSpan(d.ctx, j)
	a := e.del.Deliver(ctx, &j.msg)
	permit.Done(a)
	if a.Canceled {
		endAttemptSpan(span, &AttemptRecord{N: j.n, Attempt: a})
		_ = j.m.Nak()
		return
	}
	e.attempted.Add(1)
	next, again := webhooks.NextAttempt(*e.ep.Retry, j.n, a, d.clock.Now(), d.cfg.Rand)
	rec := AttemptRecord{EndpointID: e.ep.ID, EventID: j.msg.EventID, EventType: j.msg.Type, CallID: j.msg.CallID,
		Sequence: j.msg.Sequence, N: j.n, Attempt: a, Node: d.node()}
	switch {
	case a.Outcome == webhooks.OutcomeDelivered:
		e.delivered.Add(1)
		_ = j.m.Ack()
	case again:
		rec.NextAt = next
		if err := e.schedule(j, j.n+1, next); err != nil {
			d.log.Warn("webhook retry not stored; the attempt will be repeated", "endpoint", e.ep.ID, "event_id", j.msg.EventID, "err", err)
			_ = j.m.NakWithDelay(time.Second)
			break
		}
		e.retried.Add(1)
		_ = j.m.Ack()
	default:
		rec.DeadLettered = true
		reason := a.Err
		if a.Outcome == webhooks.OutcomeRetry {
			reason = fmt.Sprintf("all %d attempts failed; last: %s", j.n, a.Err)
		}
		if err := e.deadLetter(j, reason); err != nil {
			d.log.Warn("webhook dead letter not stored; the attempt will be repeated", "endpoint", e.ep.ID, "event_id", j.msg.EventID, "err", err)
			_ = j.m.NakWithDelay(time.Second)
			break
		}
		e.dead.Add(1)
		_ = j.m.Ack()
		d.log.Warn("webhook event dead-lettered", "endpoint", e.ep.ID, "event_id", j.msg.EventID, "event_type", j.msg.Type,
			"attempts", j.n, "reason", reason)
	}
	if a.Outcome == webhooks.OutcomeGone {
		d.setDisabled(e.ep.ID, "the endpoint answered 410 Gone")
	}
	e.logAttempt(&rec)
	endAttemptSpan(span, &rec)
	d.observe(&rec)
}

// headers copies an event's identifying headers for the retry and DLQ streams.
func (j *job) headers() nats.Header {
	h := make(nats.Header, 10)
	h[hdrEventID] = []string{j.msg.EventID}
	h[hdrType] = []string{j.msg.Type}
	h[hdrCall] = []string{j.msg.CallID}
	h[hdrAgent] = []string{j.agent}
	h[hdrSeq] = []string{strconv.FormatUint(j.msg.Sequence, 10)}
	if j.traceParent != "" {
		h[hdrTraceParent] = []string{j.traceParent}
	}
	return h
}

// schedule stores attempt n of the job's event, due at due, in the retry stream.
func (e *endpoint) schedule(j *job, n int, due time.Time) error {
	h := j.headers()
	h[hdrAttempt] = []string{strconv.Itoa(n)}
	h[hdrDue] = []string{strconv.FormatInt(due.UnixNano(), 10)}
	h[jetstream.MsgIDHeader] = []string{"r." + e.ep.ID + "." + j.msg.EventID + "." + strconv.Itoa(n) + "." + strconv.FormatInt(due.UnixNano(), 36)}
	return e.publish(&nats.Msg{Subject: e.d.names.retrySubject + e.ep.ID, Header: h, Data: j.msg.Body})
}

// deadLetter stores the job's event in the DLQ.
func (e *endpoint) deadLetter(j *job, reason string) error {
	h := j.headers()
	h[hdrAttempts] = []string{strconv.Itoa(j.n)}
	h[hdrReason] = []string{headerSafe(reason)}
	h[hdrDeadAt] = []string{e.d.clock.Now().UTC().Format(time.RFC3339Nano)}
	h[jetstream.MsgIDHeader] = []string{"d." + e.ep.ID + "." + j.msg.EventID + "." + strconv.Itoa(j.n)}
	return e.publish(&nats.Msg{Subject: e.d.names.dlqSubject + e.ep.ID, Header: h, Data: j.msg.Body})
}

// headerSafe keeps a header value on one line and bounded.
func headerSafe(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, s)
	if len(s) > 1024 {
		s = s[:1024]
	}
	return s
}

// publish stores m synchronously (bounded by 5s).
func (e *endpoint) publish(m *nats.Msg) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := e.conn.js.PublishMsg(ctx, m)
	return err
}

// AttemptRecord is one attempt in the attempt log.
type AttemptRecord struct {
	EndpointID string `json:"endpoint_id"`
	EventID    string `json:"event_id"`
	EventType  string `json:"event_type"`
	CallID     string `json:"call_id"`
	Sequence   uint64 `json:"sequence"`
	// N is the attempt's number, 1 for the first.
	N int `json:"attempt"`
	webhooks.Attempt
	// NextAt is when the next attempt is due; zero when there is none.
	NextAt time.Time `json:"next_attempt_at,omitzero"`
	// DeadLettered is set when this attempt sent the event to the DLQ.
	DeadLettered bool   `json:"dead_lettered,omitempty"`
	Node         string `json:"node,omitempty"`
}

// logAttempt appends to the attempt log without waiting for the queue.
func (e *endpoint) logAttempt(rec *AttemptRecord) {
	d := e.d
	b, err := json.Marshal(rec)
	if err != nil {
		return
	}
	subj := d.names.attSubj + rec.EndpointID + "." + subjectToken(rec.EventID)
	if _, err := e.conn.js.PublishAsync(subj, b); err != nil {
		d.log.Debug("webhook attempt not logged", "endpoint", rec.EndpointID, "event_id", rec.EventID, "err", err)
	}
}

// subjectToken makes s usable as one subject token.
func subjectToken(s string) string {
	if s == "" {
		return "_"
	}
	return strings.Map(func(r rune) rune {
		if r == '.' || r == '*' || r == '>' || r <= ' ' || r == 0x7f {
			return '_'
		}
		return r
	}, s)
}

func (d *Dispatcher) node() string {
	if d.cfg.Node != "" {
		return d.cfg.Node
	}
	return hostname
}

// stopFetching stops pulling. What was already pulled is still delivered
// until Close's deadline cancels the dispatcher's context; then it is handed
// back (NAK). A NAK is not kept across a restart of the queue's server, so
// handed-back events come back after the ack wait; delivering what was pulled
// keeps a clean shutdown from leaving any.
func (e *endpoint) stopFetching() { e.stopping.Store(true) }

func (e *endpoint) close() { _ = e.del.Close() }

var _ events.Sink = (*Dispatcher)(nil)
