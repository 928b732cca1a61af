package dashboard

import (
	"sync"

	"github.com/parley-voice/parley/runtime/events"
)

// Limits of a Recorder.
const (
	// DefaultRecentCalls is how many ended calls a Recorder keeps.
	DefaultRecentCalls = 200
	// DefaultCallEvents is how many events a Recorder keeps per call (the
	// most recent), and separately how many conversation events.
	DefaultCallEvents = 500
)

// conversational are the event types a call page draws its transcript,
// tool calls and latency waterfall from. They are kept in their own ring so
// that a chatty call (partials, state changes) does not push them out.
var conversational = map[string]bool{
	events.SpeechTranscribed: true, events.AgentResponse: true, events.CallInterrupted: true,
	events.AgentResumed: true, events.ToolCalled: true, events.ToolCompleted: true,
	events.TurnCompleted: true, events.TurnBudgetExceeded: true, events.ProviderError: true,
	events.ProviderFallback: true, events.CallTransferred: true,
}

// Recorder keeps, in memory, the recent history of this node's calls: the
// last events of every live call and of the last ended ones. It is an
// events.Sink: Accept runs on the call actors' goroutines, so it only
// appends pointers under a mutex; everything else (summaries, JSON) is done
// when the dashboard asks. Events are treated as read-only once published.
//
// Memory is bounded: at most RecentCalls ended calls (the oldest is
// forgotten first) and, per call, CallEvents events plus CallEvents
// conversation events. Live calls are bounded by the server's MaxCalls, as
// every call ends with call.ended.
type Recorder struct {
	maxRecent int
	maxEvents int

	mu     sync.Mutex
	calls  map[string]*record // live and recent calls
	recent []*record          // ended calls, oldest first
}

// record is one call's history. Guarded by Recorder.mu.
type record struct {
	id      string
	started *events.Event
	ended   *events.Event
	state   *events.Event // the last call.state_changed
	partial *events.Event // the last speech.partial since the last final transcript
	all     ring
	convo   ring
	turns   int
	seen    int
}

// ring is a bounded list of events that forgets the oldest.
type ring struct {
	buf     []*events.Event
	head    int // index of the oldest event once the ring is full
	dropped int
}

func (r *ring) add(e *events.Event, max int) {
	if len(r.buf) < max {
		r.buf = append(r.buf, e)
		return
	}
	r.buf[r.head] = e
	r.head = (r.head + 1) % max
	r.dropped++
}

// list returns the events oldest first, in a new slice.
func (r *ring) list() []*events.Event {
	out := make([]*events.Event, 0, len(r.buf))
	out = append(out, r.buf[r.head:]...)
	return append(out, r.buf[:r.head]...)
}

// NewRecorder returns a recorder keeping recentCalls ended calls and
// callEvents events per call (DefaultRecentCalls and DefaultCallEvents when
// not positive). Register it with events.Bus.AddSink.
func NewRecorder(recentCalls, callEvents int) *Recorder {
	if recentCalls <= 0 {
		recentCalls = DefaultRecentCalls
	}
	if callEvents <= 0 {
		callEvents = DefaultCallEvents
	}
	return &Recorder{maxRecent: recentCalls, maxEvents: callEvents, calls: map[string]*record{}}
}

// Accept records one event. Events of calls whose call.started it did not
// see (calls older than the recorder, or already forgotten) are ignored.
func (r *Recorder) Accept(e *events.Event) {
	if e == nil || e.CallID == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	rec := r.calls[e.CallID]
	if rec == nil {
		if e.Type != events.CallStarted {
			return
		}
		rec = &record{id: e.CallID, started: e}
		r.calls[e.CallID] = rec
	}
	rec.seen++
	rec.all.add(e, r.maxEvents)
	switch {
	case conversational[e.Type]:
		rec.convo.add(e, r.maxEvents)
		switch e.Type {
		case events.TurnCompleted:
			rec.turns++
		case events.SpeechTranscribed:
			rec.partial = nil
		}
	case e.Type == events.CallStateChanged:
		rec.state = e
	case e.Type == events.SpeechPartial:
		rec.partial = e
	case e.Type == events.CallEnded && rec.ended == nil:
		rec.ended, rec.partial = e, nil
		r.recent = append(r.recent, rec)
		if len(r.recent) > r.maxRecent {
			delete(r.calls, r.recent[0].id)
			copy(r.recent, r.recent[1:])
			r.recent[len(r.recent)-1] = nil
			r.recent = r.recent[:len(r.recent)-1]
		}
	}
}

// snapshot is a copy of one record, safe to read without the lock: the
// slices are new, the events are shared and read-only.
type snapshot struct {
	id                         string
	started, ended, state      *events.Event
	partial                    *events.Event
	events, convo              []*events.Event
	droppedEvents, droppedConv int
	turns, seen                int
}

func (rec *record) snapshot(full bool) snapshot {
	s := snapshot{id: rec.id, started: rec.started, ended: rec.ended, state: rec.state, partial: rec.partial,
		droppedEvents: rec.all.dropped, droppedConv: rec.convo.dropped, turns: rec.turns, seen: rec.seen}
	if full {
		s.events, s.convo = rec.all.list(), rec.convo.list()
	}
	return s
}

// call returns a copy of one call's record with its events.
func (r *Recorder) call(id string) (snapshot, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec := r.calls[id]
	if rec == nil {
		return snapshot{}, false
	}
	return rec.snapshot(true), true
}

// list returns the summaries of the live calls it knows and of the ended
// calls, newest first, without their events.
func (r *Recorder) list() (live, ended []snapshot) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rec := range r.calls {
		if rec.ended == nil {
			live = append(live, rec.snapshot(false))
		}
	}
	ended = make([]snapshot, 0, len(r.recent))
	for i := len(r.recent) - 1; i >= 0; i-- {
		ended = append(ended, r.recent[i].snapshot(false))
	}
	return live, ended
}
