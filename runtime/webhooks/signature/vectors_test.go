package signature

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Test vectors from the Standard Webhooks spec repository,
// github.com/standard-webhooks/standard-webhooks. The same message is used by
// every reference library's tests:
//
//   - libraries/go/webhook_test.go, TestWebhookSign (commit 449485ca)
//   - libraries/javascript/src/webhook.test.ts, "sign function works" (commit 10d3e46d)
//   - libraries/python/tests/test_webhooks.py, test_sign_function (commit 33d368b2)
//
// They all expect "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=" (lower-case
// "m" in "/tmIK"); recomputed independently with Python's hmac module while
// writing this test.
const (
	specSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" // decodes to exactly 24 bytes, the minimum
	specMsgID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	specTimestamp = 1614265330
	specPayload   = `{"test": 2432232314}`
	specSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func specSecrets(t testing.TB) []Secret {
	t.Helper()
	s, err := ParseSecret(specSecret)
	if err != nil {
		t.Fatalf("parsing the spec's secret: %v", err)
	}
	return []Secret{s}
}

func specHeader(sig string) http.Header {
	h := http.Header{}
	h.Set(HeaderID, specMsgID)
	h.Set(HeaderTimestamp, "1614265330")
	h.Set(HeaderSignature, sig)
	return h
}

func TestSpecVectorSign(t *testing.T) {
	got := Sign(specSecrets(t), specMsgID, time.Unix(specTimestamp, 0), []byte(specPayload))
	if got != specSignature {
		t.Fatalf("Sign = %q, want %q (Standard Webhooks reference vector)", got, specSignature)
	}
	// Sub-second parts of the time are not signed: only unix seconds go on the wire.
	got = Sign(specSecrets(t), specMsgID, time.Unix(specTimestamp, 999_999_999), []byte(specPayload))
	if got != specSignature {
		t.Fatalf("Sign with nanoseconds = %q, want %q", got, specSignature)
	}
}

func TestSpecVectorVerify(t *testing.T) {
	at := time.Unix(specTimestamp, 0)
	tests := []struct {
		name string
		sig  string
		want error
	}{
		{"reference signature", specSignature, nil},
		// Python test_invalid_signature_raises_error: last character changed.
		{"python invalid signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=", ErrNoMatchingSignature},
		// The same signature with one letter's case changed ("/tMIK") must fail.
		{"case changed", "v1,g0hM9SsE+OTPJTGt/tMIKtSyZlE3uFJELVlNIOLJ1OE=", ErrNoMatchingSignature},
		// JS "invalid signature throws error".
		{"js invalid signature", "v1,dawfeoifkpqwoekfpqoekf", ErrNoMatchingSignature},
		// JS "partial signature throws error": the first 8 characters, then "v1,".
		{"js partial signature", specSignature[:8], ErrNoMatchingSignature},
		{"js empty v1", "v1,", ErrNoMatchingSignature},
		// Go/JS/Python "multi sig payload is valid": unknown and wrong entries around the good one.
		{"reference multi signature", strings.Join([]string{
			"v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
			"v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
			specSignature,
			"v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
		}, " "), nil},
		// spec/standard-webhooks.md, "Example headers": a v1 and a v1a (ed25519)
		// entry for another message and secret. Neither matches; v1a is ignored.
		{"spec example header", "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4= v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg==", ErrNoMatchingSignature},
		{"spec example header plus ours", "v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg== " + specSignature, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(specSecrets(t), specHeader(tt.sig), []byte(specPayload), at, 0)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestSpecVectorTimestamp follows the reference tests "invalid timestamp throws
// error" (JS/Python: "hello") and "old/new timestamp fails" (tolerance ± 1 s).
func TestSpecVectorTimestamp(t *testing.T) {
	at := time.Unix(specTimestamp, 0)
	h := specHeader(specSignature)
	h.Set(HeaderTimestamp, "hello")
	if err := Verify(specSecrets(t), h, []byte(specPayload), at, 0); !errors.Is(err, ErrBadTimestamp) {
		t.Fatalf("timestamp %q: err = %v, want ErrBadTimestamp", "hello", err)
	}
	h = specHeader(specSignature)
	if err := Verify(specSecrets(t), h, []byte(specPayload), at.Add(DefaultTolerance+time.Second), 0); !errors.Is(err, ErrTimestampTooOld) {
		t.Fatalf("old: err = %v, want ErrTimestampTooOld", err)
	}
	if err := Verify(specSecrets(t), h, []byte(specPayload), at.Add(-DefaultTolerance-time.Second), 0); !errors.Is(err, ErrTimestampTooNew) {
		t.Fatalf("new: err = %v, want ErrTimestampTooNew", err)
	}
}
