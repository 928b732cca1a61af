package webhooks

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/runtime/events"
	"github.com/parley-voice/parley/runtime/webhooks/signature"
)

func validEndpoint(t *testing.T) Endpoint {
	return Endpoint{ID: "crm", URL: "https://hooks.example.com/parley?token=abc", Secrets: []string{newSecret(t)}}
}

func TestWithDefaults(t *testing.T) {
	ep := validEndpoint(t).WithDefaults()
	if ep.Timeout.Std() != 15*time.Second || ep.ConnectTimeout.Std() != 2*time.Second {
		t.Errorf("timeouts = %s/%s", ep.Timeout, ep.ConnectTimeout)
	}
	if ep.MaxInFlight != 8 || ep.MaxPayloadBytes != 256<<10 || ep.Ordering != OrderingPerCall || !*ep.Enabled {
		t.Errorf("defaults not applied: %+v", ep)
	}
	if !slices.Equal(ep.Events, []string{"*"}) {
		t.Errorf("events = %v", ep.Events)
	}
	want := []time.Duration{0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}
	for i, d := range ep.Retry.Schedule {
		if d.Std() != want[i] {
			t.Errorf("schedule[%d] = %s, want %s", i, d, want[i])
		}
	}
	if len(ep.Retry.Schedule) != len(want) || *ep.Retry.Jitter != 0.2 ||
		ep.Retry.MinAfterThrottle.Std() != time.Minute || ep.Retry.MaxRetryAfter.Std() != 24*time.Hour {
		t.Errorf("retry defaults: %+v", ep.Retry)
	}
	if ep.CircuitBreaker.Failures != 5 || ep.CircuitBreaker.CoolDown.Std() != 30*time.Second {
		t.Errorf("breaker defaults: %+v", ep.CircuitBreaker)
	}
	if ep.Burst != 0 {
		t.Errorf("burst without a rate limit = %d", ep.Burst)
	}
	// Explicit values survive, zero jitter included, and nothing is shared.
	in := validEndpoint(t)
	in.RateLimit = 2.5
	in.Enabled = new(false)
	in.Retry = &RetryPolicy{Jitter: new(0.0), Schedule: []agents.Duration{0, agents.Duration(time.Second)}}
	out := in.WithDefaults()
	if out.Burst != 3 || *out.Enabled || *out.Retry.Jitter != 0 || len(out.Retry.Schedule) != 2 {
		t.Errorf("explicit values lost: %+v %+v", out, out.Retry)
	}
	out.Retry.Schedule[1] = 0
	*out.Retry.Jitter = 0.5
	if in.Retry.Schedule[1] == 0 || *in.Retry.Jitter != 0 {
		t.Error("WithDefaults shares the retry policy with its input")
	}
}

func TestMatches(t *testing.T) {
	tests := []struct {
		events []string
		typ    string
		want   bool
	}{
		{nil, events.SpeechTranscribed, true},
		{[]string{"*"}, events.CallEnded, true},
		{[]string{"call.*"}, events.CallEnded, true},
		{[]string{"call.*"}, events.SpeechTranscribed, false},
		{[]string{"call.*"}, "call", false},
		{[]string{"speech.*", events.ToolCalled}, events.ToolCalled, true},
		{[]string{"agent.speech.*"}, events.AgentSpeechStarted, true},
		// '*' crosses dots, as on the event bus: "agent.*" takes agent.speech.* too.
		{[]string{"agent.*"}, events.AgentSpeechStarted, true},
		{[]string{"tool.call?d"}, events.ToolCalled, true},
	}
	for _, tt := range tests {
		ep := Endpoint{Events: tt.events}
		if got := ep.Matches(tt.typ); got != tt.want {
			t.Errorf("%v matches %s = %v, want %v", tt.events, tt.typ, got, tt.want)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Endpoint)
		path   string // the one problem expected; "" for none
		msg    string // part of its message
		is     error
	}{
		{"valid", func(*Endpoint) {}, "", "", nil},
		{"valid loopback http", func(e *Endpoint) { e.URL = "http://127.0.0.1:8080/hook"; e.AllowInsecureLoopback = true }, "", "", nil},
		{"valid localhost http", func(e *Endpoint) { e.URL = "http://localhost:8080/hook"; e.AllowInsecureLoopback = true }, "", "", nil},
		{"valid ipv6 loopback", func(e *Endpoint) { e.URL = "http://[::1]:8080/"; e.AllowInsecureLoopback = true }, "", "", nil},
		{"no id", func(e *Endpoint) { e.ID = "" }, "id", "is required", nil},
		{"bad id", func(e *Endpoint) { e.ID = "crm.prod" }, "id", "letters, digits", nil},
		{"no url", func(e *Endpoint) { e.URL = "" }, "url", "is required", nil},
		{"http public", func(e *Endpoint) { e.URL = "http://hooks.example.com/x" }, "url", "must use https", ErrInsecureURL},
		{"http public with flag", func(e *Endpoint) { e.URL = "http://hooks.example.com/x"; e.AllowInsecureLoopback = true }, "url", "only allowed to a loopback host", ErrInsecureURL},
		{"http private with flag", func(e *Endpoint) { e.URL = "http://10.0.0.1/x"; e.AllowInsecureLoopback = true }, "url", "only allowed to a loopback host", ErrInsecureURL},
		{"http loopback without flag", func(e *Endpoint) { e.URL = "http://127.0.0.1/x" }, "url", "must use https", ErrInsecureURL},
		{"ftp", func(e *Endpoint) { e.URL = "ftp://hooks.example.com/x" }, "url", "scheme must be https", ErrInsecureURL},
		{"credentials", func(e *Endpoint) { e.URL = "https://user:pw@hooks.example.com/" }, "url", "credentials", nil},
		{"fragment", func(e *Endpoint) { e.URL = "https://hooks.example.com/#x" }, "url", "fragment", nil},
		{"no host", func(e *Endpoint) { e.URL = "https:///path" }, "url", "no host", nil},
		{"not a url", func(e *Endpoint) { e.URL = "https://exa mple.com/%zz" }, "url", "not a valid URL", nil},
		{"no secrets", func(e *Endpoint) { e.Secrets = nil }, "secrets", "at least one", nil},
		{"bad secret", func(e *Endpoint) { e.Secrets = append(e.Secrets, "whsec_c2hvcnQ=") }, "secrets[1]", "too short", signature.ErrInvalidSecret},
		{"secret without prefix", func(e *Endpoint) { e.Secrets = []string{"hunter2hunter2hunter2hunter2"} }, "secrets[0]", "prefix", signature.ErrInvalidSecret},
		{"empty event", func(e *Endpoint) { e.Events = []string{"call.*", ""} }, "events[1]", "empty", nil},
		{"bad glob", func(e *Endpoint) { e.Events = []string{"call.[x"} }, "events[0]", "not a valid glob", nil},
		{"reserved header", func(e *Endpoint) { e.Headers = map[string]string{"Webhook-Signature": "v1,forged"} }, "headers.Webhook-Signature", "set by parley", nil},
		{"content-type header", func(e *Endpoint) { e.Headers = map[string]string{"content-type": "text/plain"} }, "headers.content-type", "set by parley", nil},
		{"host header", func(e *Endpoint) { e.Headers = map[string]string{"Host": "internal"} }, "headers.Host", "set by parley", nil},
		{"bad header name", func(e *Endpoint) { e.Headers = map[string]string{"X Api Key": "k"} }, "headers.X Api Key", "not a valid header name", nil},
		{"header value with newline", func(e *Endpoint) { e.Headers = map[string]string{"X-Api-Key": "secret-value\r\nX-Evil: 1"} }, "headers.X-Api-Key", "control character", nil},
		{"negative timeout", func(e *Endpoint) { e.Timeout = agents.Duration(-time.Second) }, "timeout", "negative", nil},
		{"connect over total", func(e *Endpoint) {
			e.Timeout = agents.Duration(time.Second)
			e.ConnectTimeout = agents.Duration(3 * time.Second)
		}, "connect_timeout", "must not exceed timeout", nil},
		{"max in flight", func(e *Endpoint) { e.MaxInFlight = -1 }, "max_in_flight", "between 1", nil},
		{"rate limit NaN", func(e *Endpoint) { e.RateLimit = math.NaN() }, "rate_limit", "non-negative", nil},
		{"burst without rate", func(e *Endpoint) { e.Burst = 5 }, "burst", "only applies with rate_limit", nil},
		{"ordering", func(e *Endpoint) { e.Ordering = "strict" }, "ordering", `"strict" is not an ordering`, nil},
		{"allowed host with port", func(e *Endpoint) { e.AllowedHosts = []string{"10.0.0.0/8", "hooks.internal:8443"} }, "allowed_hosts[1]", "without scheme or port", nil},
		{"payload over the queue's limit", func(e *Endpoint) { e.MaxPayloadBytes = 2 << 20 }, "max_payload_bytes", "between 1 and 1048576", nil},
		{"negative schedule", func(e *Endpoint) {
			e.Retry = &RetryPolicy{Schedule: []agents.Duration{0, agents.Duration(-time.Second)}}
		}, "retry.schedule[1]", "negative", nil},
		{"jitter", func(e *Endpoint) { e.Retry = &RetryPolicy{Jitter: new(1.0)} }, "retry.jitter", "below 1", nil},
		{"breaker", func(e *Endpoint) { e.CircuitBreaker = &BreakerPolicy{Failures: -2} }, "circuit_breaker.failures", "negative", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep := validEndpoint(t)
			tt.modify(&ep)
			err := ep.Validate()
			if tt.path == "" {
				if err != nil {
					t.Fatalf("Validate() = %v", err)
				}
				return
			}
			fes := fieldErrors(err)
			if len(fes) != 1 {
				t.Fatalf("Validate() = %v, want one problem at %s", err, tt.path)
			}
			if fes[0].Path != tt.path || !strings.Contains(fes[0].Msg, tt.msg) {
				t.Errorf("problem = %q at %q, want %q at %q", fes[0].Msg, fes[0].Path, tt.msg, tt.path)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.is)
			}
			for _, s := range append(ep.Secrets, "secret-value", "abc", "pw", "forged", "internal") {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q reveals %q", err, s)
				}
			}
		})
	}
}

func TestValidateCollectsEveryProblem(t *testing.T) {
	ep := Endpoint{
		ID:       "bad id",
		URL:      "http://hooks.example.com",
		Headers:  map[string]string{"Webhook-Id": "x", "User-Agent": "me"},
		Ordering: "random",
		Retry:    &RetryPolicy{Jitter: new(-0.1)},
	}
	var paths []string
	for _, fe := range fieldErrors(ep.Validate()) {
		paths = append(paths, fe.Path)
	}
	want := []string{"id", "url", "secrets", "headers.User-Agent", "headers.Webhook-Id", "ordering", "retry.jitter"}
	if !slices.Equal(paths, want) {
		t.Errorf("paths = %q, want %q", paths, want)
	}
}

func TestValidateEndpoints(t *testing.T) {
	a, b := validEndpoint(t), validEndpoint(t)
	b.URL = "ftp://x"
	err := ValidateEndpoints("webhooks.endpoints", []Endpoint{a, b})
	fes := fieldErrors(err)
	if len(fes) != 2 || fes[0].Path != "webhooks.endpoints[1].url" || fes[1].Path != "webhooks.endpoints[1].id" ||
		!strings.Contains(fes[1].Msg, "webhooks.endpoints[0]") {
		t.Errorf("ValidateEndpoints = %v", err)
	}
}

func fieldErrors(err error) []*agents.FieldError {
	if err == nil {
		return nil
	}
	var out []*agents.FieldError
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			out = append(out, fieldErrors(e)...)
		}
		return out
	}
	var fe *agents.FieldError
	if errors.As(err, &fe) {
		out = append(out, fe)
	}
	return out
}
