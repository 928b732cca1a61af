package webrtc

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// MaxTokenBytes bounds the length of a token Verify will look at.
const MaxTokenBytes = 1024

// Tokens mints and checks signed, expiring call tokens. A web page that is
// allowed to call an agent gets one from the server's token endpoint (called
// by the site's own back end with the API key) and sends it with its offer, so
// the API key never reaches the browser.
//
// A token is base64url(JSON {"agent","exp"}) "." base64url(HMAC-SHA256).
type Tokens struct {
	// Key signs tokens; at least 16 bytes.
	Key []byte
	// Now is the clock (default time.Now).
	Now func() time.Time
}

type tokenClaims struct {
	Agent string `json:"agent"`
	Exp   int64  `json:"exp"` // unix seconds
}

func (t Tokens) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

// Mint returns a token for agent valid for ttl, and its expiry.
func (t Tokens) Mint(agent string, ttl time.Duration) (string, time.Time) {
	exp := t.now().Add(ttl).Truncate(time.Second)
	body, _ := json.Marshal(tokenClaims{Agent: agent, Exp: exp.Unix()})
	p := base64.RawURLEncoding.EncodeToString(body)
	return p + "." + base64.RawURLEncoding.EncodeToString(t.sign(p)), exp
}

func (t Tokens) sign(payload string) []byte {
	m := hmac.New(sha256.New, t.Key)
	m.Write([]byte("parley-webrtc-token-v1."))
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// Verify checks tok's signature, expiry and agent. Its errors wrap
// ErrTokenInvalid, ErrTokenExpired or ErrTokenAgent.
func (t Tokens) Verify(tok, agent string) error {
	if len(t.Key) == 0 {
		return fmt.Errorf("%w: no signing key configured", ErrTokenInvalid)
	}
	if len(tok) > MaxTokenBytes {
		return fmt.Errorf("%w: longer than %d bytes", ErrTokenInvalid, MaxTokenBytes)
	}
	p, s, ok := strings.Cut(tok, ".")
	if !ok {
		return fmt.Errorf("%w: not payload.signature", ErrTokenInvalid)
	}
	sig, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || !hmac.Equal(sig, t.sign(p)) {
		return fmt.Errorf("%w: bad signature", ErrTokenInvalid)
	}
	body, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return fmt.Errorf("%w: bad payload encoding", ErrTokenInvalid)
	}
	var c tokenClaims
	if err := json.Unmarshal(body, &c); err != nil {
		return fmt.Errorf("%w: bad payload: %v", ErrTokenInvalid, err)
	}
	if exp := time.Unix(c.Exp, 0); !t.now().Before(exp) {
		return fmt.Errorf("%w: expired at %s", ErrTokenExpired, exp.UTC().Format(time.RFC3339))
	}
	if c.Agent != agent {
		return fmt.Errorf("%w: minted for %q, used for %q", ErrTokenAgent, c.Agent, agent)
	}
	return nil
}
