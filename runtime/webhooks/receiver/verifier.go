// Package receiver is what an HTTP service that receives Parley's webhooks
// uses: it reads the body up to a limit, checks the Standard Webhooks signature
// and timestamp, decodes the event envelope, and keeps a bounded in-memory
// record of webhook-ids to stop replays and concurrent duplicates.
//
// # The deduplication contract
//
// Parley delivers at least once: it retries until it sees a 2xx, with the same
// webhook-id (the event_id) and a fresh timestamp. So an id is recorded as
// processed only when the application says so, never merely because a request
// arrived:
//
//  1. Verify claims the id. A second request with the same id while the claim
//     holds gets ErrInFlight (answer 409: Parley retries later).
//  2. When the event has been processed (stored, committed), call Done(id): for
//     the dedupe TTL, further deliveries of the id get ErrReplay. Answer them
//     2xx without processing them, so that Parley stops retrying.
//  3. When processing failed and you answer non-2xx, call Release(id), so that
//     Parley's retry is processed. A claim nobody settles expires after the
//     claim timeout (WithClaimTimeout).
//
// Middleware does all three: it calls Done when the wrapped handler answers
// 2xx, and Release otherwise (including when it panics).
//
// The record lives in memory: it is lost on restart and bounded in size and
// time, and Parley may retry an event after the TTL. It stops replays and cheap
// duplicates; it does not replace making your processing idempotent by
// event_id (a unique key in your database), which is the only exactly-once
// guarantee.
package receiver

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/parley-voice/parley/runtime/webhooks/signature"
)

// Defaults of NewVerifier.
const (
	DefaultMaxBodyBytes     = 1 << 20 // 1 MiB; Parley refuses payloads over 256 KiB
	DefaultTolerance        = signature.DefaultTolerance
	DefaultDedupeTTL        = 10 * time.Minute
	DefaultDedupeCapacity   = 100_000
	DefaultClaimTimeout     = time.Minute
	DefaultReplayStatusCode = http.StatusOK
)

// Verifier verifies webhook requests. It is safe for concurrent use.
type Verifier struct {
	secrets      []signature.Secret
	tolerance    time.Duration
	maxBody      int64
	now          func() time.Time
	seen         *idCache // nil when deduplication is off
	replayStatus int
	log          *slog.Logger
}

// Option configures a Verifier.
type Option func(*config)

type config struct {
	tolerance    time.Duration
	maxBody      int64
	dedupe       bool
	ttl          time.Duration
	capacity     int
	claimTimeout time.Duration
	now          func() time.Time
	replayStatus int
	log          *slog.Logger
}

// WithTolerance sets how far webhook-timestamp may be from the local clock,
// either way (default 5 minutes).
func WithTolerance(d time.Duration) Option { return func(c *config) { c.tolerance = d } }

// WithMaxBodyBytes sets the largest body accepted (default 1 MiB).
func WithMaxBodyBytes(n int64) Option { return func(c *config) { c.maxBody = n } }

// WithDedupeTTL sets how long a processed webhook-id is remembered (default 10
// minutes). Keep it at least twice the tolerance: a captured request can be
// replayed for as long as its timestamp is within tolerance.
func WithDedupeTTL(d time.Duration) Option { return func(c *config) { c.ttl = d } }

// WithDedupeCapacity bounds how many webhook-ids are remembered (default
// 100,000); beyond it the oldest are forgotten first.
func WithDedupeCapacity(n int) Option { return func(c *config) { c.capacity = n } }

// WithClaimTimeout sets how long Verify's claim on an id holds when neither
// Done nor Release is called (default 1 minute).
func WithClaimTimeout(d time.Duration) Option { return func(c *config) { c.claimTimeout = d } }

// WithoutDedupe turns off the webhook-id record: Verify then only checks
// signatures and timestamps, and Done and Release do nothing.
func WithoutDedupe() Option { return func(c *config) { c.dedupe = false } }

// WithClock sets the clock used for timestamps and the dedupe TTL (tests).
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithReplayStatus sets what the Middleware answers to a delivery already
// processed (ErrReplay): 200 by default, so that Parley stops retrying; 409 if
// you prefer to see replays as failures in Parley's attempt log (Parley then
// retries them until its schedule ends).
func WithReplayStatus(code int) Option { return func(c *config) { c.replayStatus = code } }

// WithLogger makes the Middleware log each rejected request (at Warn, or Info
// for replays). By default it logs nothing.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// NewVerifier returns a Verifier for the given "whsec_…" secrets; more than one
// during a rotation. Errors name the bad secret by position, never by value.
func NewVerifier(secrets []string, opts ...Option) (*Verifier, error) {
	c := config{
		tolerance: DefaultTolerance, maxBody: DefaultMaxBodyBytes, dedupe: true,
		ttl: DefaultDedupeTTL, capacity: DefaultDedupeCapacity, claimTimeout: DefaultClaimTimeout,
		now: time.Now, replayStatus: DefaultReplayStatusCode,
	}
	for _, o := range opts {
		o(&c)
	}
	if len(secrets) == 0 {
		return nil, fmt.Errorf("webhook verifier: %w", signature.ErrNoSecrets)
	}
	parsed, err := signature.ParseSecrets(secrets)
	if err != nil {
		return nil, fmt.Errorf("webhook verifier: %w", err)
	}
	switch {
	case c.tolerance <= 0:
		return nil, fmt.Errorf("webhook verifier: tolerance must be positive, got %s", c.tolerance)
	case c.maxBody <= 0:
		return nil, fmt.Errorf("webhook verifier: max body bytes must be positive, got %d", c.maxBody)
	case c.now == nil:
		return nil, errors.New("webhook verifier: clock must not be nil")
	case c.replayStatus < 200 || c.replayStatus > 599:
		return nil, fmt.Errorf("webhook verifier: replay status %d is not an HTTP status", c.replayStatus)
	case c.dedupe && c.ttl <= 0:
		return nil, fmt.Errorf("webhook verifier: dedupe TTL must be positive, got %s (use WithoutDedupe to turn it off)", c.ttl)
	case c.dedupe && c.capacity <= 0:
		return nil, fmt.Errorf("webhook verifier: dedupe capacity must be positive, got %d", c.capacity)
	case c.dedupe && c.claimTimeout <= 0:
		return nil, fmt.Errorf("webhook verifier: claim timeout must be positive, got %s", c.claimTimeout)
	}
	v := &Verifier{
		secrets: parsed, tolerance: c.tolerance, maxBody: c.maxBody, now: c.now,
		replayStatus: c.replayStatus, log: c.log,
	}
	if c.dedupe {
		v.seen = newIDCache(c.capacity, c.ttl, c.claimTimeout)
	}
	return v, nil
}

// Verify reads r's body (up to the limit), checks the signature and timestamp,
// decodes the envelope and claims the webhook-id (see the package's
// deduplication contract: settle the claim with Done or Release). It consumes
// r.Body; the Delivery holds it.
//
// On ErrReplay and ErrInFlight the returned Delivery is filled in (the request
// is authentic), so it can be logged; otherwise it is empty on error.
func (v *Verifier) Verify(r *http.Request) (Delivery, error) {
	now := v.now()
	// Check headers and timestamp before reading a body that may be for nothing:
	// against an empty body only the signature can fail, and it is checked below.
	if err := signature.Verify(v.secrets, r.Header, nil, now, v.tolerance); err != nil && !errors.Is(err, signature.ErrNoMatchingSignature) {
		return Delivery{}, err
	}
	body, err := v.readBody(r)
	if err != nil {
		return Delivery{}, err
	}
	if err := signature.Verify(v.secrets, r.Header, body, now, v.tolerance); err != nil {
		return Delivery{}, err
	}
	// Verify accepted both headers, so they parse.
	ts, _ := signature.ParseTimestamp(r.Header.Get(signature.HeaderTimestamp))
	d := Delivery{ID: r.Header.Get(signature.HeaderID), Timestamp: ts, Body: body}
	if d.Event, err = decodeEnvelope(body); err != nil {
		return Delivery{}, err
	}
	if v.seen == nil {
		return d, nil
	}
	switch state, token := v.seen.claim(d.ID, now); state {
	case stateDone:
		return d, fmt.Errorf("%w: %s", ErrReplay, d.ID)
	case stateClaimed:
		return d, fmt.Errorf("%w: %s", ErrInFlight, d.ID)
	default:
		d.claim = token
	}
	return d, nil
}

// Done records that the event with this webhook-id was processed: for the
// dedupe TTL, Verify answers its deliveries with ErrReplay.
func (v *Verifier) Done(id string) {
	if v.seen != nil {
		v.seen.done(id, v.now())
	}
}

// Release forgets Verify's claim on id, so that a retry of the event is
// processed. Call it when you answer non-2xx. It does not undo Done.
func (v *Verifier) Release(id string) {
	if v.seen != nil {
		v.seen.release(id, 0)
	}
}

// release forgets exactly the claim d holds (not a later one).
func (v *Verifier) release(d Delivery) {
	if v.seen != nil && d.claim != 0 {
		v.seen.release(d.ID, d.claim)
	}
}

// StatusCode maps an error of Verify to the HTTP status to answer: 413 for a
// body too large, 401 for a signature or timestamp that fails, 409 for a
// delivery in flight, the replay status (200 by default) for ErrReplay, 400 for
// the rest. It returns 200 for nil.
func (v *Verifier) StatusCode(err error) int {
	switch {
	case err == nil:
		return http.StatusOK
	case errors.Is(err, ErrReplay):
		return v.replayStatus
	case errors.Is(err, ErrInFlight):
		return http.StatusConflict
	case errors.Is(err, ErrBodyTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, signature.ErrNoMatchingSignature),
		errors.Is(err, signature.ErrTimestampTooOld),
		errors.Is(err, signature.ErrTimestampTooNew):
		return http.StatusUnauthorized
	}
	return http.StatusBadRequest
}

// readBody reads the whole body, refusing more than the limit.
func (v *Verifier) readBody(r *http.Request) ([]byte, error) {
	if r.ContentLength > v.maxBody {
		return nil, fmt.Errorf("%w: Content-Length %d is over the %d-byte limit", ErrBodyTooLarge, r.ContentLength, v.maxBody)
	}
	if r.Body == nil {
		return nil, nil
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength))
	}
	n, err := buf.ReadFrom(io.LimitReader(r.Body, v.maxBody+1))
	if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
		return nil, fmt.Errorf("%w: over the %d-byte limit of the server", ErrBodyTooLarge, mbe.Limit)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBodyRead, err)
	}
	if n > v.maxBody {
		return nil, fmt.Errorf("%w: over the %d-byte limit", ErrBodyTooLarge, v.maxBody)
	}
	return buf.Bytes(), nil
}
