package telemetry_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/parley-voice/parley/runtime/telemetry"
)

const (
	apiKey  = "sk-live-0123456789abcdef"
	whSec   = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	adminTk = "admin-token-xyz"
)

type config struct {
	Name string
	Key  string
}

type stringer struct{ s string }

func (s stringer) String() string { return s.s }

// TestSecretsNeverReachTheOutput logs known secrets every way a bug could —
// in the message, as strings, errors, Stringers, structures, groups, With
// attributes, under innocent and under secret-sounding keys — in both
// formats, and checks none of them is written.
func TestSecretsNeverReachTheOutput(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			r := telemetry.NewRedactor()
			r.Add(apiKey, whSec, adminTk, "", "short") // the last two are ignored
			var inner slog.Handler = slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})
			if format == "json" {
				inner = slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})
			}
			log := slog.New(telemetry.NewRedactingHandler(inner, r))
			log = log.With("call_id", "call_1", "upstream", "Bearer "+apiKey)
			log.Info("calling with key " + apiKey)
			log.Warn("provider failed", "err", fmt.Errorf("401 from api: key %s rejected", apiKey))
			log.Error("bad", "cfg", config{Name: "x", Key: apiKey}, "s", stringer{"tok=" + adminTk})
			log.Info("grouped", slog.Group("webhook", "secret_value_copy", whSec, "n", 3))
			log.WithGroup("g").With("k", adminTk).Debug("nested", "list", []string{"a", whSec})
			// Secret keys are redacted whatever the value, even unknown ones.
			log.Info("keys", "api_key", "not-a-known-value-1", "Authorization", "Basic Zm9vOmJhcg==",
				"webhook-secret", "whsec_unknown", "auth_token", "t0ken-value", "prompt_tokens", 42)
			out := buf.String()
			for _, s := range []string{apiKey, whSec, adminTk, "not-a-known-value-1", "Zm9vOmJhcg==", "whsec_unknown", "t0ken-value"} {
				if strings.Contains(out, s) {
					t.Errorf("%q reached the log:\n%s", s, out)
				}
			}
			// What is not secret is still there.
			for _, s := range []string{"call_1", "provider failed", "401 from api", "prompt_tokens", "42", "Name:x", telemetry.Redacted} {
				if !strings.Contains(out, s) {
					t.Errorf("%q missing from the log:\n%s", s, out)
				}
			}
		})
	}
}

// TestRedactorLearnsLaterSecrets: values added after the logger was built
// (an agent loaded by a reload) are redacted from the lines that follow.
func TestRedactorLearnsLaterSecrets(t *testing.T) {
	var buf bytes.Buffer
	r := telemetry.NewRedactor()
	log := slog.New(telemetry.NewRedactingHandler(slog.NewTextHandler(&buf, nil), r))
	log.Info("before", "v", "later-secret-value")
	if !strings.Contains(buf.String(), "later-secret-value") {
		t.Fatalf("not yet a secret, but redacted: %s", buf.String())
	}
	buf.Reset()
	r.Add("later-secret-value", "later-secret") // one contains the other: the longer wins
	log.Info("after", "v", "x later-secret-value y", "err", errors.New("later-secret"))
	if out := buf.String(); strings.Contains(out, "later-secret") || !strings.Contains(out, "x "+telemetry.Redacted+" y") {
		t.Fatalf("after Add: %s", out)
	}
}

func TestSecretKey(t *testing.T) {
	for key, want := range map[string]bool{
		"api_key": true, "APIKey": true, "openai-api-key": true, "secret": true, "secrets": true,
		"client_secret": true, "token": true, "admin_token": true, "Authorization": true,
		"password": true, "Cookie": true, "credentials": true,
		"tokens": false, "prompt_tokens": false, "key": false, "turn": false, "call_id": false,
		"secretary": false, "event_id": false,
	} {
		if got := telemetry.SecretKey(key); got != want {
			t.Errorf("SecretKey(%q) = %v, want %v", key, got, want)
		}
	}
}

func TestSecretEnvValues(t *testing.T) {
	got := telemetry.SecretEnvValues([]string{"OPENAI_API_KEY=sk-1", "PARLEY_ADMIN_TOKEN=tok", "HOME=/root",
		"WEBHOOK_SECRET=whsec_x", "EMPTY_TOKEN=", "MAX_TOKENS=100", "DB_PASSWORD=a=b"})
	if want := "[sk-1 tok whsec_x a=b]"; fmt.Sprint(got) != want {
		t.Fatalf("got %v, want %s", got, want)
	}
}
