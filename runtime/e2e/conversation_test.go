package e2e

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-voice/parley/media"
	"github.com/parley-voice/parley/runtime/events"
)

// TestConversation drives the demo agent through a booking over a real
// WebSocket with espeak-ng speech, recognised by PocketSphinx and answered by the
// flow engine, and checks transcripts, intents, states, audio and events.
func TestConversation(t *testing.T) {
	requireSpeech(t)
	checkLeaks(t)
	ts := startServer(t, nil)
	p := dial(t, ts.url)

	script := []struct{ say, intent string }{
		{"i would like to book an appointment", "book"},
		{"tuesday", ""},
		{"ten a m", ""},
		{"yes please", "yes"},
		{"no thank you", "goodbye"},
	}
	p.await(events.AgentSpeechEnded, 20*time.Second, nil) // the greeting
	var transcripts, intents []string
	var replyStarts []time.Time
	for i, line := range script {
		time.Sleep(300 * time.Millisecond)
		p.say(speech(t, line.say))
		tr := p.await(events.SpeechTranscribed, 20*time.Second, nil)
		transcripts = append(transcripts, tr.Payload["text"].(string))
		in := p.await(events.IntentMatched, 5*time.Second, nil)
		intents = append(intents, in.Payload["intent"].(string))
		st := p.await(events.AgentSpeechStarted, 10*time.Second, nil)
		replyStarts = append(replyStarts, st.Received)
		if i < len(script)-1 {
			p.await(events.AgentSpeechEnded, 20*time.Second, nil)
		}
	}
	ended := p.await(events.CallEnded, 20*time.Second, nil)
	if r := ended.Payload["reason"]; r != "agent_hangup" {
		t.Fatalf("call ended with %v, want agent_hangup", r)
	}

	for i, line := range script {
		if transcripts[i] != line.say {
			t.Errorf("turn %d: recognised %q, caller said %q", i+1, transcripts[i], line.say)
		}
		if line.intent != "" && intents[i] != line.intent {
			t.Errorf("turn %d: intent %q, want %q", i+1, intents[i], line.intent)
		}
	}

	// Every reply is real speech of plausible length: loud enough, and at least
	// half a second per sentence.
	p.mu.Lock()
	frames := slices.Clone(p.audio)
	p.mu.Unlock()
	for i, start := range replyStarts {
		end := start.Add(30 * time.Second)
		if i+1 < len(replyStarts) {
			end = replyStarts[i+1]
		}
		var loud, total int
		for _, f := range frames {
			if !f.at.Before(start) && f.at.Before(end) {
				total++
				if f.level > -40 {
					loud++
				}
			}
		}
		dur := time.Duration(total) * media.FrameDuration
		if dur < 800*time.Millisecond || loud < total/3 {
			t.Errorf("reply %d: %s of audio, %d of %d frames audible", i+1, dur, loud, total)
		}
	}

	// Server-side events: gap-free sequence from 1, unique sortable ids, the
	// catalogue's milestones in order, and the FSM's path.
	time.Sleep(200 * time.Millisecond)
	evs := ts.events(p.cl.CallID())
	var types, states []string
	var ids []string
	for i, e := range evs {
		if e.Sequence != uint64(i+1) {
			t.Fatalf("event %d (%s) has sequence %d: gap or reorder", i, e.Type, e.Sequence)
		}
		ids = append(ids, e.ID)
		types = append(types, e.Type)
		if e.Type == events.CallStateChanged {
			states = append(states, e.Payload.(map[string]any)["to"].(string))
		}
	}
	if !slices.IsSorted(ids) {
		t.Error("event ids are not sortable in sequence order")
	}
	if len(slices.Compact(slices.Sorted(slices.Values(ids)))) != len(ids) {
		t.Error("duplicate event ids")
	}
	for _, want := range []string{events.CallStarted, events.SpeechTranscribed, events.IntentMatched, events.ToolCalled, events.ToolCompleted, events.TurnCompleted, events.CallEnded} {
		if !slices.Contains(types, want) {
			t.Errorf("no %s event", want)
		}
	}
	if types[0] != events.CallStarted || types[len(types)-1] != events.CallEnded {
		t.Errorf("events run from %s to %s", types[0], types[len(types)-1])
	}
	// call.ended carries the whole conversation: the greeting, then caller
	// and agent lines alternating, the agent's as spoken.
	var tx []struct{ Role, Text string }
	raw, _ := json.Marshal(evs[len(evs)-1].Payload.(map[string]any)["transcript"])
	if err := json.Unmarshal(raw, &tx); err != nil || len(tx) == 0 {
		t.Fatalf("call.ended transcript %s: %v", raw, err)
	}
	var roles []string
	for _, l := range tx {
		roles = append(roles, l.Role)
	}
	wantRoles := "agent" + strings.Repeat(" caller agent", len(script))
	if got := strings.Join(roles, " "); got != wantRoles || !strings.Contains(tx[0].Text, "Parley Dental") {
		t.Errorf("call.ended transcript roles %q (first %q), want %q", got, tx[0].Text, wantRoles)
	}
	path := strings.Join(states, " ")
	wantPath := "greeting listening" + strings.Repeat(" user_speaking thinking speaking listening", 3) +
		" user_speaking thinking speaking tool_running thinking speaking listening user_speaking thinking speaking ended"
	if !strings.HasPrefix(path, "greeting listening user_speaking thinking speaking listening") || !strings.HasSuffix(path, "ended") ||
		!strings.Contains(path, "tool_running") {
		t.Errorf("state path %q, want the shape of %q", path, wantPath)
	}
	p.close()
}
