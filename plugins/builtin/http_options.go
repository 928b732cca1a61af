package builtin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/parley-voice/parley/plugins"
	"github.com/parley-voice/parley/plugins/internal/argcheck"
)

// Defaults and limits of http_request.
const (
	DefaultHTTPTimeout          = 5 * time.Second
	DefaultHTTPMaxResponseBytes = 64 << 10
	// DefaultIdempotencyHeader carries plugins.IdempotencyKey on every request
	// made during a call, unless the idempotency_header option says otherwise.
	DefaultIdempotencyHeader = "Idempotency-Key"
	maxHTTPResponseBytes     = 16 << 20
	maxHTTPTimeout           = 10 * time.Minute
)

// httpOptions are the options of http_request as an agent config gives them.
type httpOptions struct {
	URL                   string            `json:"url"`
	Method                string            `json:"method"`
	Headers               map[string]string `json:"headers"`
	BodyTemplate          string            `json:"body_template"`
	Parameters            json.RawMessage   `json:"parameters"`
	Timeout               duration          `json:"timeout"`
	MaxResponseBytes      int64             `json:"max_response_bytes"`
	AllowInsecureLoopback bool              `json:"allow_insecure_loopback"`
	AllowedHosts          []string          `json:"allowed_hosts"`
	// IdempotencyHeader names the header that carries the tool call's
	// idempotency key; absent means DefaultIdempotencyHeader, "" sends none.
	IdempotencyHeader *string `json:"idempotency_header"`
}

// duration decodes from a Go duration string ("5s", "1m30s") or a number of
// seconds.
type duration time.Duration

func (d *duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("timeout: %q is not a duration like \"5s\" or \"500ms\"", shorten(s))
		}
		*d = duration(v)
		return nil
	}
	var secs float64
	if err := json.Unmarshal(b, &secs); err != nil {
		return fmt.Errorf("timeout: want a duration like \"5s\" or a number of seconds")
	}
	if secs < -maxHTTPTimeout.Seconds() || secs > maxHTTPTimeout.Seconds() {
		return fmt.Errorf("timeout: must be at most %s", maxHTTPTimeout)
	}
	*d = duration(secs * float64(time.Second))
	return nil
}

var httpMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// Headers that the client sets itself; configuring them would be ignored or
// would corrupt the request.
var reservedHeaders = []string{"Host", "Content-Length", "Transfer-Encoding", "Connection"}

// bodyMode says how placeholders in body_template are escaped.
type bodyMode int

const (
	bodyJSON bodyMode = iota
	bodyForm
	bodyText
)

// httpConfig is validated httpOptions, ready to build a tool from.
type httpConfig struct {
	method   string
	scheme   string
	host     string // host[:port] as written in the URL
	url      *template
	body     *template
	bodyMode bodyMode
	// sendArgs: no body template, but the method has a body: send the
	// arguments object as JSON.
	sendArgs bool
	header   http.Header
	params   json.RawMessage
	check    *argcheck.Schema
	timeout  time.Duration
	maxBody  int64
	loopback bool // allow_insecure_loopback
	hosts    []string
	nets     []netip.Prefix
	// idemHeader is the canonical name of the idempotency key header, "" for none.
	idemHeader string
}

func badOption(name, format string, a ...any) error {
	return fmt.Errorf("%w: %s option %q: %s", plugins.ErrBadOptions, HTTPRequestName, name, fmt.Sprintf(format, a...))
}

// parseHTTPOptions decodes and validates http_request options.
func parseHTTPOptions(raw json.RawMessage) (*httpConfig, error) {
	var o httpOptions
	if err := decodeOptions(HTTPRequestName, raw, &o); err != nil {
		return nil, err
	}
	c := &httpConfig{
		timeout:  time.Duration(o.Timeout),
		maxBody:  o.MaxResponseBytes,
		loopback: o.AllowInsecureLoopback,
	}
	if err := c.setURL(o.URL); err != nil {
		return nil, err
	}
	c.method = strings.ToUpper(strings.TrimSpace(o.Method))
	if c.method == "" {
		c.method = http.MethodGet
	}
	if !slices.Contains(httpMethods, c.method) {
		return nil, badOption("method", "want one of %s", strings.Join(httpMethods, ", "))
	}
	if err := c.setHeaders(o.Headers); err != nil {
		return nil, err
	}
	if err := c.setIdempotencyHeader(o.IdempotencyHeader); err != nil {
		return nil, err
	}
	if err := c.setBody(o.BodyTemplate); err != nil {
		return nil, err
	}
	if err := c.setParameters(o.Parameters); err != nil {
		return nil, err
	}
	switch {
	case c.timeout < 0:
		return nil, badOption("timeout", "must not be negative")
	case c.timeout > maxHTTPTimeout:
		return nil, badOption("timeout", "must be at most %s", maxHTTPTimeout)
	case c.timeout == 0:
		c.timeout = DefaultHTTPTimeout
	}
	switch {
	case c.maxBody < 0:
		return nil, badOption("max_response_bytes", "must not be negative")
	case c.maxBody == 0:
		c.maxBody = DefaultHTTPMaxResponseBytes
	case c.maxBody > maxHTTPResponseBytes:
		return nil, badOption("max_response_bytes", "must be at most %d", maxHTTPResponseBytes)
	}
	for i, h := range o.AllowedHosts {
		if err := c.allowHost(h); err != nil {
			return nil, badOption(fmt.Sprintf("allowed_hosts[%d]", i), "%v", err)
		}
	}
	return c, nil
}

// setURL checks the URL template: https (or http to loopback with
// allow_insecure_loopback), a fixed host without credentials, and placeholders
// only in the path and query.
func (c *httpConfig) setURL(raw string) error {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return badOption("url", "is required")
	}
	t, err := parseTemplate(raw)
	if err != nil {
		return badOption("url", "%v", err)
	}
	prefix := t.literalPrefix()
	scheme, rest, ok := strings.Cut(prefix, "://")
	if !ok {
		return badOption("url", "must start with https:// and a host name without placeholders")
	}
	authority := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority = rest[:i]
	} else if len(t.parts) > 1 {
		// A placeholder follows the host directly: it could change the host.
		return badOption("url", "placeholders may only appear in the path and query, after the host")
	}
	u, err := url.Parse(scheme + "://" + authority + "/")
	if err != nil {
		return badOption("url", "invalid host: %v", errorWithoutURL(err))
	}
	if u.User != nil {
		return badOption("url", "must not contain credentials; put them in headers")
	}
	if u.Hostname() == "" {
		return badOption("url", "has no host")
	}
	c.scheme = strings.ToLower(u.Scheme)
	c.host = u.Host
	switch c.scheme {
	case "https":
	case "http":
		if !c.loopback {
			return badOption("url", "must use https (plain http is only allowed to a loopback host with allow_insecure_loopback)")
		}
		if ip, err := netip.ParseAddr(u.Hostname()); err == nil && !ip.Unmap().IsLoopback() {
			return badOption("url", "plain http is only allowed to a loopback host")
		}
	default:
		return badOption("url", "scheme must be https")
	}
	if strings.Contains(raw, "#") {
		return badOption("url", "must not contain a fragment")
	}
	sample, _ := t.fill(map[string]any{}, func(any, bool) (string, error) { return "x", nil })
	if su, err := url.Parse(sample); err != nil || su.Host != c.host {
		return badOption("url", "is not a valid URL once placeholders are filled")
	}
	c.url = t
	return nil
}

// errorWithoutURL drops the URL that url.Parse errors repeat.
func errorWithoutURL(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

func (c *httpConfig) setHeaders(h map[string]string) error {
	c.header = http.Header{}
	for name, value := range h {
		if !validHeaderName(name) {
			return badOption("headers", "%q is not a valid header name", shorten(name))
		}
		canonical := http.CanonicalHeaderKey(name)
		if slices.Contains(reservedHeaders, canonical) {
			return badOption("headers", "%s is set by the client and cannot be configured", canonical)
		}
		if strings.ContainsAny(value, "\r\n\x00") {
			// Never echo the value: headers hold secrets.
			return badOption("headers", "the value of %s contains a line break or NUL", canonical)
		}
		c.header.Set(canonical, value)
	}
	if c.header.Get("User-Agent") == "" {
		c.header.Set("User-Agent", "parley-http-request/1")
	}
	return nil
}

// setIdempotencyHeader checks the idempotency_header option. It runs after
// setHeaders: a fixed value configured for the same header would give every
// tool call one key, defeating it.
func (c *httpConfig) setIdempotencyHeader(name *string) error {
	switch {
	case name == nil:
		c.idemHeader = DefaultIdempotencyHeader
	case *name == "":
		return nil
	case !validHeaderName(*name):
		return badOption("idempotency_header", "%q is not a valid header name", shorten(*name))
	default:
		c.idemHeader = http.CanonicalHeaderKey(*name)
	}
	if slices.Contains(reservedHeaders, c.idemHeader) || c.idemHeader == "Content-Type" || c.idemHeader == "User-Agent" {
		return badOption("idempotency_header", "%s cannot carry the idempotency key", c.idemHeader)
	}
	if _, set := c.header[c.idemHeader]; set {
		return badOption("headers", "%s carries each tool call's idempotency key (see idempotency_header); do not set it here, or set idempotency_header to \"\" to send your own", c.idemHeader)
	}
	return nil
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func (c *httpConfig) setBody(tmpl string) error {
	ct := strings.ToLower(c.header.Get("Content-Type"))
	switch {
	case ct == "" || strings.Contains(ct, "json"):
		c.bodyMode = bodyJSON
	case strings.HasPrefix(ct, "application/x-www-form-urlencoded"):
		c.bodyMode = bodyForm
	default:
		c.bodyMode = bodyText
	}
	if tmpl == "" {
		c.sendArgs = c.method == http.MethodPost || c.method == http.MethodPut || c.method == http.MethodPatch
		if c.sendArgs && ct == "" {
			c.header.Set("Content-Type", "application/json")
		}
		if c.sendArgs && c.bodyMode != bodyJSON {
			return badOption("body_template", "is required when Content-Type is not JSON")
		}
		return nil
	}
	if c.method == http.MethodGet {
		return badOption("body_template", "GET requests have no body; use a placeholder in the url")
	}
	t, err := parseTemplate(tmpl)
	if err != nil {
		return badOption("body_template", "%v", err)
	}
	if c.bodyMode == bodyJSON {
		t.markJSONStrings()
		// Filled with a string and with a number, a JSON template must give
		// valid JSON: then every placeholder outside a string literal stands
		// where any JSON value may.
		for _, sample := range []any{"x", json.Number("0")} {
			filled, _ := t.fill(map[string]any{}, func(_ any, inString bool) (string, error) {
				return escapeJSON(sample, inString)
			})
			if !json.Valid([]byte(filled)) {
				return badOption("body_template", "is not valid JSON once placeholders are filled; a placeholder outside quotes must stand for a whole value (set a Content-Type header for other bodies)")
			}
		}
		if ct == "" {
			c.header.Set("Content-Type", "application/json")
		}
	}
	c.body = t
	return nil
}

// setParameters takes the schema the model sees, or infers one: every
// placeholder a required string.
func (c *httpConfig) setParameters(raw json.RawMessage) error {
	names := c.url.names()
	if c.body != nil {
		for _, n := range c.body.names() {
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	if len(strings.TrimSpace(string(raw))) == 0 || strings.TrimSpace(string(raw)) == "null" {
		props := map[string]any{}
		for _, n := range names {
			props[n] = map[string]any{"type": "string"}
		}
		schema := map[string]any{"type": "object", "properties": props}
		if !c.sendArgs {
			// Only the placeholders are used; anything else is a mistake. When
			// the arguments are the body, any object goes unless parameters say
			// otherwise.
			schema["additionalProperties"] = false
		}
		if len(names) > 0 {
			schema["required"] = names
		}
		raw = marshalJSON(schema)
	}
	check, err := argcheck.Parse(raw)
	if err != nil {
		return badOption("parameters", "not a JSON Schema: %v", err)
	}
	if !check.IsObject() {
		return badOption("parameters", "must be a schema with \"type\": \"object\"")
	}
	props := check.Properties()
	for _, n := range names {
		if !slices.Contains(props, n) {
			return badOption("parameters", "placeholder {{%s}} is not one of its properties", n)
		}
	}
	compact, err := compactJSON(raw)
	if err != nil {
		return badOption("parameters", "%v", err)
	}
	c.params, c.check = compact, check
	return nil
}

func compactJSON(raw []byte) (json.RawMessage, error) {
	var v json.RawMessage
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// allowHost adds an allowed_hosts entry: a host name, an IP address or a CIDR
// range.
func (c *httpConfig) allowHost(h string) error {
	h = strings.TrimSpace(h)
	if p, err := netip.ParsePrefix(h); err == nil {
		c.nets = append(c.nets, p.Masked())
		return nil
	}
	if ip, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil {
		ip = ip.Unmap()
		c.nets = append(c.nets, netip.PrefixFrom(ip, ip.BitLen()))
		return nil
	}
	h = strings.TrimSuffix(strings.ToLower(h), ".")
	if h == "" || strings.ContainsAny(h, "/:@ ?#[]") {
		return fmt.Errorf("want a host name, IP address or CIDR range, without scheme or port")
	}
	c.hosts = append(c.hosts, h)
	return nil
}
