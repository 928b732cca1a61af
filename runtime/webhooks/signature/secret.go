package signature

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"strings"
)

// SecretPrefix starts every serialized symmetric secret, so that a secret is
// recognisable in a config file and cannot be mistaken for another kind of key.
const SecretPrefix = "whsec_"

// Secret sizes allowed by the Standard Webhooks spec: at least 192 bits, at most
// 512.
const (
	MinSecretBytes = 24
	MaxSecretBytes = 64
	// GeneratedSecretBytes is the size of the secrets GenerateSecret makes.
	GeneratedSecretBytes = 32
)

// Secret is an HMAC-SHA256 signing key. Its zero value is not usable; make one
// with ParseSecret, NewSecret or GenerateSecret. It never prints its key: String
// and slog show a redacted form, Encode the full "whsec_…" string.
type Secret struct {
	key []byte
}

// ParseSecret parses a "whsec_<base64>" secret. Surrounding white space (a
// trailing newline from a file or an environment variable) is ignored. Errors
// wrap ErrInvalidSecret and never contain the secret itself.
func ParseSecret(s string) (Secret, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Secret{}, fmt.Errorf("%w: empty", ErrInvalidSecret)
	}
	enc, ok := strings.CutPrefix(s, SecretPrefix)
	if !ok {
		return Secret{}, fmt.Errorf("%w: missing the %q prefix (expected %s<base64>)", ErrInvalidSecret, SecretPrefix, SecretPrefix)
	}
	key, err := decodeBase64(enc)
	if err != nil {
		return Secret{}, fmt.Errorf("%w: the part after %q is not valid base64", ErrInvalidSecret, SecretPrefix)
	}
	return NewSecret(key)
}

// ParseSecrets parses several secrets, as configured during a rotation. The
// error names the position of the first bad one (counting from 1).
func ParseSecrets(ss []string) ([]Secret, error) {
	out := make([]Secret, 0, len(ss))
	for i, s := range ss {
		sec, err := ParseSecret(s)
		if err != nil {
			return nil, fmt.Errorf("secret %d of %d: %w", i+1, len(ss), err)
		}
		out = append(out, sec)
	}
	return out, nil
}

// NewSecret makes a secret from raw key bytes (24 to 64 of them). The bytes are
// copied.
func NewSecret(key []byte) (Secret, error) {
	switch {
	case len(key) < MinSecretBytes:
		return Secret{}, fmt.Errorf("%w: %d bytes is too short (at least %d)", ErrInvalidSecret, len(key), MinSecretBytes)
	case len(key) > MaxSecretBytes:
		return Secret{}, fmt.Errorf("%w: %d bytes is too long (at most %d)", ErrInvalidSecret, len(key), MaxSecretBytes)
	}
	return Secret{key: append([]byte(nil), key...)}, nil
}

// GenerateSecret returns a new random secret of GeneratedSecretBytes bytes.
func GenerateSecret() (Secret, error) {
	key := make([]byte, GeneratedSecretBytes)
	if _, err := rand.Read(key); err != nil {
		return Secret{}, fmt.Errorf("generating webhook secret: %w", err)
	}
	return Secret{key: key}, nil
}

// Encode returns the secret in its "whsec_<base64>" form, to show to whoever
// configures the receiving end. Treat the result as a credential.
func (s Secret) Encode() string {
	return SecretPrefix + base64.StdEncoding.EncodeToString(s.key)
}

// Valid reports whether s holds a key (the zero Secret does not).
func (s Secret) Valid() bool { return len(s.key) > 0 }

// String returns a redacted form, so that a Secret printed by mistake leaks
// nothing.
func (s Secret) String() string {
	if !s.Valid() {
		return SecretPrefix + "(unset)"
	}
	return SecretPrefix + "(redacted)"
}

// LogValue keeps secrets out of slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// decodeBase64 accepts standard base64, padded or not.
func decodeBase64(s string) ([]byte, error) {
	if strings.HasSuffix(s, "=") || len(s)%4 == 0 {
		return base64.StdEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}
