package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/parley-voice/parley/runtime/events"
)

// TestBargeInStopsAudio: the caller talks over the greeting. The agent's audio
// must stop on the wire within 150 ms of the caller's speech onset, the
// interruption is reported, and the history keeps only what was played.
func TestBargeInStopsAudio(t *testing.T) {
	requireSpeech(t)
	checkLeaks(t)
	ts := startServer(t, nil)
	p := dial(t, ts.url)
	line := speech(t, "i would like to book an appointment")

	p.await(events.AgentSpeechStarted, 20*time.Second, nil)
	time.Sleep(1500 * time.Millisecond) // a few words into the greeting
	p.say(line)
	intr := p.await(events.CallInterrupted, 10*time.Second, nil)
	onset := p.lastOnset()
	if onset.IsZero() {
		t.Fatal("caller speech was never sent")
	}

	// The last agent frame that arrived after the onset (and before the agent's
	// next reply) tells when audio stopped on the wire.
	window := p.audioBetween(onset, intr.Received.Add(200*time.Millisecond))
	stop := onset
	for _, f := range window {
		if f.at.After(stop) {
			stop = f.at
		}
	}
	reaction := stop.Sub(onset)
	t.Logf("agent audio stopped %s after the caller's speech onset (%d frames after onset)", reaction, len(window))
	if reaction > 150*time.Millisecond {
		t.Errorf("agent audio went on for %s after the caller started speaking, want ≤ 150 ms", reaction)
	}
	played, _ := intr.Payload["played_text"].(string)
	unplayed, _ := intr.Payload["unplayed_text"].(string)
	greeting := "Hello, thanks for calling Parley Dental. I can book you an appointment, or put you through to the front desk. How can I help?"
	if played == "" || unplayed == "" || !strings.HasPrefix(greeting, played) {
		t.Errorf("played %q / unplayed %q: want a non-empty prefix of the greeting and the rest", played, unplayed)
	}
	// About 1.5 s of a 6.7 s greeting was heard: a handful of words, not all.
	if n := len(strings.Fields(played)); n < 2 || n > 10 {
		t.Errorf("played_text %q has %d words after ~1.5 s of audio", played, n)
	}

	// The caller's words are answered.
	tr := p.await(events.SpeechTranscribed, 15*time.Second, nil)
	if got := tr.Payload["text"]; got != "i would like to book an appointment" {
		t.Errorf("after barge-in recognised %q", got)
	}
	p.await(events.AgentSpeechStarted, 10*time.Second, nil)
	_ = p.cl.Hangup()
	ended := p.await(events.CallEnded, 10*time.Second, nil)

	// The call's transcript keeps the greeting as heard, marked interrupted.
	tx, _ := ended.Payload["transcript"].([]any)
	var agentLines []map[string]any
	for _, l := range tx {
		if m, ok := l.(map[string]any); ok && m["role"] == "agent" {
			agentLines = append(agentLines, m)
		}
	}
	if len(agentLines) == 0 || agentLines[0]["text"] != played || agentLines[0]["interrupted"] != true {
		t.Errorf("transcript's first agent line %v, want %q marked interrupted", agentLines, played)
	}
}

// TestBargeInCancelsEndCall: the caller talks over the goodbye, whose reply
// carries end_call. The hang-up must be cancelled: the call stays up and the
// caller's new request is answered.
func TestBargeInCancelsEndCall(t *testing.T) {
	requireSpeech(t)
	checkLeaks(t)
	ts := startServer(t, nil)
	p := dial(t, ts.url)
	p.await(events.AgentSpeechEnded, 20*time.Second, nil)
	time.Sleep(300 * time.Millisecond)
	p.say(speech(t, "goodbye"))
	p.await(events.ToolCalled, 15*time.Second, func(e nativeEvent) bool { return e.Payload["name"] == "end_call" })
	p.await(events.AgentSpeechStarted, 10*time.Second, nil)
	time.Sleep(700 * time.Millisecond)
	p.say(speech(t, "i would like to book an appointment"))
	intr := p.await(events.CallInterrupted, 10*time.Second, nil)
	if intr.Payload["pending_action"] != "end_call" {
		t.Errorf("call.interrupted pending_action = %v, want end_call", intr.Payload["pending_action"])
	}
	// The agent answers the new request instead of hanging up.
	in := p.await(events.IntentMatched, 15*time.Second, nil)
	if in.Payload["intent"] != "book" {
		t.Errorf("intent after barge-in: %v", in.Payload["intent"])
	}
	p.await(events.AgentSpeechEnded, 15*time.Second, nil)
	p.absent(events.CallEnded, 2*time.Second)
	_ = p.cl.Hangup()
	ended := p.await(events.CallEnded, 10*time.Second, nil)
	if ended.Payload["reason"] != "caller_hangup" {
		t.Errorf("call ended with %v, want caller_hangup (the interrupted end_call must not hang up)", ended.Payload["reason"])
	}
}

// TestBackchannelDoesNotInterrupt: a short "uh huh" while the agent speaks is a
// backchannel: the agent goes on and finishes its reply.
func TestBackchannelDoesNotInterrupt(t *testing.T) {
	requireSpeech(t)
	checkLeaks(t)
	ts := startServer(t, nil)
	p := dial(t, ts.url)
	p.await(events.AgentSpeechStarted, 20*time.Second, nil)
	time.Sleep(1500 * time.Millisecond)
	p.say(speech(t, "uh huh"))
	defer func() {
		if t.Failed() {
			p.mu.Lock()
			for _, e := range p.evs {
				if strings.HasPrefix(e.Type, "speech.") || e.Type == events.CallInterrupted {
					t.Logf("%s %v", e.Type, e.Payload)
				}
			}
			p.mu.Unlock()
		}
	}()
	res := p.await(events.AgentResumed, 10*time.Second, nil)
	t.Logf("resumed: %v", res.Payload)
	if res.Payload["backchannel"] != true {
		t.Logf("resumed without recognising a backchannel: %v", res.Payload)
	}
	p.await(events.AgentSpeechEnded, 15*time.Second, nil)
	if strings.Contains(p.eventTypes(), events.CallInterrupted) {
		t.Fatal("a backchannel interrupted the agent")
	}
	// The whole greeting was played: ~6.7 s of audio.
	p.mu.Lock()
	n := len(p.audio)
	p.mu.Unlock()
	if got := time.Duration(n) * 20 * time.Millisecond; got < 6*time.Second {
		t.Errorf("only %s of the greeting was played", got)
	}
	_ = p.cl.Hangup()
	p.await(events.CallEnded, 10*time.Second, nil)
}
