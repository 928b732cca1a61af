package webhooks

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

const endpointYAML = `
id: crm
url: https://hooks.example.com/parley
secrets: [whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw, whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD]
events: ["call.*", speech.transcribed]
headers: {X-Api-Key: k}
timeout: 10s
connect_timeout: 500ms
max_in_flight: 4
rate_limit: 50
burst: 10
ordering: none
enabled: false
allowed_hosts: [10.1.0.0/16, hooks.internal]
max_payload_bytes: 65536
retry:
  schedule: [0s, 1s, 1m]
  jitter: 0
  min_after_throttle: 30s
  max_retry_after: 1h
circuit_breaker:
  failures: 3
  cool_down: 1m
`

func TestDecodeYAML(t *testing.T) {
	var ep Endpoint
	if err := yaml.Unmarshal([]byte(endpointYAML), &ep); err != nil {
		t.Fatal(err)
	}
	if err := ep.Validate(); err != nil {
		t.Fatal(err)
	}
	if ep.Timeout.Std() != 10*time.Second || ep.ConnectTimeout.Std() != 500*time.Millisecond ||
		ep.MaxInFlight != 4 || ep.RateLimit != 50 || ep.Burst != 10 || ep.Ordering != OrderingNone ||
		ep.IsEnabled() || len(ep.Secrets) != 2 || ep.Headers["X-Api-Key"] != "k" || ep.MaxPayloadBytes != 65536 {
		t.Errorf("decoded %+v", ep)
	}
	r := ep.WithDefaults().Retry
	if len(r.Schedule) != 3 || r.Schedule[2].Std() != time.Minute || *r.Jitter != 0 ||
		r.MinAfterThrottle.Std() != 30*time.Second || r.MaxRetryAfter.Std() != time.Hour {
		t.Errorf("retry %+v (jitter %v)", r, *r.Jitter)
	}
	if ep.CircuitBreaker.Failures != 3 || ep.CircuitBreaker.CoolDown.Std() != time.Minute {
		t.Errorf("breaker %+v", ep.CircuitBreaker)
	}

	// JSON round trip: durations stay strings with units.
	b, err := json.Marshal(ep)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"timeout":"10s"`) || !strings.Contains(string(b), `"schedule":["0s","1s","1m"]`) {
		t.Errorf("JSON = %s", b)
	}
	var back Endpoint
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Timeout != ep.Timeout || *back.Retry.Jitter != 0 || back.CircuitBreaker.Failures != 3 {
		t.Errorf("round trip: %+v", back)
	}
}

func TestDecodeStrict(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown key", "id: a\ntime_out: 5s\n", `line 2: unknown field "time_out" in webhook endpoint`},
		{"unknown nested key", "id: a\nretry:\n  jiter: 0.1\n", `line 3: unknown field "jiter" in retry policy`},
		{"unknown breaker key", "id: a\ncircuit_breaker: {threshold: 3}\n", `unknown field "threshold" in circuit breaker policy`},
		{"bad duration", "id: a\ntimeout: 5\n", "invalid duration"},
		{"negative duration", "id: a\ntimeout: -5s\n", "invalid duration"},
		{"merge key", "base: &b {id: a}\n", ""}, // not an endpoint: checked below
	}
	for _, tt := range tests[:len(tests)-1] {
		t.Run(tt.name, func(t *testing.T) {
			var ep Endpoint
			err := yaml.Unmarshal([]byte(tt.yaml), &ep)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
	// Strictness holds inside a larger document decoded without KnownFields.
	var doc struct {
		Webhooks []Endpoint `yaml:"webhooks"`
	}
	err := yaml.Unmarshal([]byte("webhooks:\n  - id: a\n  - id: b\n    url_: x\n"), &doc)
	if err == nil || !strings.Contains(err.Error(), `line 4: unknown field "url_"`) {
		t.Errorf("embedded: err = %v", err)
	}
	err = yaml.Unmarshal([]byte("webhooks:\n  - &x {id: a}\n  - {<<: *x, url: u}\n"), &doc)
	if err == nil || !strings.Contains(err.Error(), "merge keys") {
		t.Errorf("merge: err = %v", err)
	}

	for _, tt := range []struct{ json, want string }{
		{`{"id":"a","time_out":"5s"}`, `unknown field "time_out"`},
		{`{"id":"a","retry":{"jiter":0.1}}`, `unknown field "jiter"`},
		{`{"id":"a","timeout":5}`, "decoding webhook endpoint"},
	} {
		var ep Endpoint
		if err := json.Unmarshal([]byte(tt.json), &ep); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("json %s: err = %v, want %q", tt.json, err, tt.want)
		}
	}
	var ep Endpoint
	if err := ep.UnmarshalJSON([]byte(`{"id":"a"} {"id":"b"}`)); err == nil || !strings.Contains(err.Error(), "unexpected data") {
		t.Errorf("trailing data: err = %v", err)
	}
	var list []Endpoint
	if err := json.Unmarshal([]byte(`[{"id":"a"},{"id":"b","urll":"x"}]`), &list); err == nil {
		t.Error("unknown key in a JSON list accepted")
	}
}

// FuzzDecodeEndpoint feeds arbitrary YAML to the strict decoder and the
// validator: neither may panic, and a decoded endpoint validates or explains
// why not.
func FuzzDecodeEndpoint(f *testing.F) {
	f.Add([]byte(endpointYAML))
	f.Add([]byte("id: a\nurl: http://[::1]:80/\nallow_insecure_loopback: true\nsecrets: [x]\n"))
	f.Add([]byte("retry: {schedule: [1s, 2h], jitter: 0.99}\n"))
	f.Add([]byte("headers: {\"Webhook-Id\": \"x\\r\\n\"}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var ep Endpoint
		if err := yaml.Unmarshal(data, &ep); err != nil {
			return
		}
		_ = ep.Validate()
		_ = ep.WithDefaults()
		var viaJSON Endpoint
		if b, err := json.Marshal(ep); err == nil {
			_ = json.Unmarshal(b, &viaJSON)
		}
	})
}

// TestDocExample loads the endpoint config shown in docs/WEBHOOKS.md.
func TestDocExample(t *testing.T) {
	doc, err := os.ReadFile("../../docs/WEBHOOKS.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(doc), "## Endpoint config")
	_, rest, _ = strings.Cut(rest, "```yaml\n")
	block, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatal("no yaml block under Endpoint config")
	}
	var ep Endpoint
	if err := yaml.Unmarshal([]byte(block), &ep); err != nil {
		t.Fatal(err)
	}
	if err := ep.Validate(); err != nil {
		t.Fatal(err)
	}
	// The example spells out the defaults.
	d := Endpoint{ID: ep.ID, URL: ep.URL, Secrets: ep.Secrets}.WithDefaults()
	d.Events, d.Headers, d.RateLimit, d.Burst = ep.Events, ep.Headers, ep.RateLimit, ep.Burst
	got, _ := json.Marshal(ep.WithDefaults())
	want, _ := json.Marshal(d)
	if string(got) != string(want) {
		t.Errorf("doc example differs from the defaults:\n got %s\nwant %s", got, want)
	}
}

func TestAgentEndpoints(t *testing.T) {
	raw := []map[string]any{{
		"id": "dental-crm", "url": "https://crm.example.com/hook",
		"secrets": []any{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, "events": []any{"call.*"},
	}}
	eps, err := AgentEndpoints("dental", raw)
	if err != nil || len(eps) != 1 || eps[0].ID != "dental-crm" || len(eps[0].Agents) != 1 || eps[0].Agents[0] != "dental" {
		t.Fatalf("%+v, %v", eps, err)
	}
	for _, c := range []struct {
		m    map[string]any
		want string
	}{
		{map[string]any{"id": "x", "url": "https://a.example.com", "secrets": []any{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, "time_out": "2s"}, "time_out"},
		{map[string]any{"id": "x", "url": "http://a.example.com", "secrets": []any{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}}, "https"},
		{map[string]any{"id": "x", "url": "https://a.example.com", "secrets": []any{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, "agents": []any{"other"}}, "another agent"},
	} {
		_, err := AgentEndpoints("dental", []map[string]any{c.m})
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "agents[dental].webhooks[0]") {
			t.Errorf("%v: error %v, want %q with its path", c.m, err, c.want)
		}
	}
}
