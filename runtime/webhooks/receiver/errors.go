package receiver

import (
	"errors"

	"github.com/parley-voice/parley/runtime/webhooks/signature"
)

// Errors of Verify, besides those of the signature package it passes on
// (signature.ErrMissingHeaders, ErrBadTimestamp, ErrTimestampTooOld,
// ErrTimestampTooNew, ErrNoMatchingSignature). Test with errors.Is;
// (*Verifier).StatusCode maps any of them to an HTTP status.
var (
	// ErrBodyTooLarge: the body is over the limit (WithMaxBodyBytes). 413.
	ErrBodyTooLarge = errors.New("webhook body is too large")
	// ErrBodyRead: the body could not be read (the sender went away). 400.
	ErrBodyRead = errors.New("reading the webhook body failed")
	// ErrInvalidEnvelope: the body is authentic but not a Parley event envelope
	// (no event_type or event_id, or not JSON). 400.
	ErrInvalidEnvelope = errors.New("webhook body is not a Parley event envelope")
	// ErrReplay: this webhook-id was already processed (Done) within the dedupe
	// TTL. Either Parley retried because it never saw the answer, or someone
	// replays a captured request. Do not process it again; answer 2xx so Parley
	// stops retrying (the Middleware's default).
	ErrReplay = errors.New("webhook-id was already processed")
	// ErrInFlight: a delivery with this webhook-id is being processed right now
	// (a retry overtook a slow handler). 409, so Parley retries later.
	ErrInFlight = errors.New("webhook-id is being processed by another request")
)

// Re-exported so receivers need import only this package.
var (
	ErrMissingHeaders      = signature.ErrMissingHeaders
	ErrBadTimestamp        = signature.ErrBadTimestamp
	ErrTimestampTooOld     = signature.ErrTimestampTooOld
	ErrTimestampTooNew     = signature.ErrTimestampTooNew
	ErrNoMatchingSignature = signature.ErrNoMatchingSignature
)
