package main

import (
	"cmp"
	"slices"
	"time"

	"github.com/parley-voice/parley/runtime/webhooks/receiver"
)

// Call is the CRM's record of one call, built from its events.
type Call struct {
	ID            string         `json:"call_id"`
	AgentID       string         `json:"agent_id"`
	AgentName     string         `json:"agent_name,omitempty"`
	Transport     string         `json:"transport,omitempty"`
	From          string         `json:"from,omitempty"`
	To            string         `json:"to,omitempty"`
	Metadata      map[string]any `json:"metadata,omitempty"`
	Status        string         `json:"status"` // in_progress, transferred or ended
	StartedAt     *time.Time     `json:"started_at,omitempty"`
	EndedAt       *time.Time     `json:"ended_at,omitempty"`
	DurationMS    float64        `json:"duration_ms,omitempty"`
	EndReason     string         `json:"end_reason,omitempty"`
	TransferredTo string         `json:"transferred_to,omitempty"`
	Turns         int            `json:"turns,omitempty"`
	Interruptions int            `json:"interruptions,omitempty"`
	Transcript    []Line         `json:"transcript"`
	Intents       []Intent       `json:"intents"`
	EventsApplied int            `json:"events_applied"`
	LastEventAt   time.Time      `json:"last_event_at"`
}

// Line is one utterance of the transcript.
type Line struct {
	Sequence   uint64    `json:"sequence"`
	At         time.Time `json:"at"`
	Turn       int       `json:"turn"`
	Role       string    `json:"role"` // caller or agent
	Text       string    `json:"text"`
	Confidence float64   `json:"confidence,omitempty"`
	Scripted   bool      `json:"scripted,omitempty"`
	// Interrupted: the caller barged in; Heard is the part of Text actually
	// played before that.
	Interrupted bool   `json:"interrupted,omitempty"`
	Heard       string `json:"heard,omitempty"`
}

// Intent is one intent.matched event.
type Intent struct {
	Sequence   uint64         `json:"sequence"`
	Turn       int            `json:"turn"`
	Name       string         `json:"name"`
	Confidence float64        `json:"confidence"`
	Slots      map[string]any `json:"slots,omitempty"`
}

// Call statuses.
const (
	StatusInProgress  = "in_progress"
	StatusTransferred = "transferred"
	StatusEnded       = "ended"
)

// Payload shapes of the events the CRM reads (docs/EVENTS.md). Fields it does not
// need are left out; unknown fields are ignored.
type (
	callStartedPayload struct {
		Transport string         `json:"transport"`
		From      string         `json:"from"`
		To        string         `json:"to"`
		Metadata  map[string]any `json:"metadata"`
		AgentName string         `json:"agent_name"`
	}
	transcribedPayload struct {
		Text       string  `json:"text"`
		Confidence float64 `json:"confidence"`
		IsFinal    *bool   `json:"is_final"`
		Turn       int     `json:"turn"`
	}
	responsePayload struct {
		Turn     int    `json:"turn"`
		Text     string `json:"text"`
		Scripted bool   `json:"scripted"`
	}
	intentPayload struct {
		Turn       int            `json:"turn"`
		Intent     string         `json:"intent"`
		Confidence float64        `json:"confidence"`
		Slots      map[string]any `json:"slots"`
	}
	interruptedPayload struct {
		Turn       int    `json:"turn"`
		PlayedText string `json:"played_text"`
	}
	transferredPayload struct {
		To string `json:"to"`
	}
	endedPayload struct {
		Reason        string  `json:"reason"`
		DurationMS    float64 `json:"duration_ms"`
		Turns         int     `json:"turns"`
		Interruptions int     `json:"interruptions"`
	}
)

// apply folds one event into the call. Events normally come in sequence order;
// one applied late (after a gap was given up on) still lands in the right place:
// lines and intents are kept sorted by sequence, and an ended call stays ended.
func (c *Call) apply(e receiver.EventEnvelope) error {
	c.EventsApplied++
	if e.Timestamp.After(c.LastEventAt) {
		c.LastEventAt = e.Timestamp
	}
	if c.AgentID == "" {
		c.AgentID = e.AgentID
	}
	if c.Status == "" {
		c.Status = StatusInProgress
	}
	at := e.Timestamp
	switch e.EventType {
	case "call.started":
		var p callStartedPayload
		if err := decode(e, &p); err != nil {
			return err
		}
		c.Transport, c.From, c.To, c.Metadata, c.AgentName = p.Transport, p.From, p.To, p.Metadata, p.AgentName
		c.StartedAt = &at
	case "speech.transcribed":
		var p transcribedPayload
		if err := decode(e, &p); err != nil {
			return err
		}
		if p.Text != "" && (p.IsFinal == nil || *p.IsFinal) {
			c.addLine(Line{Sequence: e.Sequence, At: at, Turn: p.Turn, Role: "caller", Text: p.Text, Confidence: p.Confidence})
		}
	case "agent.response":
		var p responsePayload
		if err := decode(e, &p); err != nil {
			return err
		}
		if p.Text != "" { // a round that only called tools says nothing
			c.addLine(Line{Sequence: e.Sequence, At: at, Turn: p.Turn, Role: "agent", Text: p.Text, Scripted: p.Scripted})
		}
	case "call.interrupted":
		var p interruptedPayload
		if err := decode(e, &p); err != nil {
			return err
		}
		c.Interruptions++
		// The reply cut short is the agent's last line of that turn before this event.
		for i := len(c.Transcript) - 1; i >= 0; i-- {
			l := &c.Transcript[i]
			if l.Sequence < e.Sequence && l.Role == "agent" && l.Turn == p.Turn {
				l.Interrupted, l.Heard = true, p.PlayedText
				break
			}
		}
	case "intent.matched":
		var p intentPayload
		if err := decode(e, &p); err != nil {
			return err
		}
		in := Intent{Sequence: e.Sequence, Turn: p.Turn, Name: p.Intent, Confidence: p.Confidence, Slots: p.Slots}
		i, _ := slices.BinarySearchFunc(c.Intents, e.Sequence, func(x Intent, s uint64) int { return cmp.Compare(x.Sequence, s) })
		c.Intents = slices.Insert(c.Intents, i, in)
	case "call.transferred":
		var p transferredPayload
		if err := decode(e, &p); err != nil {
			return err
		}
		c.TransferredTo = p.To
		if c.Status != StatusEnded {
			c.Status = StatusTransferred
		}
	case "call.ended":
		var p endedPayload
		if err := decode(e, &p); err != nil {
			return err
		}
		c.Status, c.EndReason, c.DurationMS, c.Turns = StatusEnded, p.Reason, p.DurationMS, p.Turns
		c.Interruptions = max(c.Interruptions, p.Interruptions)
		c.EndedAt = &at
	}
	return nil
}

func (c *Call) addLine(l Line) {
	i, _ := slices.BinarySearchFunc(c.Transcript, l.Sequence, func(x Line, s uint64) int { return cmp.Compare(x.Sequence, s) })
	c.Transcript = slices.Insert(c.Transcript, i, l)
}

// decode reads an event's payload; an event without one decodes as empty.
func decode(e receiver.EventEnvelope, v any) error {
	if len(e.Payload) == 0 || string(e.Payload) == "null" {
		return nil
	}
	return e.DecodePayload(v)
}
