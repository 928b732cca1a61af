package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultTolerance is how far webhook-timestamp may be from the receiver's clock,
// either way, when Verify is given no tolerance. It bounds the window in which a
// captured request can be replayed.
const DefaultTolerance = 5 * time.Minute

// maxTimestampDigits bounds webhook-timestamp: enough for any int64.
const maxTimestampDigits = 19

// Verify checks the Standard Webhooks headers of a request against its raw body,
// exactly as received (never re-encoded JSON). It accepts the request when
// webhook-timestamp is within tolerance of now (DefaultTolerance when tolerance
// is zero or negative) and at least one v1 entry of webhook-signature matches
// under one of the secrets. Entries of other versions (v1a…) are ignored.
// Several webhook-signature header lines are treated as one list.
//
// Errors wrap ErrNoSecrets, ErrMissingHeaders, ErrBadTimestamp,
// ErrTimestampTooOld, ErrTimestampTooNew or ErrNoMatchingSignature.
func Verify(secrets []Secret, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	return VerifyValues(secrets, h.Get(HeaderID), h.Get(HeaderTimestamp),
		strings.Join(h.Values(HeaderSignature), " "), body, now, tolerance)
}

// VerifyValues is Verify for header values obtained some other way (a framework
// that is not net/http, a queue message).
func VerifyValues(secrets []Secret, id, timestamp, signatures string, body []byte, now time.Time, tolerance time.Duration) error {
	var missing []string
	for _, h := range [...]struct{ name, v string }{
		{HeaderID, id}, {HeaderTimestamp, timestamp}, {HeaderSignature, signatures},
	} {
		if strings.TrimSpace(h.v) == "" {
			missing = append(missing, h.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s", ErrMissingHeaders, strings.Join(missing, ", "))
	}
	ts, err := ParseTimestamp(timestamp)
	if err != nil {
		return err
	}
	if err := CheckTimestamp(ts, now, tolerance); err != nil {
		return err
	}
	return checkSignatures(secrets, id, ts, signatures, body)
}

// ParseTimestamp parses a webhook-timestamp value: unix seconds, digits only.
// Errors wrap ErrBadTimestamp.
func ParseTimestamp(v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" || len(v) > maxTimestampDigits || strings.TrimLeft(v, "0123456789") != "" {
		return time.Time{}, fmt.Errorf("%w: %.32q is not unix seconds", ErrBadTimestamp, v)
	}
	sec, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %.32q is out of range", ErrBadTimestamp, v)
	}
	return time.Unix(sec, 0), nil
}

// CheckTimestamp reports whether ts is within tolerance of now, either way
// (both edges included). A zero or negative tolerance means DefaultTolerance.
func CheckTimestamp(ts, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	switch age := now.Sub(ts); {
	case age > tolerance:
		return fmt.Errorf("%w: it is %s behind this server's clock, beyond the %s tolerance (a replayed request, or clocks out of sync)",
			ErrTimestampTooOld, age.Truncate(time.Second), tolerance)
	case age < -tolerance:
		return fmt.Errorf("%w: it is %s ahead of this server's clock, beyond the %s tolerance (clocks out of sync)",
			ErrTimestampTooNew, ts.Sub(now).Truncate(time.Second), tolerance)
	}
	return nil
}

// checkSignatures compares, in constant time, every v1 entry of the header with
// the signature each secret gives the content.
// The timestamp is signed in its canonical form, as the reference libraries do.
func checkSignatures(secrets []Secret, id string, ts time.Time, header string, body []byte) error {
	unix := strconv.AppendInt(nil, ts.Unix(), 10)
	want := make([][]byte, 0, len(secrets))
	for _, s := range secrets {
		if s.Valid() {
			want = append(want, s.mac(nil, id, unix, body))
		}
	}
	if len(want) == 0 {
		return ErrNoSecrets
	}
	entries, v1 := 0, 0
	var got [sha256.Size + 1]byte // room for DecodedLen(44) = 33
	for entry := range strings.FieldsSeq(header) {
		entries++
		version, enc, ok := strings.Cut(entry, ",")
		if !ok || version != VersionV1 {
			continue
		}
		v1++
		if len(enc) != encodedSigLen {
			continue
		}
		n, err := base64.StdEncoding.Decode(got[:], []byte(enc))
		if err != nil || n != sha256.Size {
			continue
		}
		for _, w := range want {
			if hmac.Equal(got[:n], w) {
				return nil
			}
		}
	}
	if v1 == 0 {
		return fmt.Errorf("%w: the header holds no v1 signature (%d entries)", ErrNoMatchingSignature, entries)
	}
	return fmt.Errorf("%w (%d v1 signatures checked against %d secrets)", ErrNoMatchingSignature, v1, len(want))
}
