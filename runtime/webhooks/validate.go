package webhooks

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"net/netip"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/runtime/netguard"
	"github.com/parley-voice/parley/runtime/webhooks/signature"
)

// MaxPayloadLimit is the largest max_payload_bytes an endpoint may set: NATS'
// default max_payload, so that any event an endpoint accepts also fits in the
// queue.
const MaxPayloadLimit = 1 << 20

const (
	maxInFlightLimit = 1024
	maxScheduleLen   = 100
)

var idRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// reservedHeaders are set by the deliverer or by the HTTP layer; an endpoint's
// Headers cannot replace them. Names starting with "webhook-" are reserved too.
var reservedHeaders = []string{
	"connection", "content-length", "content-type", "host", "keep-alive",
	"proxy-authorization", "proxy-connection", "te", "trailer",
	"transfer-encoding", "upgrade", "user-agent",
}

// Validate checks the endpoint and returns every problem found, joined with
// errors.Join; each is an *agents.FieldError whose Path is relative to the
// endpoint ("url", "retry.jitter", "headers.X-Api-Key"). Messages never
// contain secrets, header values or the URL's path and query.
func (ep *Endpoint) Validate() error {
	p := &problems{}
	ep.validate(p, "")
	return p.err()
}

// ValidateEndpoints validates each endpoint and checks that their ids are
// unique. Paths start with base, e.g. "webhooks[2].url" for base "webhooks".
func ValidateEndpoints(base string, eps []Endpoint) error {
	p := &problems{}
	seen := make(map[string]int, len(eps))
	for i := range eps {
		at := base + "[" + strconv.Itoa(i) + "]"
		eps[i].validate(p, at)
		if id := eps[i].ID; id != "" {
			if j, dup := seen[id]; dup {
				p.addf(join(at, "id"), "%q is also the id of %s[%d]; endpoint ids must be unique", id, base, j)
			} else {
				seen[id] = i
			}
		}
	}
	return p.err()
}

func (ep *Endpoint) validate(p *problems, base string) {
	at := func(field string) string { return join(base, field) }
	switch {
	case ep.ID == "":
		p.addf(at("id"), "is required")
	case !idRE.MatchString(ep.ID):
		p.addf(at("id"), "must be 1 to 64 letters, digits, '-' or '_'")
	}
	if _, err := parseEndpointURL(ep.URL, ep.AllowInsecureLoopback); err != nil {
		p.add(at("url"), err)
	}
	if len(ep.Secrets) == 0 {
		p.addf(at("secrets"), "at least one whsec_ secret is required")
	}
	for i, s := range ep.Secrets {
		// ParseSecret's errors never contain the secret.
		if _, err := signature.ParseSecret(s); err != nil {
			p.add(index(at("secrets"), i), err)
		}
	}
	for i, e := range ep.Events {
		if e == "" {
			p.addf(index(at("events"), i), "must not be empty")
		} else if _, err := path.Match(e, ""); err != nil {
			p.addf(index(at("events"), i), "%q is not a valid glob", e)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(ep.Headers)) {
		checkHeader(p, join(at("headers"), name), name, ep.Headers[name])
	}
	if ep.Timeout < 0 {
		p.addf(at("timeout"), "must not be negative")
	}
	if ep.ConnectTimeout < 0 {
		p.addf(at("connect_timeout"), "must not be negative")
	}
	if d := ep.WithDefaults(); ep.ConnectTimeout > 0 && d.ConnectTimeout > d.Timeout {
		p.addf(at("connect_timeout"), "(%s) must not exceed timeout (%s)", d.ConnectTimeout, d.Timeout)
	}
	if ep.MaxInFlight < 0 || ep.MaxInFlight > maxInFlightLimit {
		p.addf(at("max_in_flight"), "must be between 1 and %d (0 means %d)", maxInFlightLimit, DefaultMaxInFlight)
	}
	if math.IsNaN(ep.RateLimit) || math.IsInf(ep.RateLimit, 0) || ep.RateLimit < 0 {
		p.addf(at("rate_limit"), "must be a non-negative number of requests per second (0 means no limit)")
	}
	switch {
	case ep.Burst < 0:
		p.addf(at("burst"), "must not be negative")
	case ep.Burst > 0 && ep.RateLimit == 0:
		p.addf(at("burst"), "only applies with rate_limit; set rate_limit or remove burst")
	}
	switch ep.Ordering {
	case "", OrderingPerCall, OrderingNone:
	default:
		p.addf(at("ordering"), "%q is not an ordering; want %q or %q", string(ep.Ordering), OrderingPerCall, OrderingNone)
	}
	for i, h := range ep.AllowedHosts {
		if _, _, err := parseAllowed(h); err != nil {
			p.add(index(at("allowed_hosts"), i), err)
		}
	}
	if ep.MaxPayloadBytes < 0 || ep.MaxPayloadBytes > MaxPayloadLimit {
		p.addf(at("max_payload_bytes"), "must be between 1 and %d (0 means %d)", MaxPayloadLimit, DefaultMaxPayloadBytes)
	}
	if ep.Retry != nil {
		ep.Retry.validate(p, at("retry"))
	}
	if b := ep.CircuitBreaker; b != nil {
		if b.Failures < 0 {
			p.addf(join(at("circuit_breaker"), "failures"), "must not be negative (0 means %d)", DefaultBreakerFailures)
		}
		if b.CoolDown < 0 {
			p.addf(join(at("circuit_breaker"), "cool_down"), "must not be negative")
		}
	}
}

func (rp *RetryPolicy) validate(p *problems, base string) {
	if len(rp.Schedule) > maxScheduleLen {
		p.addf(join(base, "schedule"), "has %d entries; at most %d", len(rp.Schedule), maxScheduleLen)
	}
	for i, d := range rp.Schedule {
		if d < 0 {
			p.addf(index(join(base, "schedule"), i), "must not be negative")
		}
	}
	if j := rp.Jitter; j != nil && (math.IsNaN(*j) || *j < 0 || *j >= 1) {
		p.addf(join(base, "jitter"), "must be at least 0 and below 1 (a fraction of each delay)")
	}
	if rp.MinAfterThrottle < 0 {
		p.addf(join(base, "min_after_throttle"), "must not be negative")
	}
	if rp.MaxRetryAfter < 0 {
		p.addf(join(base, "max_retry_after"), "must not be negative")
	}
}

// parseEndpointURL checks an endpoint URL (netguard.ParseTargetURL): https,
// or http to a loopback host when insecureLoopback.
func parseEndpointURL(raw string, insecureLoopback bool) (*url.URL, error) {
	return netguard.ParseTargetURL(raw, insecureLoopback)
}

// parseAllowed reads an allowed_hosts entry: a CIDR range, an IP address or a
// host name.
func parseAllowed(h string) (host string, prefix netip.Prefix, err error) {
	h = strings.TrimSpace(h)
	if p, err := netip.ParsePrefix(h); err == nil {
		return "", p.Masked(), nil
	}
	if ip, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil {
		ip = ip.WithZone("").Unmap()
		return "", netip.PrefixFrom(ip, ip.BitLen()), nil
	}
	h = strings.TrimSuffix(strings.ToLower(h), ".")
	if h == "" || strings.ContainsAny(h, "/:@ ?#[]\\") {
		return "", netip.Prefix{}, errors.New("want a host name, IP address or CIDR range, without scheme or port")
	}
	return h, netip.Prefix{}, nil
}

// checkHeader validates one configured header without ever echoing its value.
func checkHeader(p *problems, at, name, value string) {
	if !isToken(name) {
		p.addf(at, "is not a valid header name")
		return
	}
	lower := strings.ToLower(name)
	if strings.HasPrefix(lower, "webhook-") || slices.Contains(reservedHeaders, lower) {
		p.addf(at, "is set by parley and cannot be configured")
		return
	}
	for i := 0; i < len(value); i++ {
		if c := value[i]; (c < ' ' && c != '\t') || c == 0x7f {
			p.addf(at, "value contains a control character")
			return
		}
	}
}

// isToken reports whether s is an RFC 9110 token, the syntax of header names.
func isToken(s string) bool {
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

// problems collects the FieldErrors of a validation.
type problems struct{ errs []error }

func (p *problems) addf(path, format string, args ...any) {
	p.errs = append(p.errs, &agents.FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (p *problems) add(path string, err error) {
	fe := &agents.FieldError{Path: path, Msg: err.Error(), Err: err}
	if e, ok := err.(*netguard.URLError); ok {
		fe.Err = e.Unwrap() // the sentinel, not the message twice
	}
	p.errs = append(p.errs, fe)
}

func (p *problems) err() error { return errors.Join(p.errs...) }

func join(base, field string) string {
	if base == "" {
		return field
	}
	return base + "." + field
}

func index(base string, i int) string { return base + "[" + strconv.Itoa(i) + "]" }
