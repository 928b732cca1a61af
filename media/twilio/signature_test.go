package twilio

import (
	"errors"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func docParams(caller, from string) url.Values {
	return url.Values{"CallSid": {"CA1234567890ABCDE"}, "Caller": {caller}, "Digits": {"1234"}, "From": {from}, "To": {"+18005551212"}}
}

// TestSignatureVectors: Twilio's documented example (twilio.com/docs/usage/security,
// the same vector the official SDKs test), and the brief's variant whose value was
// computed independently with Python's hmac/hashlib.
func TestSignatureVectors(t *testing.T) {
	cases := []struct{ url, caller, from, want string }{
		{"https://mycompany.com/myapp.php?foo=1&bar=2", "+14158675310", "+14158675310", "GvWf1cFY/Q7PnoempGyD5oXAezc="},
		{"https://example.com/myapp.php?foo=1&bar=2", "+12349013030", "+14158675310", "FIrHnoB3S8437I1R4aMyxc725UI="},
	}
	for _, c := range cases {
		if got := Signature("12345", c.url, docParams(c.caller, c.from)); got != c.want {
			t.Errorf("Signature(%s) = %s, want %s", c.url, got, c.want)
		}
	}
}

func TestValidateWebhook(t *testing.T) {
	v := Validator{AuthToken: "12345", PublicURL: "https://mycompany.com"}
	req := func(sig string, form url.Values) error {
		r := httptest.NewRequest("POST", "http://internal:8080/myapp.php?foo=1&bar=2", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if sig != "" {
			r.Header.Set(SignatureHeader, sig)
		}
		return v.ValidateWebhook(r)
	}
	good := docParams("+14158675310", "+14158675310")
	if err := req("GvWf1cFY/Q7PnoempGyD5oXAezc=", good); err != nil {
		t.Errorf("documented request refused: %v", err)
	}
	if err := req("", good); !errors.Is(err, ErrNoSignature) {
		t.Errorf("unsigned: %v", err)
	}
	bad := docParams("+14158675310", "+14158675311")
	if err := req("GvWf1cFY/Q7PnoempGyD5oXAezc=", bad); !errors.Is(err, ErrBadSignature) {
		t.Errorf("tampered form: %v", err)
	}
}

func TestValidateUpgradeWithAndWithoutPort(t *testing.T) {
	v := Validator{AuthToken: "tok", PublicURL: "https://parley.example.com"}
	for _, signed := range []string{"wss://parley.example.com/v1/twilio/media", "wss://parley.example.com:443/v1/twilio/media"} {
		r := httptest.NewRequest("GET", "http://10.0.0.1/v1/twilio/media", nil)
		r.Header.Set(SignatureHeader, Signature("tok", signed, nil))
		if err := v.ValidateUpgrade(r); err != nil {
			t.Errorf("signed over %s: %v", signed, err)
		}
	}
	r := httptest.NewRequest("GET", "http://10.0.0.1/v1/twilio/media", nil)
	r.Header.Set(SignatureHeader, Signature("tok", "https://parley.example.com/v1/twilio/media", nil))
	if err := v.ValidateUpgrade(r); !errors.Is(err, ErrBadSignature) {
		t.Errorf("signed over https instead of wss: %v", err)
	}
}
