package webhooks

import (
	"encoding/json"
	"fmt"

	"github.com/parley-voice/parley/runtime/events"
)

// Message is one event as the deliverer sends it: the envelope's identifying
// fields, for headers, logs and ordering, and the exact JSON body that is
// signed and posted. The queue stores and replays Messages unchanged, so a
// retry or a replay sends the same bytes under the same webhook-id.
type Message struct {
	// EventID is the envelope's event_id, sent as webhook-id: receivers
	// deduplicate on it.
	EventID string `json:"event_id"`
	// Type is the event_type, matched against endpoints' event filters.
	Type string `json:"event_type"`
	// CallID and Sequence order one call's events.
	CallID   string `json:"call_id"`
	Sequence uint64 `json:"sequence"`
	// Body is the envelope as events.Event marshals it.
	Body []byte `json:"body"`
}

// NewMessage marshals an event into the Message that delivers it.
func NewMessage(ev *events.Event) (*Message, error) {
	body, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("encoding event %s (%s): %w", ev.ID, ev.Type, err)
	}
	return &Message{EventID: ev.ID, Type: ev.Type, CallID: ev.CallID, Sequence: ev.Sequence, Body: body}, nil
}
