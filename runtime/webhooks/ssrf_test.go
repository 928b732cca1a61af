package webhooks

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/parley-voice/parley/agents"
)

// TestDeliverSSRF: addresses an attacker would aim a webhook URL at are
// refused by the dialer's guard, which runs before connect(2), so no packet
// is sent to them (IP literals are refused before a socket is even opened;
// names are checked on each resolved address, see TestDeliverHTTPS for
// localhost). The URLs are https, so construction accepts them: the refusal
// comes from the dialer, on every attempt.
func TestDeliverSSRF(t *testing.T) {
	tests := []struct{ url, reason string }{
		{"https://10.0.0.1/hook", "10.0.0.1 (private address)"},
		{"https://192.168.1.20:8443/hook", "192.168.1.20 (private address)"},
		{"https://169.254.169.254/latest/meta-data/", "169.254.169.254 (cloud metadata address)"},
		{"https://[fd00::1]/hook", "fd00::1 (private address)"},
		{"https://[fd00:ec2::254]/", "fd00:ec2::254 (cloud metadata address)"},
		{"https://[::ffff:10.0.0.1]/hook", "10.0.0.1 (private address)"},
		{"https://169.254.1.1/", "link-local"},
		{"https://100.64.0.1/", "carrier-grade NAT"},
		{"https://0.0.0.0/", "unspecified"},
		{"https://127.0.0.1:1/", "loopback"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			d, ep := newDeliverer(t, tt.url, Options{}, func(e *Endpoint) {
				e.AllowInsecureLoopback = false
				e.Headers = map[string]string{"Authorization": "Bearer hidden-token"}
				e.ConnectTimeout = agents.Duration(2 * time.Second)
			})
			a := d.Deliver(context.Background(), testMessage(t))
			if a.Outcome != OutcomeRetry || a.Status != 0 || a.Timeout {
				t.Fatalf("attempt %+v", a)
			}
			if !strings.Contains(a.Err, "refusing to connect to") || !strings.Contains(a.Err, tt.reason) {
				t.Errorf("error %q, want a refusal naming %q", a.Err, tt.reason)
			}
			if strings.Contains(a.Err, "/hook") || strings.Contains(a.Err, "meta-data") {
				t.Errorf("error shows the URL path: %s", a.Err)
			}
			checkNoLeak(t, a, ep)
			// Refused at once: no connect was attempted, let alone timed out.
			if a.Latency > time.Second {
				t.Errorf("refusal took %s", a.Latency)
			}
		})
	}
}

// TestInsecureLoopbackIsLoopbackOnly: allow_insecure_loopback never opens
// plain http to anything but loopback, whatever the allow-list says.
func TestInsecureLoopbackIsLoopbackOnly(t *testing.T) {
	_, err := NewDeliverer(Endpoint{ID: "x", URL: "http://10.0.0.1/", Secrets: []string{newSecret(t)},
		AllowInsecureLoopback: true, AllowedHosts: []string{"10.0.0.0/8"}}, Options{})
	if err == nil {
		t.Fatal("plain http to a private address accepted")
	}
}
