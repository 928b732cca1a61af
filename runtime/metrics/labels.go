package metrics

import (
	"sync"
	"sync/atomic"
)

// Other is the label value that stands for every value beyond a label's cap.
const Other = "other"

// labelSet bounds the distinct values one label can take: the first max
// values seen (and the always-allowed ones) are kept as they are, later ones
// become Other. It keeps a label whose values come from configs, agents or
// callers (an agent id, a tool name an LLM made up, an end_call reason) from
// growing the number of series without bound.
type labelSet struct {
	max     int32
	allowed map[string]bool // read-only after construction
	seen    sync.Map        // string → struct{}
	n       atomic.Int32
	mu      sync.Mutex // serialises admissions, so n never passes max
}

func newLabelSet(max int, always ...string) *labelSet {
	s := &labelSet{max: int32(max), allowed: map[string]bool{}}
	for _, v := range always {
		s.allowed[v] = true
	}
	return s
}

// value returns v if it is allowed or within the cap, else Other. The empty
// string is reported as "unknown".
func (s *labelSet) value(v string) string {
	if v == "" {
		return "unknown"
	}
	if s.allowed[v] {
		return v
	}
	if _, ok := s.seen.Load(v); ok {
		return v
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.seen.Load(v); ok {
		return v
	}
	if s.n.Load() >= s.max {
		return Other
	}
	s.seen.Store(v, struct{}{})
	s.n.Add(1)
	return v
}

// Caps of the label sets. Agents and endpoints come from configuration, so
// their caps are generous; the others are small vocabularies.
const (
	maxAgents    = 500
	maxEndpoints = 500
	maxTools     = 200
	maxProviders = 100
	maxReasons   = 32 // beyond the documented reasons: end_call's own
	maxStages    = 16
)

// Known values that never count against a cap.
var (
	knownTransports = []string{"websocket", "twilio", "telnyx", "vonage", "plivo", "webrtc"}
	knownReasons    = []string{"caller_hangup", "agent_hangup", "transferred", "transport_error", "silence_timeout",
		"max_duration", "server_shutdown", "provider_error", "watchdog", "timeout"}
	knownStages = []string{"end_of_turn", "stt_final", "llm_first_token", "first_sentence", "tts_first_audio",
		"first_frame_out", "stt", "llm", "tts", "call_start"}
)
