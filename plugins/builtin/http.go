package builtin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/parley-voice/parley/pipeline"
	"github.com/parley-voice/parley/plugins"
	"github.com/parley-voice/parley/plugins/internal/argcheck"
	"github.com/parley-voice/parley/runtime/netguard"
)

// NewHTTPRequest is the factory of the http_request tool, which calls an HTTP
// API described by its options (a JSON object):
//
//   - url (required): https URL; {{name}} placeholders in the path and query
//     are filled from the call's arguments, percent-encoded so that a value
//     cannot add path segments or query parameters. The scheme and host are
//     fixed.
//   - method: GET (default), POST, PUT, PATCH or DELETE.
//   - headers: sent as configured (no placeholders). Values never appear in
//     errors or logs.
//   - body_template: request body with placeholders. For JSON (the default
//     Content-Type) a placeholder inside a string literal gets the escaped
//     text, elsewhere the argument's JSON value; for form bodies values are
//     percent-encoded. Without it, POST, PUT and PATCH send the arguments
//     object as JSON.
//   - parameters: the JSON Schema of the arguments the model sees; by default
//     an object with every placeholder as a required string. Arguments are
//     checked against it before any request is made.
//   - timeout: "5s" (default) or a number of seconds, for the whole exchange.
//   - max_response_bytes: how much of the body to read, default 64 KiB.
//   - allow_insecure_loopback: allow http:// and connections to loopback
//     addresses; plain http is only ever allowed to loopback.
//   - allowed_hosts: host names, IPs or CIDR ranges exempt from the address
//     check below.
//   - idempotency_header: the header that carries the tool call's idempotency
//     key (plugins.IdempotencyKey), so that an API which deduplicates writes
//     does not act twice on a retried request. Default "Idempotency-Key"; ""
//     sends none. It is sent with every method, only when the tool runs in a
//     call, and may not also be set in headers.
//
// Connections are checked after DNS resolution, before connecting: private,
// loopback, link-local, cloud metadata, multicast and other non-public
// addresses are refused (ErrBlockedAddress). Proxies from the environment are
// not used, since a proxy would connect on our behalf past that check.
// Redirects are not followed: a 3xx comes back as the result, with its
// Location. The result is JSON {"status": 200, "body": ...}, the body parsed
// as JSON when it is JSON and a string otherwise, "truncated": true when it
// was cut at max_response_bytes. Any HTTP status is a result the agent can
// react to; only transport failures (DNS, refused address, TLS, timeout) are
// errors.
func NewHTTPRequest(opts json.RawMessage) (plugins.Tool, error) {
	c, err := parseHTTPOptions(opts)
	if err != nil {
		return nil, err
	}
	policy := &netguard.Policy{
		LoopbackOnly:  c.scheme == "http",
		AllowLoopback: c.loopback,
		AllowedHosts:  c.hosts,
		AllowedNets:   c.nets,
	}
	dialer := &net.Dialer{Timeout: c.timeout, KeepAlive: 30 * time.Second}
	transport := &http.Transport{
		Proxy:                  nil,
		DialContext:            policy.DialContext(dialer),
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           4,
		MaxIdleConnsPerHost:    4,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    c.timeout,
		ResponseHeaderTimeout:  c.timeout,
		MaxResponseHeaderBytes: 64 << 10,
	}
	client := &http.Client{
		Transport: transport,
		Timeout:   c.timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	origin := c.scheme + "://" + c.host
	return &httpTool{
		cfg:       c,
		origin:    origin,
		client:    client,
		transport: transport,
		spec: pipeline.ToolSpec{
			Name:        HTTPRequestName,
			Description: fmt.Sprintf("Sends an HTTP %s request to %s and returns the response status and body.", c.method, origin),
			Parameters:  c.params,
		},
	}, nil
}

type httpTool struct {
	cfg       *httpConfig
	origin    string // scheme://host, the only part of the URL errors show
	spec      pipeline.ToolSpec
	client    *http.Client
	transport *http.Transport
}

// httpResult is the content fed back to the model.
type httpResult struct {
	Status    int             `json:"status"`
	Location  string          `json:"location,omitempty"`
	Body      json.RawMessage `json:"body"`
	Truncated bool            `json:"truncated,omitempty"`
}

func (t *httpTool) Spec() pipeline.ToolSpec {
	s := t.spec
	s.Parameters = bytes.Clone(s.Parameters)
	return s
}

// Timeout is the configured timeout, so Run's deadline matches the client's.
func (t *httpTool) Timeout() time.Duration { return t.cfg.timeout }

// Close drops idle connections.
func (t *httpTool) Close() error {
	t.transport.CloseIdleConnections()
	return nil
}

// String, GoString and LogValue describe the tool without its headers, which
// hold secrets, in case someone logs it.
func (t *httpTool) String() string { return fmt.Sprintf("http_request(%s %s)", t.cfg.method, t.origin) }

// GoString is String, so %#v does not print the headers either.
func (t *httpTool) GoString() string { return t.String() }

// LogValue is String for slog.
func (t *httpTool) LogValue() slog.Value { return slog.StringValue(t.String()) }

func (t *httpTool) Call(ctx context.Context, raw json.RawMessage) (plugins.Result, error) {
	args, err := t.decodeArgs(raw)
	if err != nil {
		return plugins.Result{}, err
	}
	req, err := t.newRequest(ctx, args, raw)
	if err != nil {
		return plugins.Result{}, err
	}
	resp, err := t.client.Do(req)
	if err != nil {
		return plugins.Result{}, t.transportError(ctx, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, t.cfg.maxBody+1))
	if err != nil {
		return plugins.Result{}, t.transportError(ctx, fmt.Errorf("reading response: %w", err))
	}
	out := httpResult{Status: resp.StatusCode}
	if int64(len(body)) > t.cfg.maxBody {
		body, out.Truncated = body[:t.cfg.maxBody], true
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		out.Location = resp.Header.Get("Location")
	}
	switch {
	case !out.Truncated && len(bytes.TrimSpace(body)) > 0 && json.Valid(body):
		out.Body = body
	default:
		out.Body = marshalJSON(string(body))
	}
	content, err := json.Marshal(out)
	if err != nil {
		return plugins.Result{}, fmt.Errorf("encoding result: %w", err)
	}
	return plugins.Result{Content: string(content)}, nil
}

// decodeArgs parses and checks the arguments against the parameters schema.
func (t *httpTool) decodeArgs(raw json.RawMessage) (map[string]any, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		raw = json.RawMessage(`{}`)
	}
	v, err := argcheck.Decode(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: arguments are not valid JSON: %v", plugins.ErrBadArguments, err)
	}
	if err := argcheck.Check(t.cfg.check, v); err != nil {
		return nil, fmt.Errorf("%w: %w", plugins.ErrBadArguments, err)
	}
	args, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: arguments must be a JSON object", plugins.ErrBadArguments)
	}
	return args, nil
}

func (t *httpTool) newRequest(ctx context.Context, args map[string]any, raw json.RawMessage) (*http.Request, error) {
	target, err := t.cfg.url.fill(args, escapeURL)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", plugins.ErrBadArguments, err)
	}
	u, err := url.Parse(target)
	if err != nil || u.Host != t.cfg.host {
		// Cannot happen with escaped values; refuse rather than go elsewhere.
		return nil, fmt.Errorf("%w: arguments do not make a valid URL on %s", plugins.ErrBadArguments, t.origin)
	}
	var body io.Reader
	switch {
	case t.cfg.body != nil:
		esc := escapeJSON
		switch t.cfg.bodyMode {
		case bodyForm:
			esc = escapeForm
		case bodyText:
			esc = escapeText
		}
		b, err := t.cfg.body.fill(args, esc)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", plugins.ErrBadArguments, err)
		}
		if t.cfg.bodyMode == bodyJSON && !json.Valid([]byte(b)) {
			// Checked when the tool was built; kept as a last line of defence.
			return nil, fmt.Errorf("%w: arguments do not fit the body template", plugins.ErrBadArguments)
		}
		body = strings.NewReader(b)
	case t.cfg.sendArgs:
		body = bytes.NewReader(marshalJSON(args))
	}
	req, err := http.NewRequestWithContext(ctx, t.cfg.method, target, body)
	if err != nil {
		return nil, fmt.Errorf("building request to %s: %w", t.origin, errorWithoutURL(err))
	}
	req.Header = t.cfg.header.Clone()
	if t.cfg.idemHeader != "" {
		if key := plugins.IdempotencyKey(ctx); key != "" {
			req.Header.Set(t.cfg.idemHeader, key)
		}
	}
	return req, nil
}

// transportError describes a failed exchange by method and origin only: the
// path and query may carry arguments or keys, and headers carry secrets.
func (t *httpTool) transportError(ctx context.Context, err error) error {
	err = errorWithoutURL(err)
	var ne net.Error
	if ctx.Err() == nil && (errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())) {
		return fmt.Errorf("%s %s: %w after %s (%v)", t.cfg.method, t.origin, plugins.ErrToolTimeout, t.cfg.timeout, err)
	}
	return fmt.Errorf("%s %s: %w", t.cfg.method, t.origin, err)
}

var (
	_ plugins.Tool      = (*httpTool)(nil)
	_ plugins.Timeouter = (*httpTool)(nil)
	_ io.Closer         = (*httpTool)(nil)
	_ fmt.Stringer      = (*httpTool)(nil)
	_ slog.LogValuer    = (*httpTool)(nil)
)
