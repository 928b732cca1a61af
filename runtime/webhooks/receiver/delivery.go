package receiver

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Delivery is one verified webhook request.
type Delivery struct {
	// ID is the webhook-id header: Parley's event_id, the same on every retry.
	ID string
	// Timestamp is the webhook-timestamp header: when this attempt was sent
	// (fresh on every retry), to the second. Event.Timestamp is when the event
	// happened.
	Timestamp time.Time
	// Body is the raw request body, exactly as signed.
	Body []byte
	// Event is Body decoded.
	Event EventEnvelope

	claim uint64 // the dedupe claim Verify took, 0 when none
}

// EventEnvelope is Parley's event envelope (docs/EVENTS.md). Unknown fields are
// ignored, so receivers keep working when Parley adds some.
type EventEnvelope struct {
	// EventType is the catalogue name, e.g. "speech.transcribed".
	EventType string `json:"event_type"`
	// EventID is unique per event ("evt_" + ULID) and the idempotency key.
	EventID string `json:"event_id"`
	// APIVersion versions the envelope and payload shapes, e.g. "2026-11-01".
	APIVersion string `json:"api_version"`
	// CallID is the call the event belongs to.
	CallID string `json:"call_id"`
	// AgentID is the agent that handled the call.
	AgentID string `json:"agent_id"`
	// Sequence counts the call's events from 1, without gaps; order by it, not
	// by arrival.
	Sequence uint64 `json:"sequence"`
	// Timestamp is when the event happened (UTC, millisecond precision).
	Timestamp time.Time `json:"timestamp"`
	// Payload is the event's own fields, a JSON object; its shape depends on
	// EventType.
	Payload json.RawMessage `json:"payload"`
}

// DecodePayload unmarshals the payload into v.
func (e EventEnvelope) DecodePayload(v any) error {
	if len(e.Payload) == 0 {
		return fmt.Errorf("event %s (%s) has no payload", e.EventID, e.EventType)
	}
	if err := json.Unmarshal(e.Payload, v); err != nil {
		return fmt.Errorf("decoding the payload of event %s (%s): %w", e.EventID, e.EventType, err)
	}
	return nil
}

// decodeEnvelope parses a body into an envelope; errors wrap ErrInvalidEnvelope.
func decodeEnvelope(body []byte) (EventEnvelope, error) {
	var e EventEnvelope
	if err := json.Unmarshal(body, &e); err != nil {
		return EventEnvelope{}, fmt.Errorf("%w: %v", ErrInvalidEnvelope, err)
	}
	var missing []string
	if e.EventType == "" {
		missing = append(missing, "event_type")
	}
	if e.EventID == "" {
		missing = append(missing, "event_id")
	}
	if len(missing) > 0 {
		return EventEnvelope{}, fmt.Errorf("%w: missing %v", ErrInvalidEnvelope, missing)
	}
	return e, nil
}

type ctxKey struct{}

// NewContext returns a context carrying d, as the Middleware hands it to the
// next handler (useful to test such handlers without signing requests).
func NewContext(ctx context.Context, d Delivery) context.Context {
	return context.WithValue(ctx, ctxKey{}, d)
}

// FromContext returns the Delivery the Middleware verified for this request.
func FromContext(ctx context.Context) (Delivery, bool) {
	d, ok := ctx.Value(ctxKey{}).(Delivery)
	return d, ok
}
