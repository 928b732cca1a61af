package webhooks

import (
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		v    string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"120", 120 * time.Second, true},
		{" 7 ", 7 * time.Second, true},
		{"0", 0, true},
		{"Sun, 01 Nov 2026 10:05:00 GMT", 5 * time.Minute, true},      // IMF-fixdate
		{"Sunday, 01-Nov-26 10:00:30 GMT", 30 * time.Second, true},    // RFC 850
		{"Sun Nov  1 10:01:00 2026", time.Minute, true},               // asctime
		{"Sun, 01 Nov 2026 09:00:00 GMT", 0, true},                    // past
		{"Mon, 01 Nov 2027 10:00:00 GMT", 365 * 24 * time.Hour, true}, // a year: the ceiling
		{"99999999999999999999999", 365 * 24 * time.Hour, true},
		{"-5", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
		{"120 seconds", 0, false},
	}
	for _, tt := range tests {
		got, ok := ParseRetryAfter(tt.v, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseRetryAfter(%q) = %s, %v; want %s, %v", tt.v, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"120", "Sun, 01 Nov 2026 10:05:00 GMT", "", "-1", "18446744073709551616", "Sunday, 01-Nov-26 10:00:30 GMT"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := ParseRetryAfter(v, now)
		if d < 0 || d > retryAfterCeiling || (!ok && d != 0) {
			t.Fatalf("ParseRetryAfter(%q) = %s, %v", v, d, ok)
		}
	})
}
