package dashboard

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/parley-voice/parley/runtime/events"
)

// listTypes are the events the call lists refresh on.
var listTypes = []string{events.CallStarted, events.CallStateChanged, events.CallEnded, events.TurnCompleted}

// streamBuffer is how many events a stream may fall behind before it is
// closed with an "overflow" message (the page reconnects and starts from a
// fresh snapshot): a slow browser never slows a call.
const streamBuffer = 4096

// stream serves GET events as text/event-stream. With ?call=ID it sends
// "snapshot" (a CallDetail), then every later event of that call as
// "event"; without, "ready" and then the events that change the call lists.
// It ends when the client goes away, the bus closes (server shutdown), or
// the client falls too far behind ("overflow").
func (a *api) stream(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for k := range q {
		if k != "call" {
			a.fail(w, http.StatusBadRequest, "bad_request", fmt.Sprintf("unknown query parameter %q (this route takes call)", k))
			return
		}
	}
	id := q.Get("call")
	if a.cfg.Bus == nil {
		a.fail(w, http.StatusServiceUnavailable, "no_events", "this dashboard has no event bus to stream from")
		return
	}
	rc := http.NewResponseController(w)
	if n := a.streams.Add(1); int(n) > a.cfg.MaxStreams {
		a.streams.Add(-1)
		a.fail(w, http.StatusTooManyRequests, "too_many_streams", fmt.Sprintf("%d dashboard event streams are open already; close a dashboard tab", a.cfg.MaxStreams))
		return
	}
	defer a.streams.Add(-1)

	// Subscribe before the snapshot, so that no event falls between them;
	// events already in the snapshot are skipped by sequence.
	var sub *events.Subscription
	if id != "" {
		sub = a.cfg.Bus.Subscribe(streamBuffer, id)
	} else {
		sub = a.cfg.Bus.Subscribe(streamBuffer, "", listTypes...)
	}
	defer sub.Close()
	var after uint64
	var first []byte
	if id != "" {
		d, ok := a.detail(id)
		if !ok {
			a.fail(w, http.StatusNotFound, "unknown_call", fmt.Sprintf("no call %q on this node: it is not live and not among the last %d ended calls", id, a.cfg.Recorder.maxRecent))
			return
		}
		after = d.LastSequence
		b, err := json.Marshal(d)
		if err != nil {
			a.fail(w, http.StatusInternalServerError, "internal", "the call could not be encoded")
			return
		}
		first = sseMessage("snapshot", "", b)
	} else {
		first = sseMessage("ready", "", []byte("{}"))
	}

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(append([]byte("retry: 2000\n\n"), first...)); err != nil {
		return
	}
	if err := rc.Flush(); err != nil {
		return
	}
	keep := time.NewTicker(a.cfg.KeepAlive)
	defer keep.Stop()
	for {
		var msg []byte
		select {
		case <-r.Context().Done():
			return
		case <-keep.C:
			msg = []byte(": keep-alive\n\n")
		case e, ok := <-sub.C():
			if !ok {
				_, _ = w.Write(sseMessage("closed", "", []byte(`{"reason":"server_shutdown"}`)))
				_ = rc.Flush()
				return
			}
			if id != "" && e.Sequence != 0 && e.Sequence <= after {
				continue
			}
			if sub.Dropped() > 0 {
				_, _ = w.Write(sseMessage("overflow", "", []byte(`{}`)))
				_ = rc.Flush()
				return
			}
			b, err := json.Marshal(e)
			if err != nil {
				a.log.Error("dashboard: event not encodable", "event_type", e.Type, "event_id", e.ID, "err", err)
				continue
			}
			msg = sseMessage("event", e.ID, b)
		}
		if _, err := w.Write(msg); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

// sseMessage frames one Server-Sent Event. data is JSON, so it has no
// newlines; name and id are ours.
func sseMessage(name, id string, data []byte) []byte {
	b := make([]byte, 0, len(data)+len(name)+len(id)+24)
	b = append(b, "event: "...)
	b = append(b, name...)
	b = append(b, '\n')
	if id != "" {
		b = append(b, "id: "...)
		b = append(b, id...)
		b = append(b, '\n')
	}
	b = append(b, "data: "...)
	b = append(b, data...)
	return append(b, "\n\n"...)
}
