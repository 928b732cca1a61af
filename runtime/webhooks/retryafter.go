package webhooks

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// retryAfterCeiling bounds a parsed Retry-After before any policy applies, so
// that absurd values cannot overflow a time.Duration.
const retryAfterCeiling = 365 * 24 * time.Hour

// ParseRetryAfter reads a Retry-After header value, either delay-seconds
// ("120") or an HTTP-date ("Wed, 21 Oct 2026 07:28:00 GMT", taken relative to
// now), and returns the delay it asks for. ok is false for an absent or
// malformed value. A date in the past is a zero delay; a delay beyond a year is
// cut to a year (RetryPolicy.MaxRetryAfter bounds it further).
func ParseRetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if isDigits(v) {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n > uint64(retryAfterCeiling/time.Second) {
			return retryAfterCeiling, true // only overflow fails on digits
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d = t.Sub(now)
	switch {
	case d < 0:
		return 0, true
	case d > retryAfterCeiling:
		return retryAfterCeiling, true
	}
	return d, true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
