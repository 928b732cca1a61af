package dashboard

import (
	"encoding/json"
	"sort"
	"time"

	"github.com/parley-voice/parley/runtime/call"
	"github.com/parley-voice/parley/runtime/events"
)

// CallSummary is one row of the call lists.
type CallSummary struct {
	ID        string    `json:"call_id"`
	AgentID   string    `json:"agent_id"`
	AgentName string    `json:"agent_name,omitempty"`
	Transport string    `json:"transport"`
	From      string    `json:"from"`
	To        string    `json:"to"`
	State     string    `json:"state"`
	Live      bool      `json:"live"`
	StartedAt time.Time `json:"started_at"`
	EndedAt   time.Time `json:"ended_at,omitzero"`
	// DurationMS is the call's length so far (live) or in all (ended).
	DurationMS float64 `json:"duration_ms"`
	// Reason is call.ended's reason.
	Reason string `json:"reason,omitempty"`
	// Turns counts turn.completed events.
	Turns int `json:"turns"`
	// Events counts the events seen, including those no longer kept.
	Events int `json:"events"`
}

// CallList is the answer of GET calls: live calls oldest first, ended calls
// newest first.
type CallList struct {
	Live   []CallSummary `json:"live"`
	Recent []CallSummary `json:"recent"`
}

// CallDetail is the answer of GET calls/{id} and the first message of a
// call's event stream.
type CallDetail struct {
	Call CallSummary `json:"call"`
	// Events are the call's most recent events, oldest first; DroppedEvents
	// older ones are no longer kept.
	Events        []*events.Event `json:"events"`
	DroppedEvents int             `json:"dropped_events"`
	// Conversation are the transcript, reply, tool, turn and provider events,
	// kept apart so that they outlast chattier ones; DroppedConversation
	// older ones are no longer kept (call.ended's transcript has them all).
	Conversation        []*events.Event `json:"conversation"`
	DroppedConversation int             `json:"dropped_conversation"`
	// Started and Ended are call.started and call.ended (when ended).
	Started *events.Event `json:"started"`
	Ended   *events.Event `json:"ended,omitempty"`
	// Partial is the caller's unfinished utterance, while there is one.
	Partial *events.Event `json:"partial,omitempty"`
	// LastSequence is the highest sequence among Events: a stream sends only
	// later ones.
	LastSequence uint64 `json:"last_sequence"`
}

// calls builds the lists from the server's live calls and the recorder.
func (a *api) calls() CallList {
	live, ended := a.cfg.Recorder.list()
	now := a.cfg.Now()
	byID := make(map[string]snapshot, len(live))
	for _, s := range live {
		byID[s.id] = s
	}
	out := CallList{Live: []CallSummary{}, Recent: make([]CallSummary, 0, len(ended))}
	if a.cfg.Calls != nil {
		// The server's list is the truth about which calls are live; the
		// recorder adds what the events say.
		for _, info := range a.cfg.Calls() {
			s, ok := byID[info.ID]
			if ok {
				delete(byID, info.ID)
			}
			out.Live = append(out.Live, summarize(s, ok, &info, now))
		}
	}
	// Calls that have announced themselves but are not (or no longer, or not
	// yet) in the server's list; with no server, every live call.
	for _, s := range byID {
		out.Live = append(out.Live, summarize(s, true, nil, now))
	}
	sort.SliceStable(out.Live, func(i, j int) bool { return out.Live[i].StartedAt.Before(out.Live[j].StartedAt) })
	for _, s := range ended {
		out.Recent = append(out.Recent, summarize(s, true, nil, now))
	}
	return out
}

// detail returns one call with its events.
func (a *api) detail(id string) (CallDetail, bool) {
	s, ok := a.cfg.Recorder.call(id)
	if !ok {
		return CallDetail{}, false
	}
	var info *call.Info
	if s.ended == nil && a.cfg.Calls != nil {
		for _, c := range a.cfg.Calls() {
			if c.ID == id {
				info = &c
				break
			}
		}
	}
	d := CallDetail{Call: summarize(s, true, info, a.cfg.Now()), Events: s.events, DroppedEvents: s.droppedEvents,
		Conversation: s.convo, DroppedConversation: s.droppedConv, Started: s.started, Ended: s.ended, Partial: s.partial}
	for _, e := range s.events {
		d.LastSequence = max(d.LastSequence, e.Sequence)
	}
	return d, true
}

// summarize merges what the recorder saw (when recorded) with the server's
// view of a live call (when info is not nil).
func summarize(s snapshot, recorded bool, info *call.Info, now time.Time) CallSummary {
	var c CallSummary
	if recorded && s.started != nil {
		p := payload(s.started)
		c = CallSummary{ID: s.id, AgentID: s.started.AgentID, AgentName: str(p, "agent_name"), Transport: str(p, "transport"),
			From: str(p, "from"), To: str(p, "to"), StartedAt: s.started.Timestamp, Turns: s.turns, Events: s.seen, Live: true,
			State: "connecting"}
		if s.state != nil {
			c.State = str(payload(s.state), "to")
		}
	}
	if info != nil {
		c.ID, c.AgentID, c.Transport, c.From, c.To, c.State, c.StartedAt, c.Live =
			info.ID, info.AgentID, info.Transport, info.From, info.To, info.State, info.Started, true
	}
	c.DurationMS = float64(now.Sub(c.StartedAt).Microseconds()) / 1000
	if s.ended != nil {
		p := payload(s.ended)
		c.Live, c.State, c.EndedAt, c.Reason = false, "ended", s.ended.Timestamp, str(p, "reason")
		c.DurationMS = num(p, "duration_ms")
	}
	return c
}

// payload returns an event's payload as a map. Calls publish maps; anything
// else goes through JSON.
func payload(e *events.Event) map[string]any {
	if m, ok := e.Payload.(map[string]any); ok {
		return m
	}
	var m map[string]any
	if b, err := json.Marshal(e.Payload); err == nil {
		_ = json.Unmarshal(b, &m)
	}
	return m
}

func str(p map[string]any, k string) string {
	s, _ := p[k].(string)
	return s
}

func num(p map[string]any, k string) float64 {
	switch v := p[k].(type) {
	case float64:
		return v
	case int:
		return float64(v)
	case int64:
		return float64(v)
	case uint64:
		return float64(v)
	}
	return 0
}
