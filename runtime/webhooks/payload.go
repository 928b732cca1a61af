package webhooks

import (
	"encoding/json"
	"fmt"
)

// PayloadTooLargeError is an event too large for an endpoint. It wraps
// ErrPayloadTooLarge.
type PayloadTooLargeError struct {
	EndpointID string
	EventID    string
	EventType  string
	Size       int // bytes
	Limit      int // the endpoint's max_payload_bytes
}

func (e *PayloadTooLargeError) Error() string {
	ev := e.EventType
	if e.EventID != "" {
		ev += " " + e.EventID
	}
	if ev == "" {
		ev = "(unidentified)"
	}
	return fmt.Sprintf("webhook payload too large: event %s is %d bytes, over the limit of %d bytes (max_payload_bytes) of endpoint %q; it is not delivered there",
		ev, e.Size, e.Limit, e.EndpointID)
}

// Unwrap returns ErrPayloadTooLarge.
func (e *PayloadTooLargeError) Unwrap() error { return ErrPayloadTooLarge }

// CheckPayload returns a *PayloadTooLargeError if body, an event envelope, is
// larger than the endpoint's max_payload_bytes (default 256 KiB). The emitter
// calls it before queueing, so an oversized event becomes a clear error there
// instead of eight failed deliveries; Deliver checks again and rejects.
func CheckPayload(ep *Endpoint, body []byte) error {
	limit := ep.MaxPayloadBytes
	if limit <= 0 {
		limit = DefaultMaxPayloadBytes
	}
	if len(body) <= limit {
		return nil
	}
	// Only on the error path: name the event from the envelope itself.
	var id struct {
		Type string `json:"event_type"`
		ID   string `json:"event_id"`
	}
	_ = json.Unmarshal(body, &id)
	return &PayloadTooLargeError{EndpointID: ep.ID, EventID: id.ID, EventType: id.Type, Size: len(body), Limit: limit}
}
