package webrtc

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestTokens(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	tk := Tokens{Key: []byte("0123456789abcdef"), Now: func() time.Time { return now }}
	tok, exp := tk.Mint("demo", 10*time.Minute)
	if !exp.Equal(now.Add(10 * time.Minute)) {
		t.Errorf("expiry %s", exp)
	}
	if err := tk.Verify(tok, "demo"); err != nil {
		t.Fatalf("fresh token: %v", err)
	}
	later := tk
	later.Now = func() time.Time { return now.Add(10 * time.Minute) }
	other := Tokens{Key: []byte("fedcba9876543210"), Now: tk.Now}
	p, s, _ := strings.Cut(tok, ".")
	cases := []struct {
		name string
		tk   Tokens
		tok  string
		want error
	}{
		{"expired", later, tok, ErrTokenExpired},
		{"other agent", tk, tok, ErrTokenAgent},
		{"other key", other, tok, ErrTokenInvalid},
		{"tampered payload", tk, "x" + p + "." + s, ErrTokenInvalid},
		{"no signature", tk, p, ErrTokenInvalid},
		{"empty", tk, "", ErrTokenInvalid},
		{"huge", tk, strings.Repeat("a", MaxTokenBytes+1), ErrTokenInvalid},
		{"no key", Tokens{}, tok, ErrTokenInvalid},
	}
	for _, tc := range cases {
		agent := "demo"
		if tc.name == "other agent" {
			agent = "sales"
		}
		if err := tc.tk.Verify(tc.tok, agent); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

func FuzzVerifyToken(f *testing.F) {
	tk := Tokens{Key: []byte("0123456789abcdef")}
	tok, _ := tk.Mint("demo", time.Hour)
	f.Add(tok)
	f.Add("e30.AAAA")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		err := tk.Verify(s, "demo")
		if err == nil && s != tok {
			// Only a correctly signed token may pass.
			p, _, _ := strings.Cut(s, ".")
			if q, _, _ := strings.Cut(tok, "."); p != q {
				t.Fatalf("forged token accepted: %q", s)
			}
		}
	})
}
