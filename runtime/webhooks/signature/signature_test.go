package signature

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func mustSecret(t testing.TB) Secret {
	t.Helper()
	s, err := GenerateSecret()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func secretOfLen(n int) string {
	return SecretPrefix + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x5a}, n))
}

func TestParseSecret(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr string // substring; empty means success
	}{
		{"spec secret", specSecret, ""},
		{"min 24 bytes", secretOfLen(24), ""},
		{"max 64 bytes", secretOfLen(64), ""},
		{"generated size", secretOfLen(GeneratedSecretBytes), ""},
		{"surrounding white space", "  " + specSecret + "\n", ""},
		{"unpadded base64", strings.TrimRight(secretOfLen(32), "="), ""},
		{"empty", "", "empty"},
		{"missing prefix", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", `missing the "whsec_" prefix`},
		{"other prefix", "whsk_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", `missing the "whsec_" prefix`},
		{"bad base64", "whsec_not*base64!!", "not valid base64"},
		{"too short", secretOfLen(23), "23 bytes is too short (at least 24)"},
		{"prefix only", SecretPrefix, "0 bytes is too short"},
		{"too long", secretOfLen(65), "65 bytes is too long (at most 64)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseSecret(tt.in)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ParseSecret: %v", err)
				}
				if !s.Valid() {
					t.Fatal("parsed secret is not valid")
				}
				return
			}
			if !errors.Is(err, ErrInvalidSecret) {
				t.Fatalf("err = %v, want ErrInvalidSecret", err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %q, want it to mention %q", err, tt.wantErr)
			}
			if enc := strings.TrimPrefix(strings.TrimSpace(tt.in), SecretPrefix); len(enc) > 8 && strings.Contains(err.Error(), enc) {
				t.Fatalf("error %q leaks the secret", err)
			}
		})
	}
}

func TestParseSecretsNamesTheBadOne(t *testing.T) {
	_, err := ParseSecrets([]string{specSecret, "nope"})
	if !errors.Is(err, ErrInvalidSecret) || !strings.Contains(err.Error(), "secret 2 of 2") {
		t.Fatalf("err = %v", err)
	}
	ss, err := ParseSecrets([]string{specSecret, secretOfLen(32)})
	if err != nil || len(ss) != 2 {
		t.Fatalf("ParseSecrets = %d, %v", len(ss), err)
	}
}

func TestSecretEncodeRoundTrip(t *testing.T) {
	s := mustSecret(t)
	back, err := ParseSecret(s.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back.key, s.key) {
		t.Fatal("Encode/ParseSecret changed the key")
	}
	if p, _ := ParseSecret(specSecret); p.Encode() != specSecret {
		t.Fatalf("Encode = %q, want %q", p.Encode(), specSecret)
	}
}

func TestSecretNeverPrints(t *testing.T) {
	s, _ := ParseSecret(specSecret)
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "secret", s)
	for _, out := range []string{s.String(), fmt.Sprint(s), fmt.Sprintf("%v %+v", s, []Secret{s}), buf.String()} {
		if strings.Contains(out, "MfKQ9r8G") {
			t.Fatalf("secret printed: %s", out)
		}
	}
	if (Secret{}).String() != "whsec_(unset)" {
		t.Fatalf("zero String = %q", Secret{}.String())
	}
}

// TestSignMatchesSpecFormula checks Sign against HMAC-SHA256 written straight
// from the spec, for messages other than the reference one.
func TestSignMatchesSpecFormula(t *testing.T) {
	s := mustSecret(t)
	for _, body := range [][]byte{nil, []byte("{}"), bytes.Repeat([]byte("é.x "), 1000)} {
		ts := time.Unix(1_800_000_000, 0)
		mac := hmac.New(sha256.New, s.key)
		mac.Write([]byte("evt_01.1800000000."))
		mac.Write(body)
		want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
		if got := Sign([]Secret{s}, "evt_01", ts, body); got != want {
			t.Fatalf("Sign = %q, want %q", got, want)
		}
	}
}

func TestSignSkipsZeroSecrets(t *testing.T) {
	s := mustSecret(t)
	if got := Sign([]Secret{{}, s, {}}, "id", time.Unix(1, 0), nil); strings.Count(got, "v1,") != 1 || strings.Contains(got, " ") {
		t.Fatalf("Sign = %q, want one signature", got)
	}
	if got := Sign(nil, "id", time.Unix(1, 0), nil); got != "" {
		t.Fatalf("Sign without secrets = %q", got)
	}
}

func TestSetHeaders(t *testing.T) {
	s := mustSecret(t)
	h := http.Header{}
	ts := time.Unix(1_700_000_000, 0)
	SetHeaders(h, []Secret{s}, "evt_1", ts, []byte("{}"))
	if h.Get("Webhook-Id") != "evt_1" || h.Get("WEBHOOK-TIMESTAMP") != "1700000000" || !strings.HasPrefix(h.Get(HeaderSignature), "v1,") {
		t.Fatalf("headers = %v", h)
	}
	if err := Verify([]Secret{s}, h, []byte("{}"), ts, 0); err != nil {
		t.Fatal(err)
	}
}

func TestRotation(t *testing.T) {
	oldS, newS, other := mustSecret(t), mustSecret(t), mustSecret(t)
	ts := time.Unix(1_700_000_000, 0)
	body := []byte(`{"event_type":"call.started"}`)
	h := http.Header{}
	SetHeaders(h, []Secret{newS, oldS}, "evt_1", ts, body)
	if n := len(strings.Fields(h.Get(HeaderSignature))); n != 2 {
		t.Fatalf("%d signatures, want 2: %q", n, h.Get(HeaderSignature))
	}
	for name, secrets := range map[string][]Secret{
		"receiver still on the old secret":   {oldS},
		"receiver already on the new secret": {newS},
		"receiver with both":                 {other, newS, oldS},
	} {
		if err := Verify(secrets, h, body, ts, 0); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	err := Verify([]Secret{other}, h, body, ts, 0)
	if !errors.Is(err, ErrNoMatchingSignature) || !strings.Contains(err.Error(), "2 v1 signatures checked against 1 secrets") {
		t.Fatalf("other secret: err = %v", err)
	}
}

func TestTampering(t *testing.T) {
	s := []Secret{mustSecret(t)}
	ts := time.Unix(1_700_000_000, 0)
	body := []byte(`{"event_type":"speech.transcribed","payload":{"text":"yes"}}`)
	h := http.Header{}
	SetHeaders(h, s, "evt_1", ts, body)

	tamper := map[string]func(h http.Header, b []byte) (http.Header, []byte){
		"body": func(h http.Header, b []byte) (http.Header, []byte) {
			return h, bytes.Replace(b, []byte("yes"), []byte("no!"), 1)
		},
		"body appended":  func(h http.Header, b []byte) (http.Header, []byte) { return h, append(b, ' ') },
		"body truncated": func(h http.Header, b []byte) (http.Header, []byte) { return h, b[:len(b)-1] },
		"id":             func(h http.Header, b []byte) (http.Header, []byte) { h.Set(HeaderID, "evt_2"); return h, b },
		"timestamp":      func(h http.Header, b []byte) (http.Header, []byte) { h.Set(HeaderTimestamp, "1700000001"); return h, b },
		"version": func(h http.Header, b []byte) (http.Header, []byte) {
			h.Set(HeaderSignature, "v2"+h.Get(HeaderSignature)[2:])
			return h, b
		},
	}
	for name, f := range tamper {
		t.Run(name, func(t *testing.T) {
			h2, b2 := f(h.Clone(), bytes.Clone(body))
			ts2, _ := ParseTimestamp(h2.Get(HeaderTimestamp))
			// Verify at the (possibly tampered) timestamp: only the signature may fail.
			if err := Verify(s, h2, b2, ts2, 0); !errors.Is(err, ErrNoMatchingSignature) {
				t.Fatalf("err = %v, want ErrNoMatchingSignature", err)
			}
		})
	}
}

func TestToleranceEdges(t *testing.T) {
	s := []Secret{mustSecret(t)}
	ts := time.Unix(1_700_000_000, 0)
	h := http.Header{}
	SetHeaders(h, s, "evt_1", ts, nil)
	tests := []struct {
		name string
		now  time.Time
		tol  time.Duration
		want error
	}{
		{"same second", ts, 0, nil},
		{"exactly 5 min later", ts.Add(5 * time.Minute), 0, nil},
		{"5 min + 1 ns later", ts.Add(5*time.Minute + 1), 0, ErrTimestampTooOld},
		{"exactly 5 min earlier", ts.Add(-5 * time.Minute), 0, nil},
		{"5 min + 1 ns earlier", ts.Add(-5*time.Minute - 1), 0, ErrTimestampTooNew},
		{"negative tolerance means default", ts.Add(4 * time.Minute), -time.Second, nil},
		{"custom 30 s, inside", ts.Add(30 * time.Second), 30 * time.Second, nil},
		{"custom 30 s, outside", ts.Add(31 * time.Second), 30 * time.Second, ErrTimestampTooOld},
		{"custom 30 s, ahead", ts.Add(-31 * time.Second), 30 * time.Second, ErrTimestampTooNew},
		{"far past", time.Unix(1<<62, 0), 0, ErrTimestampTooOld},
		{"far future", time.Unix(0, 0), 0, ErrTimestampTooNew},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(s, h, nil, tt.now, tt.tol)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	err := Verify(s, h, nil, ts.Add(10*time.Minute), 0)
	if want := "it is 10m0s behind this server's clock, beyond the 5m0s tolerance"; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want it to say %q", err, want)
	}
}

func TestGarbageHeaders(t *testing.T) {
	s := []Secret{mustSecret(t)}
	ts := time.Unix(1_700_000_000, 0)
	good := http.Header{}
	SetHeaders(good, s, "evt_1", ts, nil)
	set := func(k, v string) http.Header {
		h := good.Clone()
		if v == "<delete>" {
			h.Del(k)
		} else {
			h.Set(k, v)
		}
		return h
	}
	tests := []struct {
		name    string
		h       http.Header
		want    error
		mention string
	}{
		{"no headers", http.Header{}, ErrMissingHeaders, "webhook-id, webhook-timestamp, webhook-signature"},
		{"no id", set(HeaderID, "<delete>"), ErrMissingHeaders, "webhook-id"},
		{"blank id", set(HeaderID, "  "), ErrMissingHeaders, "webhook-id"},
		{"no timestamp", set(HeaderTimestamp, "<delete>"), ErrMissingHeaders, "webhook-timestamp"},
		{"no signature", set(HeaderSignature, "<delete>"), ErrMissingHeaders, "webhook-signature"},
		{"timestamp words", set(HeaderTimestamp, "hello"), ErrBadTimestamp, `"hello" is not unix seconds`},
		{"timestamp negative", set(HeaderTimestamp, "-1700000000"), ErrBadTimestamp, ""},
		{"timestamp plus sign", set(HeaderTimestamp, "+1700000000"), ErrBadTimestamp, ""},
		{"timestamp fraction", set(HeaderTimestamp, "1700000000.5"), ErrBadTimestamp, ""},
		{"timestamp milliseconds", set(HeaderTimestamp, "1700000000000"), ErrTimestampTooNew, "ahead of this server's clock"},
		{"timestamp RFC 3339", set(HeaderTimestamp, "2023-11-14T22:13:20Z"), ErrBadTimestamp, ""},
		{"timestamp overflow", set(HeaderTimestamp, "9999999999999999999"), ErrBadTimestamp, "out of range"},
		{"timestamp too long", set(HeaderTimestamp, strings.Repeat("1", 100)), ErrBadTimestamp, ""},
		{"signature no comma", set(HeaderSignature, "v1"), ErrNoMatchingSignature, "no v1 signature"},
		{"signature bare comma", set(HeaderSignature, ","), ErrNoMatchingSignature, "no v1 signature"},
		{"signature not base64", set(HeaderSignature, "v1,!!!!"), ErrNoMatchingSignature, ""},
		{"signature hex", set(HeaderSignature, "v1,"+strings.Repeat("ab", 32)), ErrNoMatchingSignature, ""},
		{"signature only unknown versions", set(HeaderSignature, "v1a,xyz v2,abc"), ErrNoMatchingSignature, "no v1 signature (2 entries)"},
		{"signature upper-case version", set(HeaderSignature, "V1"+good.Get(HeaderSignature)[2:]), ErrNoMatchingSignature, ""},
		{"signature trailing garbage", set(HeaderSignature, good.Get(HeaderSignature)+"AAAA"), ErrNoMatchingSignature, ""},
		{"signature url-safe base64", set(HeaderSignature, strings.NewReplacer("+", "-", "/", "_").Replace(good.Get(HeaderSignature))+"x"), ErrNoMatchingSignature, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(s, tt.h, nil, ts, 0)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Fatalf("err = %q, want it to mention %q", err, tt.mention)
			}
		})
	}
}

func TestSignatureHeaderShapes(t *testing.T) {
	s := []Secret{mustSecret(t)}
	ts := time.Unix(1_700_000_000, 0)
	sig := Sign(s, "evt_1", ts, nil)
	base := http.Header{}
	base.Set(HeaderID, "evt_1")
	base.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	for name, f := range map[string]func(h http.Header){
		"extra spaces":     func(h http.Header) { h.Set(HeaderSignature, "  v1,AAAA   "+sig+"  ") },
		"two header lines": func(h http.Header) { h.Add(HeaderSignature, "v1,AAAA"); h.Add(HeaderSignature, sig) },
		"many wrong then one": func(h http.Header) {
			h.Set(HeaderSignature, strings.Repeat("v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= ", 50)+sig)
		},
	} {
		h := base.Clone()
		f(h)
		if err := Verify(s, h, nil, ts, 0); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestVerifyWithoutSecrets(t *testing.T) {
	h := specHeader(specSignature)
	for _, secrets := range [][]Secret{nil, {{}}} {
		if err := Verify(secrets, h, []byte(specPayload), time.Unix(specTimestamp, 0), 0); !errors.Is(err, ErrNoSecrets) {
			t.Fatalf("err = %v, want ErrNoSecrets", err)
		}
	}
}

func TestVerifyValues(t *testing.T) {
	err := VerifyValues(specSecrets(t), specMsgID, "1614265330", specSignature, []byte(specPayload), time.Unix(specTimestamp, 0), 0)
	if err != nil {
		t.Fatal(err)
	}
}

func BenchmarkSign(b *testing.B) {
	body := bytes.Repeat([]byte(`{"text":"i would like to book an appointment"}`), 20) // ~1 KiB, a typical event
	one := []Secret{mustSecret(b)}
	two := []Secret{mustSecret(b), mustSecret(b)}
	ts := time.Unix(1_700_000_000, 0)
	for _, bc := range []struct {
		name    string
		secrets []Secret
	}{{"1secret", one}, {"2secrets", two}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				_ = Sign(bc.secrets, "evt_01M8D5ZJEFDXEDNKH1S46A26QY", ts, body)
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	body := bytes.Repeat([]byte(`{"text":"i would like to book an appointment"}`), 20)
	s := []Secret{mustSecret(b)}
	ts := time.Unix(1_700_000_000, 0)
	h := http.Header{}
	SetHeaders(h, s, "evt_01M8D5ZJEFDXEDNKH1S46A26QY", ts, body)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := Verify(s, h, body, ts, 0); err != nil {
			b.Fatal(err)
		}
	}
}
