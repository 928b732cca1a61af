package webhooks

import (
	"maps"
	"math"
	"slices"
	"time"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/runtime/events"
)

// Endpoint is one webhook subscription: where events go, how they are signed,
// which events, and how hard the endpoint may be pushed. A zero field means its
// default (see WithDefaults); Validate reports every problem at once.
type Endpoint struct {
	// ID names the endpoint in logs, the admin API and queue names: letters,
	// digits, '-' and '_', at most 64.
	ID string `yaml:"id" json:"id"`
	// URL receives the events: https, or http to a loopback host with
	// AllowInsecureLoopback. No credentials in it; put them in Headers.
	URL string `yaml:"url" json:"url"`
	// Secrets are "whsec_…" signing secrets. Every one signs each request, so a
	// receiver can rotate by adding the new secret, switching, then removing
	// the old one. At least one.
	Secrets []string `yaml:"secrets" json:"secrets"`
	// Events are event type globs ("call.*", "speech.transcribed"); default
	// ["*"].
	Events []string `yaml:"events,omitempty" json:"events,omitempty"`
	// Headers are sent with every request. They cannot replace the webhook-*
	// headers, content-type, user-agent, host or hop-by-hop headers. Values
	// never appear in errors or logs.
	Headers map[string]string `yaml:"headers,omitempty" json:"headers,omitempty"`
	// Timeout bounds a whole attempt: connect, TLS, request, response
	// headers and the read of the response snippet. Default 15s.
	Timeout agents.Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	// ConnectTimeout bounds the TCP connect. Default 2s.
	ConnectTimeout agents.Duration `yaml:"connect_timeout,omitempty" json:"connect_timeout,omitempty"`
	// MaxInFlight is how many requests may be outstanding to this endpoint at
	// once. Default 8.
	MaxInFlight int `yaml:"max_in_flight,omitempty" json:"max_in_flight,omitempty"`
	// RateLimit is the most requests per second sent to this endpoint; 0 means
	// no limit.
	RateLimit float64 `yaml:"rate_limit,omitempty" json:"rate_limit,omitempty"`
	// Burst is how many requests may go at once after a quiet spell when
	// RateLimit is set. Default: one second's worth, at least 1.
	Burst int `yaml:"burst,omitempty" json:"burst,omitempty"`
	// Ordering is "per-call" (default: one call's events are attempted in
	// sequence order) or "none".
	Ordering Ordering `yaml:"ordering,omitempty" json:"ordering,omitempty"`
	// Agents limits the endpoint to the events of these agents (ids); default
	// every agent. An agent config's own webhooks get their agent here.
	Agents []string `yaml:"agents,omitempty" json:"agents,omitempty"`
	// Enabled is true unless set to false.
	Enabled *bool `yaml:"enabled,omitempty" json:"enabled,omitempty"`
	// AllowInsecureLoopback allows http:// and connections to loopback
	// addresses. Plain http is only ever allowed to loopback.
	AllowInsecureLoopback bool `yaml:"allow_insecure_loopback,omitempty" json:"allow_insecure_loopback,omitempty"`
	// AllowedHosts are host names, IP addresses or CIDR ranges exempt from the
	// SSRF address check, e.g. a receiver on a private network.
	AllowedHosts []string `yaml:"allowed_hosts,omitempty" json:"allowed_hosts,omitempty"`
	// MaxPayloadBytes is the largest event body sent to this endpoint; larger
	// events are refused when emitted. Default 256 KiB, at most 1 MiB.
	MaxPayloadBytes int `yaml:"max_payload_bytes,omitempty" json:"max_payload_bytes,omitempty"`
	// Retry is when failed attempts are retried; nil means the default policy.
	Retry *RetryPolicy `yaml:"retry,omitempty" json:"retry,omitempty"`
	// CircuitBreaker is when the endpoint is given a rest; nil means the
	// default policy.
	CircuitBreaker *BreakerPolicy `yaml:"circuit_breaker,omitempty" json:"circuit_breaker,omitempty"`
}

// RetryPolicy says when a failed attempt is retried and when the event goes to
// the dead-letter queue instead.
type RetryPolicy struct {
	// Schedule[i] is the delay before attempt i+1, counted from the end of
	// attempt i. Schedule[0] is the first attempt, normally 0 (immediately).
	// After the last entry's attempt fails, the event is dead-lettered.
	// Default: 0, 5s, 5m, 30m, 2h, 5h, 10h, 10h (eight attempts over ~28h).
	Schedule []agents.Duration `yaml:"schedule,omitempty" json:"schedule,omitempty"`
	// Jitter spreads each retry by ±Jitter of its delay, so a burst of
	// failures does not come back as a burst. Default 0.2; 0 turns it off.
	Jitter *float64 `yaml:"jitter,omitempty" json:"jitter,omitempty"`
	// MinAfterThrottle is the shortest wait after a 429 or a timeout.
	// Default 60s.
	MinAfterThrottle agents.Duration `yaml:"min_after_throttle,omitempty" json:"min_after_throttle,omitempty"`
	// MaxRetryAfter caps how long a receiver's Retry-After may delay a retry.
	// Default 24h.
	MaxRetryAfter agents.Duration `yaml:"max_retry_after,omitempty" json:"max_retry_after,omitempty"`
}

// BreakerPolicy configures an endpoint's circuit breaker.
type BreakerPolicy struct {
	// Failures is how many consecutive failed attempts open the circuit.
	// Default 5.
	Failures int `yaml:"failures,omitempty" json:"failures,omitempty"`
	// CoolDown is how long the circuit stays open before one probe request
	// is let through. Default 30s.
	CoolDown agents.Duration `yaml:"cool_down,omitempty" json:"cool_down,omitempty"`
}

// Ordering is an endpoint's delivery order guarantee.
type Ordering string

const (
	// OrderingPerCall attempts one call's events in sequence order; different
	// calls deliver in parallel.
	OrderingPerCall Ordering = "per-call"
	// OrderingNone lets every event go as soon as a slot is free.
	OrderingNone Ordering = "none"
)

// Defaults of Endpoint, RetryPolicy and BreakerPolicy.
const (
	DefaultTimeout          = 15 * time.Second
	DefaultConnectTimeout   = 2 * time.Second
	DefaultMaxInFlight      = 8
	DefaultMaxPayloadBytes  = 256 << 10
	DefaultJitter           = 0.2
	DefaultMinAfterThrottle = 60 * time.Second
	DefaultMaxRetryAfter    = 24 * time.Hour
	DefaultBreakerFailures  = 5
	DefaultBreakerCoolDown  = 30 * time.Second
)

// DefaultSchedule is the default RetryPolicy.Schedule, Svix's: immediately,
// then 5s, 5m, 30m, 2h, 5h, 10h and 10h after each failure.
func DefaultSchedule() []agents.Duration { return slices.Clone(defaultSchedule) }

var defaultSchedule = []agents.Duration{
	0,
	agents.Duration(5 * time.Second),
	agents.Duration(5 * time.Minute),
	agents.Duration(30 * time.Minute),
	agents.Duration(2 * time.Hour),
	agents.Duration(5 * time.Hour),
	agents.Duration(10 * time.Hour),
	agents.Duration(10 * time.Hour),
}

// WithDefaults returns a copy of ep with every unset field at its default.
// Slices, maps and policies are copied, so the result shares nothing with ep.
func (ep Endpoint) WithDefaults() Endpoint {
	ep.Secrets = slices.Clone(ep.Secrets)
	ep.AllowedHosts = slices.Clone(ep.AllowedHosts)
	if len(ep.Events) == 0 {
		ep.Events = []string{"*"}
	} else {
		ep.Events = slices.Clone(ep.Events)
	}
	ep.Headers = maps.Clone(ep.Headers)
	ep.Agents = slices.Clone(ep.Agents)
	if ep.Timeout == 0 {
		ep.Timeout = agents.Duration(DefaultTimeout)
	}
	if ep.ConnectTimeout == 0 {
		ep.ConnectTimeout = agents.Duration(DefaultConnectTimeout)
	}
	if ep.MaxInFlight == 0 {
		ep.MaxInFlight = DefaultMaxInFlight
	}
	if ep.RateLimit > 0 && ep.Burst == 0 {
		ep.Burst = max(1, int(math.Ceil(ep.RateLimit)))
	}
	if ep.Ordering == "" {
		ep.Ordering = OrderingPerCall
	}
	if ep.Enabled == nil {
		ep.Enabled = new(true)
	} else {
		ep.Enabled = new(*ep.Enabled)
	}
	if ep.MaxPayloadBytes == 0 {
		ep.MaxPayloadBytes = DefaultMaxPayloadBytes
	}
	var rp RetryPolicy
	if ep.Retry != nil {
		rp = *ep.Retry
	}
	rp = rp.WithDefaults()
	ep.Retry = &rp
	var bp BreakerPolicy
	if ep.CircuitBreaker != nil {
		bp = *ep.CircuitBreaker
	}
	bp = bp.WithDefaults()
	ep.CircuitBreaker = &bp
	return ep
}

// WithDefaults returns a copy of p with every unset field at its default.
func (p RetryPolicy) WithDefaults() RetryPolicy {
	if len(p.Schedule) == 0 {
		p.Schedule = DefaultSchedule()
	} else {
		p.Schedule = slices.Clone(p.Schedule)
	}
	if p.Jitter == nil {
		p.Jitter = new(DefaultJitter)
	} else {
		p.Jitter = new(*p.Jitter)
	}
	if p.MinAfterThrottle == 0 {
		p.MinAfterThrottle = agents.Duration(DefaultMinAfterThrottle)
	}
	if p.MaxRetryAfter == 0 {
		p.MaxRetryAfter = agents.Duration(DefaultMaxRetryAfter)
	}
	return p
}

// WithDefaults returns a copy of p with every unset field at its default.
func (p BreakerPolicy) WithDefaults() BreakerPolicy {
	if p.Failures == 0 {
		p.Failures = DefaultBreakerFailures
	}
	if p.CoolDown == 0 {
		p.CoolDown = agents.Duration(DefaultBreakerCoolDown)
	}
	return p
}

// IsEnabled reports whether the endpoint is enabled in its config (true when
// Enabled is unset). A 410 Gone disables it at run time; see Gate.
func (ep *Endpoint) IsEnabled() bool { return ep.Enabled == nil || *ep.Enabled }

// Matches reports whether the endpoint subscribes to events of this type. An
// endpoint without Events subscribes to all of them.
func (ep *Endpoint) Matches(eventType string) bool {
	if len(ep.Events) == 0 {
		return true
	}
	for _, p := range ep.Events {
		if events.Match(p, eventType) {
			return true
		}
	}
	return false
}

// MatchesAgent reports whether the endpoint takes events of this agent. An
// endpoint without Agents takes every agent's events; events that belong to no
// agent (agent "") go to every endpoint.
func (ep *Endpoint) MatchesAgent(agent string) bool {
	return len(ep.Agents) == 0 || agent == "" || slices.Contains(ep.Agents, agent)
}

// Attempts is the number of attempts the schedule allows, the first included.
func (p *RetryPolicy) Attempts() int {
	if len(p.Schedule) == 0 {
		return len(defaultSchedule)
	}
	return len(p.Schedule)
}
