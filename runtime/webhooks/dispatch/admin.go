package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/parley-voice/parley/runtime/events"
	"github.com/parley-voice/parley/runtime/webhooks"
)

// EndpointStatus is an endpoint as the admin API shows it: its config without
// secrets or header values, its health on this node, and its queue depths.
type EndpointStatus struct {
	ID          string                  `json:"id"`
	URL         string                  `json:"url"` // without query or credentials
	Events      []string                `json:"events"`
	Agents      []string                `json:"agents,omitempty"`
	Ordering    webhooks.Ordering       `json:"ordering"`
	MaxInFlight int                     `json:"max_in_flight"`
	RateLimit   float64                 `json:"rate_limit,omitempty"`
	Secrets     int                     `json:"secrets"` // how many; never their values
	Health      webhooks.EndpointHealth `json:"health"`
	// Pending is how many stored events this endpoint has not yet taken or
	// finished (first attempts); Retrying how many wait for a retry;
	// DeadLettered how many are in its DLQ.
	Pending      uint64 `json:"pending"`
	Retrying     uint64 `json:"retrying"`
	DeadLettered uint64 `json:"dead_lettered"`
	// Counters on this node since it started.
	Node NodeCounters `json:"node"`
}

// NodeCounters count one endpoint's work on this node.
type NodeCounters struct {
	Attempts     uint64 `json:"attempts"`
	Delivered    uint64 `json:"delivered"`
	Retried      uint64 `json:"retried"`
	DeadLettered uint64 `json:"dead_lettered"`
	Skipped      uint64 `json:"skipped"` // events that did not match its filters
}

// Endpoints lists every endpoint with its health and queue depths.
func (d *Dispatcher) Endpoints(ctx context.Context) ([]EndpointStatus, error) {
	out := make([]EndpointStatus, 0, len(d.endpoints))
	for _, e := range d.endpoints {
		s, err := d.status(ctx, e)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// Endpoint returns one endpoint's status.
func (d *Dispatcher) Endpoint(ctx context.Context, id string) (EndpointStatus, error) {
	e := d.byID[id]
	if e == nil {
		return EndpointStatus{}, fmt.Errorf("%w: %q", ErrUnknownEndpoint, id)
	}
	return d.status(ctx, e)
}

func (d *Dispatcher) status(ctx context.Context, e *endpoint) (EndpointStatus, error) {
	s := EndpointStatus{
		ID: e.ep.ID, URL: publicURL(e.ep.URL), Events: e.ep.Events, Agents: e.ep.Agents, Ordering: e.ep.Ordering,
		MaxInFlight: e.ep.MaxInFlight, RateLimit: e.ep.RateLimit, Secrets: len(e.ep.Secrets),
		Health: e.gate.Health(),
		Node: NodeCounters{Attempts: e.attempted.Load(), Delivered: e.delivered.Load(), Retried: e.retried.Load(),
			DeadLettered: e.dead.Load(), Skipped: e.skipped.Load()},
	}
	mi, err := e.main.Info(ctx)
	if err != nil {
		return s, fmt.Errorf("endpoint %q: reading its consumer: %w", e.ep.ID, err)
	}
	s.Pending = mi.NumPending + uint64(mi.NumAckPending)
	ri, err := e.retry.Info(ctx)
	if err != nil {
		return s, fmt.Errorf("endpoint %q: reading its retry consumer: %w", e.ep.ID, err)
	}
	s.Retrying = ri.NumPending + uint64(ri.NumAckPending)
	subj := d.names.dlqSubject + e.ep.ID
	si, err := d.dlq.Info(ctx, jetstream.WithSubjectFilter(subj))
	if err != nil {
		return s, fmt.Errorf("endpoint %q: reading its DLQ: %w", e.ep.ID, err)
	}
	s.DeadLettered = si.State.Subjects[subj]
	return s, nil
}

func publicURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable)"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}

// EventInfo describes one stored event.
type EventInfo struct {
	EventID  string    `json:"event_id"`
	Type     string    `json:"event_type"`
	CallID   string    `json:"call_id"`
	AgentID  string    `json:"agent_id,omitempty"`
	Sequence uint64    `json:"sequence"`
	StoredAt time.Time `json:"stored_at"`
	Bytes    int       `json:"bytes"`
	// QueueSeq is the event's position in the events stream; pass it as
	// EventQuery.Before to page backwards.
	QueueSeq uint64 `json:"queue_seq"`
	// Body is the envelope, with EventQuery.Body.
	Body json.RawMessage `json:"body,omitempty"`
}

// EventQuery selects stored events, newest first.
type EventQuery struct {
	CallID string // only this call's events
	Type   string // event type glob
	Before uint64 // only events stored before this queue position
	Limit  int    // default 50, at most 1000
	Body   bool   // include each envelope
}

// maxScan bounds how many stored events one Events query looks at.
const maxScan = 20000

// Events lists stored events, newest first. It scans at most 20,000 events
// back from Before.
func (d *Dispatcher) Events(ctx context.Context, q EventQuery) ([]EventInfo, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 1000)
	si, err := d.events.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the events stream: %w", err)
	}
	seq := si.State.LastSeq
	if q.Before > 0 && q.Before-1 < seq {
		seq = q.Before - 1
	}
	out := []EventInfo{}
	for scanned := 0; seq >= si.State.FirstSeq && seq > 0 && len(out) < limit && scanned < maxScan; seq, scanned = seq-1, scanned+1 {
		m, err := d.events.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading event at %d: %w", seq, err)
		}
		h := m.Header
		if q.CallID != "" && h.Get(hdrCall) != q.CallID {
			continue
		}
		if q.Type != "" && !events.Match(q.Type, h.Get(hdrType)) {
			continue
		}
		ei := EventInfo{EventID: h.Get(hdrEventID), Type: h.Get(hdrType), CallID: h.Get(hdrCall), AgentID: h.Get(hdrAgent),
			StoredAt: m.Time, Bytes: len(m.Data), QueueSeq: m.Sequence}
		ei.Sequence, _ = strconv.ParseUint(h.Get(hdrSeq), 10, 64)
		if q.Body {
			ei.Body = m.Data
		}
		out = append(out, ei)
	}
	return out, nil
}

// Attempts returns the logged attempts of one event, at every endpoint or at
// one, oldest first.
func (d *Dispatcher) Attempts(ctx context.Context, eventID, endpointID string) ([]AttemptRecord, error) {
	ep := "*"
	if endpointID != "" {
		ep = endpointID
	}
	out := []AttemptRecord{}
	err := d.read(ctx, d.attempts, d.names.attSubj+ep+"."+subjectToken(eventID), 10000, func(m *jetstream.RawStreamMsg) error {
		var r AttemptRecord
		if err := json.Unmarshal(m.Data, &r); err != nil || r.EventID != eventID {
			return nil // unreadable, or another id that maps to the same subject token
		}
		out = append(out, r)
		return nil
	})
	return out, err
}

// DeadLetter is one event in the DLQ.
type DeadLetter struct {
	EndpointID string    `json:"endpoint_id"`
	EventID    string    `json:"event_id"`
	Type       string    `json:"event_type"`
	CallID     string    `json:"call_id"`
	AgentID    string    `json:"agent_id,omitempty"`
	Sequence   uint64    `json:"sequence"`
	Attempts   int       `json:"attempts"`
	Reason     string    `json:"reason"`
	DeadAt     time.Time `json:"dead_lettered_at"`
	Bytes      int       `json:"bytes"`
	QueueSeq   uint64    `json:"queue_seq"`
}

// DLQQuery selects dead letters.
type DLQQuery struct {
	Endpoint string    // one endpoint's; all when empty
	EventID  string    // only this event
	Since    time.Time // dead-lettered at or after
	Until    time.Time // dead-lettered before
	Limit    int       // default 100, at most 10000
}

func (q *DLQQuery) match(dl *DeadLetter) bool {
	return (q.EventID == "" || dl.EventID == q.EventID) &&
		(q.Since.IsZero() || !dl.DeadAt.Before(q.Since)) &&
		(q.Until.IsZero() || dl.DeadAt.Before(q.Until))
}

// DeadLetters lists the DLQ, oldest first.
func (d *Dispatcher) DeadLetters(ctx context.Context, q DLQQuery) ([]DeadLetter, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 10000)
	out := []DeadLetter{}
	err := d.eachDeadLetter(ctx, q, func(dl DeadLetter) bool {
		out = append(out, dl)
		return len(out) < limit
	})
	return out, err
}

var errStop = errors.New("stop")

func (d *Dispatcher) eachDeadLetter(ctx context.Context, q DLQQuery, fn func(DeadLetter) bool) error {
	if q.Endpoint != "" && d.byID[q.Endpoint] == nil {
		return fmt.Errorf("%w: %q", ErrUnknownEndpoint, q.Endpoint)
	}
	ep := "*"
	if q.Endpoint != "" {
		ep = q.Endpoint
	}
	err := d.read(ctx, d.dlq, d.names.dlqSubject+ep, 0, func(m *jetstream.RawStreamMsg) error {
		dl := deadLetterOf(d.names.dlqSubject, m)
		if !q.match(&dl) {
			return nil
		}
		if !fn(dl) {
			return errStop
		}
		return nil
	})
	if errors.Is(err, errStop) {
		return nil
	}
	return err
}

func deadLetterOf(prefix string, m *jetstream.RawStreamMsg) DeadLetter {
	h := m.Header
	dl := DeadLetter{EndpointID: strings.TrimPrefix(m.Subject, prefix), EventID: h.Get(hdrEventID), Type: h.Get(hdrType),
		CallID: h.Get(hdrCall), AgentID: h.Get(hdrAgent), Reason: h.Get(hdrReason), Bytes: len(m.Data), QueueSeq: m.Sequence}
	dl.Sequence, _ = strconv.ParseUint(h.Get(hdrSeq), 10, 64)
	dl.Attempts, _ = strconv.Atoi(h.Get(hdrAttempts))
	dl.DeadAt, _ = time.Parse(time.RFC3339Nano, h.Get(hdrDeadAt))
	return dl
}

// ReplayRequest selects dead letters to deliver again. Endpoint is required;
// then one event (EventID), a time range of dead-lettering (Since, Until), or
// the whole DLQ of the endpoint (All).
type ReplayRequest struct {
	Endpoint string    `json:"endpoint"`
	EventID  string    `json:"event_id,omitempty"`
	Since    time.Time `json:"since,omitzero"`
	Until    time.Time `json:"until,omitzero"`
	All      bool      `json:"all,omitempty"`
}

// ReplayResult says what a replay queued.
type ReplayResult struct {
	Replayed int      `json:"replayed"`
	EventIDs []string `json:"event_ids"` // the first 1000
}

// Replay moves dead letters back into delivery: each is queued as a first
// attempt, due now, with the same event_id and body (receivers deduplicate),
// and removed from the DLQ once queued. If the endpoint is disabled, the
// replayed events wait until it is enabled.
func (d *Dispatcher) Replay(ctx context.Context, r ReplayRequest) (ReplayResult, error) {
	res := ReplayResult{EventIDs: []string{}}
	if r.Endpoint == "" {
		return res, errors.New("replay: name the endpoint")
	}
	e := d.byID[r.Endpoint]
	if e == nil {
		return res, fmt.Errorf("%w: %q", ErrUnknownEndpoint, r.Endpoint)
	}
	if r.EventID == "" && r.Since.IsZero() && r.Until.IsZero() && !r.All {
		return res, errors.New("replay: say what to replay: an event id, a time range (since/until) or all")
	}
	q := DLQQuery{Endpoint: r.Endpoint, EventID: r.EventID, Since: r.Since, Until: r.Until}
	var seqs []uint64
	var letters []DeadLetter
	err := d.eachDeadLetter(ctx, q, func(dl DeadLetter) bool {
		seqs = append(seqs, dl.QueueSeq)
		letters = append(letters, dl)
		return true
	})
	if err != nil {
		return res, err
	}
	now := d.clock.Now()
	for i, seq := range seqs {
		m, err := d.dlq.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue // replayed meanwhile
		}
		if err != nil {
			return res, fmt.Errorf("replay: reading dead letter %s: %w", letters[i].EventID, err)
		}
		h := nats.Header{}
		for _, k := range []string{hdrEventID, hdrType, hdrCall, hdrAgent, hdrSeq, hdrTraceParent} {
			if v := m.Header.Get(k); v != "" {
				h.Set(k, v)
			}
		}
		h.Set(hdrAttempt, "1")
		h.Set(hdrDue, strconv.FormatInt(now.UnixNano(), 10))
		h.Set(jetstream.MsgIDHeader, "replay."+r.Endpoint+"."+letters[i].EventID+"."+strconv.FormatInt(time.Now().UnixNano(), 36))
		if _, err := d.js.PublishMsg(ctx, &nats.Msg{Subject: d.names.retrySubject + r.Endpoint, Header: h, Data: m.Data}); err != nil {
			return res, fmt.Errorf("replay: queueing %s (after %d replayed): %w", letters[i].EventID, res.Replayed, err)
		}
		if err := d.dlq.DeleteMsg(ctx, seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
			d.log.Warn("replayed dead letter not removed from the DLQ", "endpoint", r.Endpoint, "event_id", letters[i].EventID, "err", err)
		}
		res.Replayed++
		if len(res.EventIDs) < 1000 {
			res.EventIDs = append(res.EventIDs, letters[i].EventID)
		}
	}
	d.log.Info("webhook dead letters replayed", "endpoint", r.Endpoint, "count", res.Replayed)
	return res, nil
}

// read walks the messages of a stream under filter (wildcards allowed),
// oldest first, up to max messages (0: all), with direct gets by subject: no
// consumer is created, so admin reads cost the queue nothing between calls.
func (d *Dispatcher) read(ctx context.Context, s jetstream.Stream, filter string, max int, fn func(*jetstream.RawStreamMsg) error) error {
	var seq uint64 = 1
	for n := 0; max == 0 || n < max; n++ {
		m, err := s.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(filter))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", filter, err)
		}
		if err := fn(m); err != nil {
			return err
		}
		seq = m.Sequence + 1
	}
	return nil
}

// Stats returns this node's producer counters.
func (d *Dispatcher) Stats() ProducerStats {
	if d.prod == nil {
		return ProducerStats{}
	}
	return d.prod.stats()
}
