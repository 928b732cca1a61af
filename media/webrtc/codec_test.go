package webrtc

import (
	"errors"
	"testing"
)

// pcmuAndOpusOffer is a browser's audio section: Opus first, PCMU among the rest.
const pcmuAndOpusOffer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n" +
	"a=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\na=rtpmap:63 red/48000/2\r\n" +
	"a=rtpmap:9 G722/8000\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"

// TestOfferCodec: Opus is picked when offered and built in, PCMU otherwise.
func TestOfferCodec(t *testing.T) {
	opus := "opus/48000"
	if OpusAvailable() != nil {
		opus = ""
	}
	pcmuOnly := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\n"
	cases := []struct {
		name, offer, want string // want "" is a refusal
	}{
		{"browser", pcmuAndOpusOffer, map[bool]string{true: "opus/48000", false: "PCMU/8000"}[opus != ""]},
		{"pcmu static type", pcmuOnly, "PCMU/8000"},
		{"opus only", opusOnlyOffer, opus},
		{"g722 only", g722OnlyOffer, ""},
		{"no audio", noAudioOffer, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wc, err := offerCodec([]byte(tc.offer))
			switch {
			case tc.want == "" && !errors.Is(err, ErrBadOffer):
				t.Errorf("err %v, want ErrBadOffer", err)
			case tc.want != "" && (err != nil || wc.name() != tc.want):
				t.Errorf("codec %v, err %v, want %s", wc, err, tc.want)
			}
		})
	}
}

// TestPCMUCodecRoundTrip: a frame through the PCMU encoder and decoder keeps
// its tone, and a lost packet becomes a packet's worth of silence.
func TestPCMUCodecRoundTrip(t *testing.T) {
	enc, dec := newPCMUEncoder(), newPCMUDecoder()
	var out []int16
	for i := range 10 {
		p, err := enc.encode(nil, sine(320, 1000, SampleRate, i*320))
		if err != nil || len(p) != 160 {
			t.Fatalf("encode: %d bytes, %v", len(p), err)
		}
		out, _ = dec.decode(out[:0], p)
	}
	if s := toneShare(out, 1000, SampleRate); s < 0.8 {
		t.Errorf("tone share %.2f after PCMU", s)
	}
	if n := len(dec.conceal(nil, 2, make([]byte, 160))); n < 600 || n > 640 {
		t.Errorf("two lost packets concealed with %d samples, want about 640", n)
	}
}

func sine(n int, hz float64, rate, offset int) []int16 {
	pcm := make([]int16, n)
	for i := range pcm {
		pcm[i] = int16(8000 * sinAt(hz, rate, offset+i))
	}
	return pcm
}
