// Package webhookllm makes the customer's own backend the agent's brain: on each
// final transcript the call POSTs a signed request (Standard Webhooks) with the
// call's context to a configured URL and speaks, runs tools, transfers or hangs
// up as the JSON answer says. The same signed client asks a call-start webhook
// for per-call variables (a customer's name from a CRM). The wire format is in
// docs/SERVER-DRIVEN.md.
package webhookllm

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/parley-voice/parley/runtime/netguard"
	"github.com/parley-voice/parley/runtime/webhooks/signature"
)

// ProviderName names the provider in errors and provider.error events.
const ProviderName = "webhook"

// UserAgent identifies Parley's server-driven requests.
const UserAgent = "Parley-ServerDriven/1"

const (
	// DefaultTimeout bounds a turn request: connect, TLS, request and the whole
	// answer. A caller waits in silence meanwhile, so it is short; past it the
	// call apologises and listens again. The turn's llm_first_token budget (and
	// its filler) still applies inside it.
	DefaultTimeout = 2 * time.Second
	// DefaultCallStartTimeout bounds the call-start request. The caller hears
	// nothing until it returns (or fails, and the call goes on with the default
	// variables).
	DefaultCallStartTimeout = 1500 * time.Millisecond
	// MaxTimeout is the longest timeout either request may be given.
	MaxTimeout = 30 * time.Second
	// DefaultMaxAnswerBytes caps an answer's body; larger answers are an error.
	DefaultMaxAnswerBytes = 64 << 10
)

// Config configures a turn backend (New) or a call-start hook (NewCallStart).
// The secret never appears in errors or logs.
type Config struct {
	// URL receives the requests: https, or http to a loopback host when
	// AllowInsecureLoopback is set. No credentials, no fragment.
	URL string
	// Secret is the "whsec_…" Standard Webhooks secret that signs every request.
	Secret string
	// Timeout bounds one request; 0 means DefaultTimeout (turns) or
	// DefaultCallStartTimeout (call start).
	Timeout time.Duration
	// AllowInsecureLoopback allows http:// and connections to loopback
	// addresses, for a backend on the same host. Other private, link-local
	// and metadata addresses are always refused.
	AllowInsecureLoopback bool
	// MaxAnswerBytes caps an answer's body; 0 means DefaultMaxAnswerBytes.
	MaxAnswerBytes int
	// RootCAs verifies https backends; nil means the system's roots.
	RootCAs *x509.CertPool
	// Now is the clock for webhook-timestamp; nil means time.Now.
	Now func() time.Time
}

// Validate checks the config. Errors show at most the URL's scheme and host,
// never its path or query (which may hold tokens), and never the secret.
func (c *Config) Validate() error {
	var errs []error
	if err := CheckURL(c.URL, c.AllowInsecureLoopback); err != nil {
		errs = append(errs, fmt.Errorf("url: %w", err))
	}
	if err := CheckSecret(c.Secret); err != nil {
		errs = append(errs, fmt.Errorf("secret: %w", err))
	}
	if c.Timeout < 0 || c.Timeout > MaxTimeout {
		errs = append(errs, fmt.Errorf("timeout: must be between 0 and %s, got %s", MaxTimeout, c.Timeout))
	}
	if c.MaxAnswerBytes < 0 {
		errs = append(errs, errors.New("max answer bytes: must not be negative"))
	}
	return errors.Join(errs...)
}

// CheckURL checks a backend URL: https, or http to a loopback host when
// allowInsecureLoopback; a host; no credentials or fragment. Its errors never
// contain the URL's path or query.
func CheckURL(raw string, allowInsecureLoopback bool) error {
	_, err := parseURL(raw, allowInsecureLoopback)
	return err
}

// CheckSecret checks a "whsec_…" signing secret without ever echoing it.
func CheckSecret(s string) error {
	if strings.TrimSpace(s) == "" {
		return errors.New("is required: a whsec_… Standard Webhooks secret (use ${ENV_VAR})")
	}
	_, err := signature.ParseSecret(s)
	return err
}

func parseURL(raw string, allowInsecureLoopback bool) (*url.URL, error) {
	return netguard.ParseTargetURL(raw, allowInsecureLoopback)
}
