package webhooks

import (
	"errors"

	"github.com/parley-voice/parley/runtime/netguard"
)

// Sentinel errors, wrapped with details; test for them with errors.Is.
var (
	// ErrInsecureURL: an endpoint URL is plain http to a host that is not
	// loopback, or to loopback without allow_insecure_loopback. Returned by
	// NewDeliverer (through Validate) before anything is dialed.
	ErrInsecureURL = netguard.ErrInsecureURL
	// ErrPayloadTooLarge: an event's body is larger than the endpoint's
	// max_payload_bytes. Such an event is never sent (see CheckPayload).
	ErrPayloadTooLarge = errors.New("webhook payload too large")
	// ErrCircuitOpen: the endpoint's circuit breaker is open (or its half-open
	// probe is in flight); the attempt was not made. See OpenError.
	ErrCircuitOpen = errors.New("webhook endpoint circuit open")
	// ErrEndpointDisabled: the endpoint is disabled, by its config or because
	// it answered 410 Gone; nothing is sent until it is enabled again.
	ErrEndpointDisabled = errors.New("webhook endpoint disabled")
)
