package webrtc

import (
	"errors"
	"testing"
)

func TestParseClientMessage(t *testing.T) {
	cases := []struct {
		in string
		ok bool
	}{
		{`{"type":"hangup"}`, true},
		{`{"type":"dtmf","digit":"#"}`, true},
		{`{"type":"dtmf","digit":"12"}`, false},
		{`{"type":"dtmf","digit":"x"}`, false},
		{`{"type":"stats","stats":{"packets_received":3}}`, true},
		{`{"type":"stats"}`, false},
		{`{"type":"reboot"}`, false},
		{`not json`, false},
		{`{"type":"hangup","pad":"` + string(make([]byte, MaxMessageBytes)) + `"}`, false},
	}
	for _, tc := range cases {
		_, err := ParseClientMessage([]byte(tc.in))
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrBadMessage)) {
			t.Errorf("%.40q: err %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}

func FuzzParseClientMessage(f *testing.F) {
	for _, s := range []string{`{"type":"hangup"}`, `{"type":"dtmf","digit":"5"}`,
		`{"type":"stats","stats":{"packets_received":1,"audio_level":0.1}}`, `{}`, `[]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseClientMessage(b)
		if err != nil {
			if !errors.Is(err, ErrBadMessage) {
				t.Fatalf("error %v does not wrap ErrBadMessage", err)
			}
			return
		}
		if m.Type == TypeStats && m.Stats == nil || m.Type == TypeDTMF && len(m.Digit) != 1 {
			t.Fatalf("accepted an invalid message: %+v", m)
		}
	})
}

func FuzzCheckOffer(f *testing.F) {
	f.Add([]byte(opusOnlyOffer))
	f.Add([]byte(noAudioOffer))
	f.Add([]byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := CheckOffer(b); err != nil && !errors.Is(err, ErrBadOffer) {
			t.Fatalf("error %v does not wrap ErrBadOffer", err)
		}
	})
}
