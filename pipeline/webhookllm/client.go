package webhookllm

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/parley-voice/parley/pipeline"
	"github.com/parley-voice/parley/runtime/events"
	"github.com/parley-voice/parley/runtime/netguard"
	"github.com/parley-voice/parley/runtime/webhooks/signature"
)

// maxResponseHeaderBytes bounds the headers a backend may answer with.
const maxResponseHeaderBytes = 16 << 10

// client POSTs signed JSON to one backend and reads its bounded answer. Its
// dialer applies the SSRF policy to every resolved address; proxies from the
// environment are ignored and redirects are not followed.
type client struct {
	stage     string
	url       string
	origin    string // scheme://host, the only part of the URL errors show
	secrets   []signature.Secret
	redact    []string
	timeout   time.Duration
	maxAnswer int
	now       func() time.Time
	http      *http.Client
	transport *http.Transport
}

func newClient(cfg Config, stage string, defaultTimeout time.Duration) (*client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	u, _ := parseURL(cfg.URL, cfg.AllowInsecureLoopback) // Validate passed
	secret, _ := signature.ParseSecret(cfg.Secret)
	c := &client{
		stage:     stage,
		url:       u.String(),
		origin:    (&url.URL{Scheme: strings.ToLower(u.Scheme), Host: u.Host}).String(),
		secrets:   []signature.Secret{secret},
		redact:    []string{cfg.Secret, strings.TrimPrefix(cfg.Secret, signature.SecretPrefix)},
		timeout:   cfg.Timeout,
		maxAnswer: cfg.MaxAnswerBytes,
		now:       cfg.Now,
	}
	if c.timeout == 0 {
		c.timeout = defaultTimeout
	}
	if c.maxAnswer == 0 {
		c.maxAnswer = DefaultMaxAnswerBytes
	}
	if c.now == nil {
		c.now = time.Now
	}
	policy := &netguard.Policy{
		LoopbackOnly:  strings.EqualFold(u.Scheme, "http"),
		AllowLoopback: cfg.AllowInsecureLoopback,
	}
	dialer := &net.Dialer{Timeout: c.timeout, KeepAlive: 30 * time.Second}
	c.transport = &http.Transport{
		Proxy:                  nil,
		DialContext:            policy.DialContext(dialer),
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: cfg.RootCAs},
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           64,
		MaxIdleConnsPerHost:    64, // many calls talk to one backend; keep their connections warm
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    c.timeout,
		MaxResponseHeaderBytes: maxResponseHeaderBytes,
		DisableCompression:     true,
	}
	c.http = &http.Client{
		Transport:     c.transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return c, nil
}

// errNoAnswer is the cause of a request's context when its own timeout expired.
var errNoAnswer = errors.New("no answer")

// post sends body and returns the answer's body (nil for 204 No Content). A
// failure is a *pipeline.ProviderError, or ctx's error when ctx ended first.
func (c *client) post(ctx context.Context, body []byte) ([]byte, error) {
	at := c.now()
	start := time.Now()
	deadline := start.Add(c.timeout)
	if d, ok := pipeline.FirstTokenDeadline(ctx); ok && d.Before(deadline) {
		deadline = d
	}
	limit := deadline.Sub(start).Round(time.Millisecond)
	rctx, cancel := context.WithDeadlineCause(ctx, deadline, errNoAnswer)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return nil, c.fail(0, false, fmt.Errorf("building the request to %s failed", c.origin))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	signature.SetHeaders(req.Header, c.secrets, "msg_"+events.NewULID(at), at, body)

	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.transportError(ctx, rctx, err, limit)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, int64(c.maxAnswer)+1))
	if err != nil {
		return nil, c.transportError(ctx, rctx, err, limit)
	}
	switch s := resp.StatusCode; {
	case s == http.StatusNoContent:
		return nil, nil
	case s >= 300 && s < 400:
		return nil, c.fail(s, false, fmt.Errorf("%s answered with a redirect, which is not followed; configure the final URL", c.origin))
	case s < 200 || s >= 300:
		msg := fmt.Sprintf("%s answered %s", c.origin, http.StatusText(s))
		if snip := c.snippet(data); snip != "" {
			msg += ": " + snip
		}
		return nil, c.fail(s, retryableStatus(s), errors.New(msg))
	}
	if len(data) > c.maxAnswer {
		return nil, c.fail(resp.StatusCode, true, fmt.Errorf("%w: more than %d bytes", ErrAnswerTooLarge, c.maxAnswer))
	}
	return data, nil
}

// transportError classifies a failure to send or to read the answer. The
// *url.Error of net/http is unwrapped: its text holds the whole URL.
func (c *client) transportError(parent, rctx context.Context, err error, limit time.Duration) error {
	if parent.Err() != nil {
		return parent.Err()
	}
	if errors.Is(context.Cause(rctx), errNoAnswer) {
		// For a reply generator the whole answer is its first token: a
		// fallback chain treats the timeout as a missed first-byte budget.
		is := []error{context.DeadlineExceeded}
		if c.stage == "llm" {
			is = append(is, pipeline.ErrFirstByteTimeout)
		}
		return c.fail(0, true, &textError{msg: fmt.Sprintf("%s did not answer within %s", c.origin, limit), is: is})
	}
	if ue, ok := errors.AsType[*url.Error](err); ok {
		err = ue.Err
	}
	return c.fail(0, true, fmt.Errorf("POST to %s: %w", c.origin, err))
}

// invalid reports an answer that could not be used; the backend is at fault,
// so another try or provider may do better.
func (c *client) invalid(err error) error {
	return c.fail(http.StatusOK, true, fmt.Errorf("%w from %s: %w", ErrBadAnswer, c.origin, err))
}

func (c *client) fail(status int, retryable bool, err error) error {
	return &pipeline.ProviderError{Provider: ProviderName, Stage: c.stage, Status: status, Retryable: retryable, Err: c.scrub(err)}
}

// scrub removes the secret from an error's text, should a backend echo it,
// keeping the sentinels it wrapped reachable.
func (c *client) scrub(err error) error {
	msg := err.Error()
	clean := msg
	for _, s := range c.redact {
		if s != "" {
			clean = strings.ReplaceAll(clean, s, "[redacted]")
		}
	}
	if clean == msg {
		return err
	}
	var is []error
	for _, s := range []error{ErrBadAnswer, ErrAnswerTooLarge, pipeline.ErrFirstByteTimeout, context.DeadlineExceeded} {
		if errors.Is(err, s) {
			is = append(is, s)
		}
	}
	return &textError{msg: clean, is: is}
}

// snippet is the start of an error answer, printable, for the error message.
func (c *client) snippet(data []byte) string {
	s := strings.TrimSpace(string(data))
	if r := []rune(s); len(r) > 200 {
		s = string(r[:200]) + "…"
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// close drops idle connections.
func (c *client) close() { c.transport.CloseIdleConnections() }

// retryableStatus reports whether another try or provider may succeed.
func retryableStatus(status int) bool {
	return status == 408 || status == 409 || status == 425 || status == 429 || status >= 500
}

// textError is an error with its own text that still matches the sentinels
// it names (a timeout, or an error whose text had the secret removed).
type textError struct {
	msg string
	is  []error
}

func (e *textError) Error() string   { return e.msg }
func (e *textError) Unwrap() []error { return e.is }
