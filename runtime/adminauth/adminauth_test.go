package adminauth

import (
	"errors"
	"net/http/httptest"
	"testing"
)

func TestCheck(t *testing.T) {
	tok := New("s3cret-token")
	for _, tc := range []struct {
		header string
		want   error
	}{
		{"", ErrMissing},
		{"Basic czNjcmV0LXRva2Vu", ErrMissing},
		{"Bearer ", ErrMissing},
		{"Bearer s3cret-token", nil},
		{"bearer   s3cret-token ", nil},
		{"Bearer s3cret-toke", ErrInvalid},
		{"Bearer s3cret-token-and-more", ErrInvalid},
	} {
		r := httptest.NewRequest("GET", "/?token=s3cret-token", nil)
		if tc.header != "" {
			r.Header.Set("Authorization", tc.header)
		}
		if err := tok.Check(r); !errors.Is(err, tc.want) {
			t.Errorf("Authorization %q: got %v, want %v", tc.header, err, tc.want)
		}
	}
	if !tok.Configured() || New("").Configured() {
		t.Error("Configured is wrong")
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer anything")
	if err := New("").Check(r); !errors.Is(err, ErrInvalid) {
		t.Errorf("an unconfigured token accepted a request: %v", err)
	}
	if got := Challenge("parley-admin", ErrInvalid); got != `Bearer realm="parley-admin", error="invalid_token"` {
		t.Errorf("Challenge = %s", got)
	}
	if got := Challenge("parley-admin", ErrMissing); got != `Bearer realm="parley-admin"` {
		t.Errorf("Challenge = %s", got)
	}
}
