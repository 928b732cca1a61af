package webhooks

import "time"

// EndpointHealth is a snapshot of one endpoint's delivery state, for the admin
// API and CLI.
type EndpointHealth struct {
	EndpointID string `json:"endpoint_id"`
	// Enabled is false when the config disables the endpoint or it answered
	// 410 Gone; DisabledReason says which.
	Enabled        bool   `json:"enabled"`
	DisabledReason string `json:"disabled_reason,omitempty"`
	// State is the circuit breaker's state.
	State BreakerState `json:"state"`
	// ConsecutiveFailures is the current run of failed attempts.
	ConsecutiveFailures int `json:"consecutive_failures"`
	// OpenUntil is the end of the breaker's cool-down while it is open.
	OpenUntil time.Time `json:"open_until,omitzero"`
	// LastStatus is the HTTP status of the last finished attempt, 0 if it got
	// no response.
	LastStatus int `json:"last_status,omitempty"`
	// LastError and LastErrorAt describe the last failed attempt.
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	// LastSuccess is when the last delivery succeeded.
	LastSuccess time.Time `json:"last_success,omitzero"`
	// InFlight and MaxInFlight are the requests outstanding and allowed.
	InFlight    int `json:"in_flight"`
	MaxInFlight int `json:"max_in_flight"`
	// Counters since the gate was created.
	Delivered uint64 `json:"delivered"`
	Failed    uint64 `json:"failed"`
	Rejected  uint64 `json:"rejected"`
}
