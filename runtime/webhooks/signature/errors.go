package signature

import "errors"

// Sentinel errors. Verify and ParseSecret wrap them with details (which header,
// by how much a timestamp is off); test for them with errors.Is.
var (
	// ErrInvalidSecret: a secret is not "whsec_" followed by the base64 of 24 to
	// 64 random bytes.
	ErrInvalidSecret = errors.New("invalid webhook secret")
	// ErrNoSecrets: Verify was given no secret to check signatures against.
	ErrNoSecrets = errors.New("no webhook secret configured")
	// ErrMissingHeaders: webhook-id, webhook-timestamp or webhook-signature is
	// absent or empty.
	ErrMissingHeaders = errors.New("missing webhook headers")
	// ErrBadTimestamp: webhook-timestamp is not a whole number of unix seconds.
	ErrBadTimestamp = errors.New("invalid webhook-timestamp")
	// ErrTimestampTooOld: webhook-timestamp is further in the past than the
	// tolerance; the request may be a replay, or the clocks disagree.
	ErrTimestampTooOld = errors.New("webhook-timestamp is too old")
	// ErrTimestampTooNew: webhook-timestamp is further in the future than the
	// tolerance; the clocks disagree.
	ErrTimestampTooNew = errors.New("webhook-timestamp is too far in the future")
	// ErrNoMatchingSignature: no v1 signature of webhook-signature matches the
	// request under any configured secret.
	ErrNoMatchingSignature = errors.New("webhook-signature does not match any configured secret")
)
