package carrier

import (
	"math"
	"slices"
	"testing"

	"github.com/parley-voice/parley/media/codec"
)

func sine(n, rate int, hz float64) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(8000 * math.Sin(2*math.Pi*hz*float64(i)/float64(rate)))
	}
	return s
}

// crossings counts sign changes: a tone keeps its frequency through resampling.
func crossings(s []int16) int {
	n := 0
	for i := 1; i < len(s); i++ {
		if (s[i-1] < 0) != (s[i] < 0) {
			n++
		}
	}
	return n
}

func TestOutboundChunks(t *testing.T) {
	for _, tc := range []struct {
		f     Format
		chunk int
	}{
		{Format{Mulaw, 8000}, 160}, {Format{Alaw, 8000}, 160},
		{Format{L16LE, 8000}, 320}, {Format{L16LE, 16000}, 640}, {Format{L16LE, 24000}, 960},
	} {
		t.Run(tc.f.String(), func(t *testing.T) {
			o, err := NewOutbound(tc.f)
			if err != nil {
				t.Fatal(err)
			}
			in := sine(16000, CallRate, 440) // 1 s
			var got []int16
			emit := func(c []byte) error {
				if len(c) != tc.chunk {
					t.Fatalf("chunk of %d bytes, want %d", len(c), tc.chunk)
				}
				switch tc.f.Encoding {
				case Mulaw:
					got = codec.DecodeMulaw(got, c)
				case Alaw:
					got = codec.DecodeAlaw(got, c)
				default:
					got = codec.DecodeL16LE(got, c)
				}
				return nil
			}
			for i := 0; i < len(in); i += 320 {
				if err := o.Write(in[i:i+320], emit); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := o.Flush(emit); err != nil {
				t.Fatal(err)
			}
			if len(got) < tc.f.Rate || len(got) > tc.f.Rate+tc.chunk {
				t.Fatalf("%d samples out for 1 s, want %d plus at most one padded chunk", len(got), tc.f.Rate)
			}
			if c := crossings(got[:tc.f.Rate]); c < 876 || c > 884 {
				t.Fatalf("%d zero crossings in 1 s, want 880 (440 Hz)", c)
			}
			if tc.f.Rate == CallRate && tc.f.Encoding == L16LE && !slices.Equal(got[:len(in)], in) {
				t.Fatal("16 kHz L16 is not passed through unchanged")
			}
			if flushed, _ := o.Flush(emit); flushed {
				t.Fatal("a second Flush emitted audio")
			}
		})
	}
}

func TestOutboundResetDropsAudio(t *testing.T) {
	o, _ := NewOutbound(Format{L16LE, 8000})
	n := 0
	emit := func([]byte) error { n++; return nil }
	_ = o.Write(make([]int16, 100), emit)
	o.Reset()
	if flushed, _ := o.Flush(emit); flushed || n != 0 {
		t.Fatalf("after Reset: flushed %v, %d chunks", flushed, n)
	}
}

func TestInboundFrames(t *testing.T) {
	for _, f := range []Format{{Mulaw, 8000}, {Alaw, 8000}, {L16LE, 8000}, {L16LE, 16000}, {L16LE, 24000}} {
		t.Run(f.String(), func(t *testing.T) {
			in, err := NewInbound(f)
			if err != nil {
				t.Fatal(err)
			}
			src := sine(f.Rate, f.Rate, 440)
			var payload []byte
			switch f.Encoding {
			case Mulaw:
				payload = codec.EncodeMulaw(nil, src)
			case Alaw:
				payload = codec.EncodeAlaw(nil, src)
			default:
				payload = codec.EncodeL16LE(nil, src)
			}
			var got []int16
			for off, i := 0, 0; off < len(payload); i++ {
				n := min([]int{1, 333, 7, 2000}[i%4], len(payload)-off) // odd splits
				in.Write(payload[off:off+n], func(fr []int16) {
					if len(fr) != 320 {
						t.Fatalf("frame of %d samples", len(fr))
					}
					got = append(got, fr...)
				})
				off += n
			}
			if len(got) < CallRate-640 {
				t.Fatalf("%d samples at 16 kHz for 1 s", len(got))
			}
			want := 880 * (len(got) - 320) / CallRate // 440 Hz over what came out
			if c := crossings(got[320:]); c < want-6 || c > want+6 {
				t.Fatalf("%d zero crossings in %d samples, want about %d (440 Hz)", c, len(got)-320, want)
			}
			if f == (Format{L16LE, 16000}) && !slices.Equal(got, src) {
				t.Fatal("16 kHz L16 is not passed through unchanged")
			}
		})
	}
}

func TestFormatValidate(t *testing.T) {
	if (Format{Mulaw, 11025}).Validate() == nil || (Format{Unknown, 8000}).Validate() == nil {
		t.Fatal("bad formats accepted")
	}
	if _, err := NewInbound(Format{}); err == nil {
		t.Fatal("NewInbound accepted the zero Format")
	}
}

func BenchmarkOutboundMulaw(b *testing.B) {
	o, _ := NewOutbound(Format{Mulaw, 8000})
	frame := sine(320, CallRate, 440)
	emit := func([]byte) error { return nil }
	for b.Loop() {
		_ = o.Write(frame, emit)
	}
}

func BenchmarkInboundMulaw(b *testing.B) {
	in, _ := NewInbound(Format{Mulaw, 8000})
	payload := codec.EncodeMulaw(nil, sine(160, 8000, 440))
	for b.Loop() {
		in.Write(payload, func([]int16) {})
	}
}
