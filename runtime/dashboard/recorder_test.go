package dashboard

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parley-voice/parley/runtime/events"
)

var t0 = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

// ev builds an event of a call as the call actor would publish it.
func ev(callID string, seq uint64, typ string, payload map[string]any) *events.Event {
	at := t0.Add(time.Duration(seq) * 10 * time.Millisecond)
	return &events.Event{Type: typ, ID: events.NewEventID(at), APIVersion: events.APIVersion, CallID: callID,
		AgentID: "demo", Sequence: seq, Timestamp: at, Payload: payload}
}

func started(callID string) *events.Event {
	return ev(callID, 1, events.CallStarted, map[string]any{"transport": "websocket", "from": "+15550123", "to": "+15550999", "agent_name": "Demo"})
}

func TestRecorderKeepsTheLastEventsOfACall(t *testing.T) {
	r := NewRecorder(10, 5)
	r.Accept(started("c1"))
	for seq := uint64(2); seq <= 12; seq++ {
		r.Accept(ev("c1", seq, events.CallStateChanged, map[string]any{"to": fmt.Sprint("s", seq)}))
	}
	r.Accept(ev("c1", 13, events.SpeechTranscribed, map[string]any{"text": "hello"}))
	s, ok := r.call("c1")
	if !ok {
		t.Fatal("call not recorded")
	}
	if len(s.events) != 5 || s.droppedEvents != 8 || s.seen != 13 {
		t.Fatalf("kept %d events, dropped %d, seen %d; want 5, 8, 13", len(s.events), s.droppedEvents, s.seen)
	}
	for i, e := range s.events {
		if want := uint64(9 + i); e.Sequence != want {
			t.Fatalf("event %d has sequence %d, want %d (oldest first)", i, e.Sequence, want)
		}
	}
	// The transcript outlasts the chatter; call.started is kept apart.
	if len(s.convo) != 1 || s.convo[0].Type != events.SpeechTranscribed || s.started.Type != events.CallStarted {
		t.Fatalf("conversation %v, started %v", s.convo, s.started)
	}
	if got := str(payload(s.state), "to"); got != "s12" {
		t.Fatalf("state %q, want the last state_changed's s12", got)
	}
}

func TestRecorderForgetsTheOldestEndedCalls(t *testing.T) {
	r := NewRecorder(3, 10)
	for i := range 5 {
		id := fmt.Sprint("c", i)
		r.Accept(started(id))
		r.Accept(ev(id, 2, events.CallEnded, map[string]any{"reason": "caller_hangup", "duration_ms": 1234.5}))
	}
	r.Accept(started("live"))
	live, ended := r.list()
	if len(live) != 1 || live[0].id != "live" {
		t.Fatalf("live %+v", live)
	}
	var ids []string
	for _, s := range ended {
		ids = append(ids, s.id)
	}
	if fmt.Sprint(ids) != "[c4 c3 c2]" {
		t.Fatalf("recent calls %v, want the last three, newest first", ids)
	}
	if _, ok := r.call("c1"); ok {
		t.Fatal("a forgotten call is still served")
	}
	// An event of a forgotten call does not bring it back.
	r.Accept(ev("c0", 3, events.WebhookPayloadRejected, nil))
	if _, ok := r.call("c0"); ok {
		t.Fatal("an event after the call was forgotten recreated it")
	}
	if len(r.calls) != 4 {
		t.Fatalf("%d records kept, want 4 (3 ended + 1 live)", len(r.calls))
	}
}

func TestRecorderIgnoresCallsItDidNotSeeStart(t *testing.T) {
	r := NewRecorder(0, 0)
	r.Accept(ev("old", 7, events.SpeechTranscribed, map[string]any{"text": "x"}))
	r.Accept(&events.Event{Type: events.CallStarted}) // no call id
	r.Accept(nil)
	if live, ended := r.list(); len(live)+len(ended) != 0 {
		t.Fatalf("recorded %d live and %d ended calls", len(live), len(ended))
	}
}

func TestRecorderPartialTranscript(t *testing.T) {
	r := NewRecorder(0, 0)
	r.Accept(started("c"))
	r.Accept(ev("c", 2, events.SpeechPartial, map[string]any{"text": "i would"}))
	if s, _ := r.call("c"); s.partial == nil || str(payload(s.partial), "text") != "i would" {
		t.Fatalf("partial %v", s.partial)
	}
	r.Accept(ev("c", 3, events.SpeechTranscribed, map[string]any{"text": "i would like"}))
	if s, _ := r.call("c"); s.partial != nil {
		t.Fatal("the partial outlived the final transcript")
	}
}

func TestRecorderConcurrentCalls(t *testing.T) {
	r := NewRecorder(50, 100)
	var wg sync.WaitGroup
	for c := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprint("call_", c)
			r.Accept(started(id))
			for seq := uint64(2); seq < 300; seq++ {
				r.Accept(ev(id, seq, events.TurnCompleted, map[string]any{"turn": seq}))
				if seq%50 == 0 {
					r.list()
					r.call(id)
				}
			}
			r.Accept(ev(id, 300, events.CallEnded, nil))
		}()
	}
	wg.Wait()
	live, ended := r.list()
	if len(live) != 0 || len(ended) != 8 {
		t.Fatalf("%d live, %d ended; want 0, 8", len(live), len(ended))
	}
	for _, s := range ended {
		if s.turns != 298 {
			t.Fatalf("call %s counted %d turns, want 298", s.id, s.turns)
		}
	}
}

// BenchmarkRecorderAccept measures the sink on a call actor's goroutine: it
// must stay a short append under a mutex.
func BenchmarkRecorderAccept(b *testing.B) {
	r := NewRecorder(0, 0)
	const calls = 64
	evs := make([][]*events.Event, calls)
	for c := range calls {
		id := fmt.Sprint("call_", c)
		r.Accept(started(id))
		for _, typ := range []string{events.SpeechPartial, events.CallStateChanged, events.SpeechTranscribed, events.AgentSpeechStarted, events.TurnCompleted} {
			evs[c] = append(evs[c], ev(id, 2, typ, map[string]any{"turn": 1}))
		}
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			c := evs[i%calls]
			r.Accept(c[i%len(c)])
			i++
		}
	})
}
