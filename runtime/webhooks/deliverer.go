package webhooks

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/parley-voice/parley/runtime/webhooks/signature"
)

// UserAgent identifies Parley's webhook requests.
const UserAgent = "Parley-Webhooks/1"

// MaxSnippetBytes is how much of a response body an attempt keeps.
const MaxSnippetBytes = 4 << 10

// maxDrainBytes is how much more of a response body is read and discarded so
// that the connection can be reused; a longer body closes the connection.
const maxDrainBytes = 64 << 10

// errAttemptTimeout is the cause of an attempt's context when the endpoint's
// timeout ends it, told apart from the caller cancelling.
var errAttemptTimeout = errors.New("webhook attempt timed out")

// Options tune a Deliverer beyond its endpoint's config.
type Options struct {
	// RootCAs, when set, replaces the system's trusted roots: a private CA,
	// or a test server's certificate.
	RootCAs *x509.CertPool
	// Now is the clock of webhook-timestamp, Attempt.At and Retry-After
	// dates; time.Now when nil.
	Now func() time.Time
}

// Deliverer sends events to one endpoint: one signed POST per Deliver, over
// the endpoint's own HTTP client and connection pool. It decides nothing
// about retries or concurrency (see NextAttempt and Gate). It is safe for
// concurrent use.
type Deliverer struct {
	id         string
	url        string
	origin     string // scheme://host, the only part of the URL errors show
	secrets    []signature.Secret
	header     http.Header // content-type, user-agent and the endpoint's headers
	maxPayload int
	timeout    time.Duration
	client     *http.Client
	transport  *http.Transport
	now        func() time.Time
}

// NewDeliverer checks ep (see Endpoint.Validate; an http URL to a host that is
// not loopback fails here with ErrInsecureURL) and builds its deliverer.
// Unset fields take their defaults.
func NewDeliverer(ep Endpoint, opts Options) (*Deliverer, error) {
	if err := ep.Validate(); err != nil {
		return nil, fmt.Errorf("webhook endpoint %q: %w", ep.ID, err)
	}
	ep = ep.WithDefaults()
	u, err := parseEndpointURL(ep.URL, ep.AllowInsecureLoopback)
	if err != nil { // Validate passed, so this cannot happen
		return nil, fmt.Errorf("webhook endpoint %q: url: %w", ep.ID, err)
	}
	secrets, err := signature.ParseSecrets(ep.Secrets)
	if err != nil {
		return nil, fmt.Errorf("webhook endpoint %q: %w", ep.ID, err)
	}
	scheme := strings.ToLower(u.Scheme)
	header := make(http.Header, len(ep.Headers)+2)
	for k, v := range ep.Headers {
		header.Set(k, v)
	}
	header.Set("Content-Type", "application/json")
	header.Set("User-Agent", UserAgent)
	client, transport := newClient(&ep, scheme, opts.RootCAs)
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Deliverer{
		id:         ep.ID,
		url:        u.String(),
		origin:     (&url.URL{Scheme: scheme, Host: u.Host}).String(),
		secrets:    secrets,
		header:     header,
		maxPayload: ep.MaxPayloadBytes,
		timeout:    ep.Timeout.Std(),
		client:     client,
		transport:  transport,
		now:        now,
	}, nil
}

// ID returns the endpoint's id.
func (d *Deliverer) ID() string { return d.id }

// Deliver makes one attempt to deliver m: a POST of m.Body signed with every
// secret under a fresh webhook-timestamp, bounded by the endpoint's timeout.
// It never returns an error: the Attempt says what happened. 2xx is
// delivered, 410 is gone, anything else (other statuses, 3xx redirects, which
// are not followed, timeouts, refused addresses, connection and TLS errors) is
// to be retried; a body over the payload limit is rejected without sending.
// When ctx ends first the attempt is marked Canceled.
func (d *Deliverer) Deliver(ctx context.Context, m *Message) Attempt {
	a := Attempt{At: d.now()}
	if len(m.Body) > d.maxPayload {
		a.Outcome = OutcomeRejected
		a.Err = (&PayloadTooLargeError{EndpointID: d.id, EventID: m.EventID, EventType: m.Type, Size: len(m.Body), Limit: d.maxPayload}).Error()
		return a
	}
	ctx, cancel := context.WithTimeoutCause(ctx, d.timeout, errAttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url, bytes.NewReader(m.Body))
	if err != nil {
		a.Outcome = OutcomeRejected
		a.Err = "building the request to " + d.origin + " failed"
		return a
	}
	req.Header = d.header.Clone()
	signature.SetHeaders(req.Header, d.secrets, m.EventID, a.At, m.Body)

	start := time.Now()
	resp, err := d.client.Do(req)
	if err != nil {
		a.Latency = time.Since(start)
		d.failed(ctx, &a, err)
		return a
	}
	a.Status = resp.StatusCode
	a.Outcome = classify(resp.StatusCode)
	if ra, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), d.now()); ok {
		a.RetryAfter = ra
	}
	a.ResponseSnippet = readSnippet(resp.Body)
	a.Latency = time.Since(start)
	switch {
	case a.Outcome == OutcomeDelivered:
	case a.Outcome == OutcomeGone:
		a.Err = fmt.Sprintf("%s answered 410 Gone: the endpoint asks to be disabled", d.origin)
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		a.Err = fmt.Sprintf("%s answered %s; redirects are not followed, so update the endpoint URL", d.origin, resp.Status)
	default:
		a.Err = fmt.Sprintf("%s answered %s", d.origin, resp.Status)
	}
	return a
}

// failed fills in an attempt that got no response. The error text comes from
// below the *url.Error, which would quote the whole URL.
func (d *Deliverer) failed(ctx context.Context, a *Attempt, err error) {
	a.Outcome = OutcomeRetry
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	switch {
	case ctx.Err() != nil && errors.Is(context.Cause(ctx), errAttemptTimeout):
		a.Timeout = true
		a.Err = fmt.Sprintf("POST %s: no response within the endpoint's timeout of %s", d.origin, d.timeout)
	case ctx.Err() != nil:
		a.Canceled = true
		a.Err = fmt.Sprintf("POST %s: cancelled before a response: %v", d.origin, context.Cause(ctx))
	case errors.As(err, &ne) && ne.Timeout():
		a.Timeout = true
		a.Err = fmt.Sprintf("POST %s: %v", d.origin, err)
	default:
		a.Err = fmt.Sprintf("POST %s: %v", d.origin, err)
	}
}

// readSnippet reads the start of a response body, then drains a bounded
// amount more so that the connection can be reused, and closes it.
func readSnippet(body io.ReadCloser) string {
	defer body.Close()
	b, err := io.ReadAll(io.LimitReader(body, MaxSnippetBytes))
	if err == nil {
		_, _ = io.CopyN(io.Discard, body, maxDrainBytes)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// Close closes the deliverer's idle connections. It may be called more than
// once; Deliver still works after it, opening new connections.
func (d *Deliverer) Close() error {
	d.transport.CloseIdleConnections()
	return nil
}
