package dispatch

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/zeebo/xxh3"

	"github.com/parley-voice/parley/runtime/events"
	"github.com/parley-voice/parley/runtime/webhooks"
)

// Message headers on the events, retry and DLQ streams.
const (
	hdrEventID  = "Parley-Event-Id"
	hdrType     = "Parley-Event-Type"
	hdrCall     = "Parley-Call-Id"
	hdrAgent    = "Parley-Agent-Id"
	hdrSeq      = "Parley-Sequence"
	hdrAttempt  = "Parley-Attempt"  // retry: the number of the attempt to make
	hdrDue      = "Parley-Due"      // retry: unix nanoseconds
	hdrAttempts = "Parley-Attempts" // DLQ: attempts made
	hdrReason   = "Parley-Reason"   // DLQ: why
	hdrDeadAt   = "Parley-Dead-At"  // DLQ: RFC 3339
)

// producer moves accepted events from the bounded local buffer into the
// events stream. Accept never blocks: a full buffer drops the event, counts it
// and logs (at most once a second). An event counts as stored only once the
// queue acknowledged it; a failed publish is retried under the same
// Nats-Msg-Id, which the stream deduplicates.
type producer struct {
	d       *Dispatcher
	conn    *conn // its own connection
	in      chan *events.Event
	pending chan jetstream.PubAckFuture
	stop    chan struct{}
	force   chan struct{} // closed when close's deadline passes
	done    chan struct{}
	stopped atomic.Bool

	accepted, stored, dropped, republished atomic.Uint64
	lastDropLog                            atomic.Int64
}

func newProducer(d *Dispatcher, c *conn) *producer {
	p := &producer{
		d:       d,
		conn:    c,
		in:      make(chan *events.Event, d.cfg.Buffer),
		pending: make(chan jetstream.PubAckFuture, d.cfg.MaxPublishing),
		stop:    make(chan struct{}),
		force:   make(chan struct{}),
		done:    make(chan struct{}),
	}
	acked := make(chan struct{})
	go func() { defer close(acked); p.ackLoop() }()
	go func() {
		p.publishLoop()
		close(p.pending)
		<-acked
		close(p.done)
	}()
	return p
}

func (p *producer) accept(ev *events.Event) {
	p.accepted.Add(1)
	if !p.stopped.Load() {
		select {
		case p.in <- ev:
			return
		default:
		}
	}
	n := p.dropped.Add(1)
	now := time.Now().UnixNano()
	if last := p.lastDropLog.Load(); now-last > int64(time.Second) && p.lastDropLog.CompareAndSwap(last, now) {
		reason := "the local buffer is full: the queue is not storing events as fast as calls produce them"
		if p.stopped.Load() {
			reason = "the dispatcher is shutting down"
		}
		p.d.log.Error("webhook event dropped: "+reason, "event_id", ev.ID, "event_type", ev.Type, "call_id", ev.CallID,
			"dropped_total", n, "buffer", cap(p.in))
	}
}

func (p *producer) publishLoop() {
	for {
		select {
		case ev := <-p.in:
			p.publish(ev)
		case <-p.stop:
			for {
				select {
				case ev := <-p.in:
					p.publish(ev)
				default:
					return
				}
			}
		}
	}
}

// message builds the stream message of ev: the subject holds its partition,
// the headers what consumers route and filter by, the data the exact body
// that is signed and posted.
func (p *producer) message(ev *events.Event) (*nats.Msg, error) {
	body, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("encoding event %s (%s): %w", ev.ID, ev.Type, err)
	}
	part := xxh3.HashString(ev.CallID) % uint64(p.d.cfg.Partitions)
	m := &nats.Msg{
		Subject: p.d.names.eventSubject(part, ev.AgentID, ev.Type),
		Header:  make(nats.Header, 6),
		Data:    body,
	}
	m.Header[jetstream.MsgIDHeader] = []string{ev.ID}
	m.Header[hdrEventID] = []string{ev.ID}
	m.Header[hdrType] = []string{ev.Type}
	m.Header[hdrCall] = []string{ev.CallID}
	m.Header[hdrAgent] = []string{ev.AgentID}
	m.Header[hdrSeq] = []string{strconv.FormatUint(ev.Sequence, 10)}
	setTraceParent(m.Header, ev)
	return m, nil
}

func (p *producer) publish(ev *events.Event) {
	m, err := p.message(ev)
	if err != nil {
		p.dropped.Add(1)
		p.d.log.Error("webhook event dropped: it cannot be encoded", "event_id", ev.ID, "event_type", ev.Type, "err", err)
		return
	}
	p.checkPayload(ev, m.Data)
	for attempt := 0; ; attempt++ {
		f, err := p.conn.js.PublishMsgAsync(m)
		if err == nil {
			p.pending <- f
			return
		}
		if !p.wait(attempt, ev.ID, err) {
			return
		}
	}
}

// wait backs off before publishing again; false when the close deadline has
// passed and the event is given up (logged).
func (p *producer) wait(attempt int, id string, err error) bool {
	if attempt == 0 || attempt%20 == 0 {
		p.d.log.Warn("webhook queue is not accepting events; retrying", "event_id", id, "err", err)
	}
	select {
	case <-p.force:
		p.dropped.Add(1)
		p.d.log.Error("webhook event not stored before the shutdown deadline", "event_id", id, "err", err)
		return false
	case <-time.After(min(time.Duration(attempt+1)*50*time.Millisecond, time.Second)):
		return true
	}
}

// checkPayload reports the endpoints this event is too large for, at emit time.
func (p *producer) checkPayload(ev *events.Event, body []byte) {
	if len(body) <= p.d.minPayloadLimit {
		return
	}
	for _, ep := range p.d.endpoints {
		if !ep.matches(ev.Type, ev.AgentID) {
			continue
		}
		if err := webhooks.CheckPayload(&ep.ep, body); err != nil {
			pe := err.(*webhooks.PayloadTooLargeError)
			p.d.log.Error("webhook payload refused", "endpoint", ep.ep.ID, "event_id", ev.ID, "event_type", ev.Type,
				"call_id", ev.CallID, "bytes", pe.Size, "limit", pe.Limit)
			if p.d.cfg.OnPayloadRejected != nil {
				p.d.cfg.OnPayloadRejected(ev, pe)
			}
		}
	}
}

// ackLoop waits for each publish's acknowledgement in order; a failed one is
// published again, synchronously, until it is stored.
func (p *producer) ackLoop() {
	for f := range p.pending {
		select {
		case <-f.Ok():
			p.stored.Add(1)
			continue
		case err := <-f.Err():
			p.republish(f.Msg(), err)
		}
	}
}

func (p *producer) republish(m *nats.Msg, err error) {
	id := m.Header.Get(hdrEventID)
	for attempt := 0; ; attempt++ {
		p.republished.Add(1)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err2 := p.conn.js.PublishMsg(ctx, &nats.Msg{Subject: m.Subject, Header: m.Header, Data: m.Data})
		cancel()
		if err2 == nil {
			p.stored.Add(1)
			return
		}
		err = err2
		if !p.wait(attempt, id, err) {
			return
		}
	}
}

func (p *producer) settled() bool {
	return p.stored.Load()+p.dropped.Load() >= p.accepted.Load()
}

func (p *producer) flush(ctx context.Context) error {
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for !p.settled() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("webhook queue: %d events not yet stored: %w",
				p.accepted.Load()-p.stored.Load()-p.dropped.Load(), ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

// close stops accepting, stores what is buffered and waits for the queue's
// acknowledgements until ctx ends; what is left then is logged as lost.
func (p *producer) close(ctx context.Context) error {
	p.stopped.Store(true)
	close(p.stop)
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		close(p.force)
		<-p.done
		return fmt.Errorf("webhook queue: shutdown deadline passed with events not stored: %w", ctx.Err())
	}
}

// ProducerStats counts the events this node accepted from the bus.
type ProducerStats struct {
	Accepted    uint64 `json:"accepted"`
	Stored      uint64 `json:"stored"`
	Dropped     uint64 `json:"dropped"`
	Republished uint64 `json:"republished"`
	Buffered    int    `json:"buffered"`
	BufferSize  int    `json:"buffer_size"`
}

func (p *producer) stats() ProducerStats {
	return ProducerStats{
		Accepted: p.accepted.Load(), Stored: p.stored.Load(), Dropped: p.dropped.Load(),
		Republished: p.republished.Load(), Buffered: len(p.in), BufferSize: cap(p.in),
	}
}
