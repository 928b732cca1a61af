package webhooks

import (
	"fmt"
	"net/http"
	"time"
)

// Outcome is what an attempt means for the event.
type Outcome int

const (
	// OutcomeUnknown is the zero value; no attempt returns it.
	OutcomeUnknown Outcome = iota
	// OutcomeDelivered: the endpoint answered 2xx.
	OutcomeDelivered
	// OutcomeRetry: try again later (any other status, a timeout, a
	// connection or TLS error, a refused address, a redirect).
	OutcomeRetry
	// OutcomeGone: the endpoint answered 410 Gone; disable it and stop
	// delivering there until someone enables it again.
	OutcomeGone
	// OutcomeRejected: the event can never be sent to this endpoint (over its
	// payload limit, or a request that cannot be built); never retried.
	OutcomeRejected
)

var outcomeNames = [...]string{"unknown", "delivered", "retry", "gone", "rejected"}

func (o Outcome) String() string {
	if o < 0 || int(o) >= len(outcomeNames) {
		return fmt.Sprintf("Outcome(%d)", int(o))
	}
	return outcomeNames[o]
}

// MarshalText writes the outcome's name, for the attempt log and admin API.
func (o Outcome) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// UnmarshalText reads an outcome's name.
func (o *Outcome) UnmarshalText(b []byte) error {
	for i, n := range outcomeNames {
		if n == string(b) {
			*o = Outcome(i)
			return nil
		}
	}
	return fmt.Errorf("unknown webhook attempt outcome %q", b)
}

// Attempt is the record of one delivery attempt, as kept in the attempt log.
type Attempt struct {
	// At is when the attempt started; its unix seconds are the
	// webhook-timestamp that was signed.
	At time.Time `json:"at"`
	// Status is the HTTP status, 0 when no response arrived.
	Status int `json:"status,omitempty"`
	// Latency is from sending the request to having read the response
	// snippet (or the failure).
	Latency time.Duration `json:"latency_ns"`
	// Err says what went wrong, empty when delivered. It never contains
	// secrets, header values or the URL's path and query.
	Err string `json:"error,omitempty"`
	// ResponseSnippet is the start of the response body, at most
	// MaxSnippetBytes, as valid UTF-8.
	ResponseSnippet string `json:"response_snippet,omitempty"`
	// Outcome is what the attempt means for the event.
	Outcome Outcome `json:"outcome"`
	// RetryAfter is the response's Retry-After as a delay from the
	// response, 0 when absent or unparseable.
	RetryAfter time.Duration `json:"retry_after_ns,omitempty"`
	// Timeout is set when the attempt ran out of time (connect or total
	// timeout): NextAttempt then waits at least MinAfterThrottle.
	Timeout bool `json:"timeout,omitempty"`
	// Canceled is set when the caller's context ended the attempt (shutdown):
	// the endpoint is not to blame, and the attempt need not be counted.
	Canceled bool `json:"canceled,omitempty"`
}

// Throttled reports whether the endpoint asked for, or needs, a longer pause:
// a 429 or a timeout.
func (a *Attempt) Throttled() bool {
	return a.Status == http.StatusTooManyRequests || a.Timeout
}

// classify maps an HTTP status to an outcome. Only 2xx delivers and only 410
// stops; every other status is retried, 4xx included. Like Svix, Parley
// retries client errors because they are mostly a receiver's passing
// misconfiguration (a deploy, a rotated secret, a proxy), and the schedule
// gives its owner a day to fix it; a permanent failure ends in the DLQ, from
// which it can be replayed.
func classify(status int) Outcome {
	switch {
	case status >= 200 && status < 300:
		return OutcomeDelivered
	case status == http.StatusGone:
		return OutcomeGone
	}
	return OutcomeRetry
}
