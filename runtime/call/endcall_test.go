package call_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/parley-voice/parley/pipeline"
	"github.com/parley-voice/parley/pipeline/fake"
	"github.com/parley-voice/parley/runtime/events"
)

// endingLLM greets, then answers the caller's first turn with a goodbye and an
// End chunk, as a server-driven backend does. It records what it was asked.
type endingLLM struct {
	end pipeline.EndCall

	mu   sync.Mutex
	reqs []pipeline.LLMRequest
}

func (l *endingLLM) Generate(ctx context.Context, req *pipeline.LLMRequest, sink func(pipeline.LLMChunk)) error {
	l.mu.Lock()
	l.reqs = append(l.reqs, *req)
	l.mu.Unlock()
	if req.Turn == 0 {
		sink(pipeline.LLMChunk{Text: "Hello."})
		return nil
	}
	sink(pipeline.LLMChunk{Text: "Goodbye."})
	end := l.end
	sink(pipeline.LLMChunk{End: &end})
	return nil
}

// TestLLMEndsCall: an End chunk hangs up (with its reason) or transfers once
// the reply has been played, and requests carry the call id, agent id and turn.
func TestLLMEndsCall(t *testing.T) {
	for _, tc := range []struct {
		name       string
		end        pipeline.EndCall
		reason, to string
	}{
		{"hang up", pipeline.EndCall{}, "agent_hangup", ""},
		{"hang up with a reason", pipeline.EndCall{Reason: "resolved"}, "resolved", ""},
		{"transfer", pipeline.EndCall{Transfer: "+15550142", Reason: "asked"}, "transferred", "+15550142"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			llm := &endingLLM{end: tc.end}
			r := newRig(t, "", &fake.STT{Text: "that is all"}, &fake.TTS{MsPerChar: 5}, llm, nil) // short audio: the player finishes before its events reach the actor
			r.await(events.AgentSpeechEnded, 10*time.Second)
			r.speak(400*time.Millisecond, 500*time.Millisecond)
			spoken := r.await(events.AgentSpeechEnded, 10*time.Second)
			if payload(spoken)["turn"] != 1 {
				t.Errorf("speech ended for turn %v", payload(spoken)["turn"])
			}
			if tc.to != "" {
				tr := r.await(events.CallTransferred, 10*time.Second)
				if payload(tr)["to"] != tc.to {
					t.Errorf("call.transferred %v", payload(tr))
				}
			}
			end := r.await(events.CallEnded, 10*time.Second)
			if payload(end)["reason"] != tc.reason {
				t.Errorf("call ended with %v, want %s", payload(end)["reason"], tc.reason)
			}
			llm.mu.Lock()
			defer llm.mu.Unlock()
			if len(llm.reqs) != 2 {
				t.Fatalf("%d generations, want 2", len(llm.reqs))
			}
			for i, req := range llm.reqs {
				if req.CallID != r.c.ID() || req.AgentID != "t" || req.Turn != i {
					t.Errorf("request %d: call %q agent %q turn %d", i, req.CallID, req.AgentID, req.Turn)
				}
			}
		})
	}
}
