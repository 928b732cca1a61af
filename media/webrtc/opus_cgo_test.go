//go:build cgo

package webrtc

import (
	"net/http"
	"strings"
	"testing"
	"time"

	pion "github.com/pion/webrtc/v4"
	"gopkg.in/hraban/opus.v2"
)

// newOpusClient is the browser stand-in's Opus: 16 kHz mono in and out, as
// opus/48000/2 on the wire.
func newOpusClient(t testing.TB) *clientCodec {
	enc, err := opus.NewEncoder(16000, 1, opus.AppVoIP)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := opus.NewDecoder(16000, 1)
	if err != nil {
		t.Fatal(err)
	}
	return &clientCodec{
		params: pion.RTPCodecParameters{
			RTPCodecCapability: pion.RTPCodecCapability{MimeType: pion.MimeTypeOpus, ClockRate: 48000, Channels: 2,
				SDPFmtpLine: "minptime=10;useinbandfec=1"},
			PayloadType: 111,
		},
		rate: 16000,
		encode: func(pcm []int16) []byte {
			b := make([]byte, 1500)
			n, err := enc.Encode(pcm, b)
			if err != nil {
				t.Error(err)
			}
			return b[:n]
		},
		decode: func(p []byte) []int16 {
			pcm := make([]int16, 1920)
			n, err := dec.Decode(p, pcm)
			if err != nil {
				t.Error(err)
			}
			return pcm[:n]
		},
	}
}

// TestCallBothWaysOpus: a browser that offers Opus and PCMU gets Opus both
// ways, and a 5 kHz tone (beyond what PCMU can carry) crosses in each
// direction.
func TestCallBothWaysOpus(t *testing.T) {
	checkLeaks(t)
	const hz = 5000
	f := newFixture(t, nil)
	cl := newClient(t, newOpusClient(t), pcmuClient)
	res, answer := f.post(t, "demo", "application/sdp", cl.offer(t), nil)
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("status %d: %s", res.StatusCode, answer)
	}
	if !strings.Contains(answer, "a=rtpmap:111 opus/48000/2") {
		t.Fatalf("answer lacks Opus:\n%s", answer)
	}
	call := within(t, f.calls, time.Second, "call")
	defer call.end("test_over")
	if got := call.conn.Codec(); got != "opus/48000" {
		t.Errorf("agent audio codec %s, want opus/48000", got)
	}
	cl.accept(t, answer)

	// Caller audio: Opus at 16 kHz in, 20 ms frames of 16 kHz PCM out.
	cl.speak(60, hz)
	var toned int
	for i := range 50 {
		fr := within(t, call.audio, 5*time.Second, "caller frame")
		if len(fr) != 320 {
			t.Fatalf("frame of %d samples, want 320", len(fr))
		}
		if i >= 5 && rms(fr) > 2000 && toneShare(fr, hz, SampleRate) > 0.7 {
			toned++
		}
	}
	t.Logf("%d of 45 caller frames carry the tone", toned)
	if toned < 35 {
		t.Errorf("only %d of 45 caller frames carry the %d Hz tone", toned, hz)
	}

	// Agent audio: WriteFrame at 16 kHz becomes Opus packets (PT 111) that
	// decode back to the tone.
	for i := range 40 {
		if err := call.conn.WriteFrame(sine(320, hz, SampleRate, i*320)); err != nil {
			t.Fatal(err)
		}
	}
	toned = 0
	for i := range 35 {
		p := within(t, cl.packets, 5*time.Second, "agent packet")
		if p.PayloadType != 111 {
			t.Fatalf("packet PT %d, want Opus 111", p.PayloadType)
		}
		pcm := cl.codec.decode(p.Payload)
		if len(pcm) != 320 {
			t.Fatalf("agent packet of %d samples at 16 kHz, want 320", len(pcm))
		}
		if i >= 5 && rms(pcm) > 2000 && toneShare(pcm, hz, SampleRate) > 0.7 {
			toned++
		}
	}
	t.Logf("%d of 30 agent packets carry the tone", toned)
	if toned < 25 {
		t.Errorf("only %d of 30 agent packets carry the %d Hz tone", toned, hz)
	}
}

// TestPCMUOnlyBrowserWithOpusBuilt: a PCMU-only offer still gets PCMU.
func TestPCMUOnlyBrowserWithOpusBuilt(t *testing.T) {
	checkLeaks(t)
	f := newFixture(t, nil)
	cl := newClient(t, pcmuClient)
	res, answer := f.post(t, "demo", "application/sdp", cl.offer(t), nil)
	if res.StatusCode != http.StatusCreated || strings.Contains(answer, "opus") || !strings.Contains(answer, "PCMU/8000") {
		t.Fatalf("status %d, answer:\n%s", res.StatusCode, answer)
	}
	call := within(t, f.calls, time.Second, "call")
	defer call.end("test_over")
	if got := call.conn.Codec(); got != "PCMU/8000" {
		t.Errorf("agent audio codec %s, want PCMU/8000", got)
	}
}

// TestOpusConceal: lost packets are replaced by as much audio as they held,
// from FEC or PLC, continuing the tone rather than dropping to silence.
func TestOpusConceal(t *testing.T) {
	e, err := newOpusEncoder()
	if err != nil {
		t.Fatal(err)
	}
	d, err := newOpusDecoder()
	if err != nil {
		t.Fatal(err)
	}
	var packets [][]byte
	for i := range 20 {
		p, err := e.encode(nil, sine(320, 400, SampleRate, i*320))
		if err != nil {
			t.Fatal(err)
		}
		packets = append(packets, p)
	}
	var out []int16
	for _, p := range packets[:10] {
		if out, err = d.decode(out, p); err != nil {
			t.Fatal(err)
		}
	}
	n := len(out)
	out = d.conceal(out, 3, packets[13])
	if got := len(out) - n; got != 3*320 {
		t.Fatalf("3 lost packets concealed with %d samples, want 960", got)
	}
	if r := rms(out[n : n+320]); r < 1000 {
		t.Errorf("first concealed packet has rms %.0f, want the tone carried on", r)
	}
	if _, err := d.decode(nil, []byte{0xff, 0xff, 0xff}); err == nil {
		t.Error("decoding a corrupt packet did not fail")
	}
}

// FuzzOpusDecode: the caller's payloads are outside input; libopus must
// reject bad ones with an error, never crash or overrun.
func FuzzOpusDecode(f *testing.F) {
	e, err := newOpusEncoder()
	if err != nil {
		f.Fatal(err)
	}
	p, _ := e.encode(nil, sine(320, 440, SampleRate, 0))
	f.Add(p)
	f.Add([]byte{0xfc, 0xff, 0xfe})
	f.Add([]byte{0x03, 0x83})
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := newOpusDecoder()
		if err != nil {
			t.Fatal(err)
		}
		out, err := d.decode(nil, b)
		if err == nil && len(out) > maxOpusSamples {
			t.Fatalf("decoded %d samples from %d bytes", len(out), len(b))
		}
		if len(b) > 0 {
			_ = d.conceal(nil, 2, b)
		}
	})
}

func BenchmarkOpusEncode(b *testing.B) {
	e, err := newOpusEncoder()
	if err != nil {
		b.Fatal(err)
	}
	pcm := sine(320, 440, SampleRate, 0)
	var buf []byte
	for b.Loop() {
		buf, _ = e.encode(buf[:0], pcm)
	}
}

func BenchmarkOpusDecode(b *testing.B) {
	e, _ := newOpusEncoder()
	d, _ := newOpusDecoder()
	p, _ := e.encode(nil, sine(320, 440, SampleRate, 0))
	var out []int16
	for b.Loop() {
		out, _ = d.decode(out[:0], p)
	}
}
