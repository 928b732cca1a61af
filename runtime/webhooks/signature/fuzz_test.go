package signature

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzVerify feeds arbitrary header values to VerifyValues. It must never panic,
// must fail with one of the documented errors, and must accept only requests
// whose signature really matches.
func FuzzVerify(f *testing.F) {
	f.Add(specMsgID, "1614265330", specSignature, []byte(specPayload))
	f.Add(specMsgID, "1614265330", "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,x "+specSignature, []byte(specPayload))
	f.Add("msg", "hello", "v1,", []byte(nil))
	f.Add("", "", "", []byte("{}"))
	f.Add("evt_1", "-1", "v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg==", []byte("x"))
	f.Add("evt.1", "99999999999999999999", ",,, v1,,,", []byte("\x00"))
	f.Add("id", "1614265330", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1O==", []byte(specPayload))

	secrets := specSecrets(f)
	now := time.Unix(specTimestamp, 0)
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte) {
		err := VerifyValues(secrets, id, ts, sig, body, now, 0)
		if err == nil {
			// Accepted: one of the entries must be the real signature.
			parsed, perr := ParseTimestamp(ts)
			if perr != nil {
				t.Fatalf("accepted an unparsable timestamp %q", ts)
			}
			want := Sign(secrets, id, parsed, body)
			if !strings.Contains(" "+strings.Join(strings.Fields(sig), " ")+" ", " "+want+" ") {
				t.Fatalf("accepted %q, which does not contain %q", sig, want)
			}
			return
		}
		for _, known := range []error{ErrMissingHeaders, ErrBadTimestamp, ErrTimestampTooOld, ErrTimestampTooNew, ErrNoMatchingSignature} {
			if errors.Is(err, known) {
				return
			}
		}
		t.Fatalf("undocumented error: %v", err)
	})
}

// FuzzRoundTrip checks that whatever Parley signs, Verify accepts.
func FuzzRoundTrip(f *testing.F) {
	f.Add("evt_01M8D5ZJEFDXEDNKH1S46A26QY", int64(1_700_000_000), []byte(`{"a":1}`))
	f.Add("x", int64(0), []byte(nil))
	secrets := specSecrets(f)
	f.Fuzz(func(t *testing.T, id string, unix int64, body []byte) {
		if strings.TrimSpace(id) == "" || unix < 0 {
			return
		}
		ts := time.Unix(unix, 0)
		sig := Sign(secrets, id, ts, body)
		if err := VerifyValues(secrets, id, strconv.FormatInt(unix, 10), sig, body, ts, 0); err != nil {
			t.Fatalf("round trip: %v", err)
		}
	})
}
