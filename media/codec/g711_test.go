package codec

import (
	"math"
	"slices"
	"testing"
)

// Known values from the published G.711 tables (as shipped in Sun g711.c and SoX).
func TestMulawKnownValues(t *testing.T) {
	decode := map[byte]int16{
		0x00: -32124, 0x01: -31100, 0x02: -30076, 0x0F: -16764,
		0x10: -15996, 0x11: -15484, 0x1F: -8316,
		0x70: -120, 0x71: -112, 0x7E: -8, 0x7F: 0,
		0x80: 32124, 0x8F: 16764, 0x90: 15996, 0xF0: 120, 0xFE: 8, 0xFF: 0,
	}
	for b, want := range decode {
		if got := MulawToPCM(b); got != want {
			t.Errorf("MulawToPCM(%#02x) = %d, want %d", b, got, want)
		}
	}
	encode := map[int16]byte{
		0: 0xFF, 1: 0xFF, 3: 0xFF, 4: 0xFE, -1: 0x7E, -4: 0x7E, -5: 0x7E,
		8: 0xFE, -8: 0x7E, 32767: 0x80, -32768: 0x00, 32124: 0x80, -32124: 0x00,
		16764: 0x8F, 1000: 0xCE, -1000: 0x4E,
	}
	for s, want := range encode {
		if got := PCMToMulaw(s); got != want {
			t.Errorf("PCMToMulaw(%d) = %#02x, want %#02x", s, got, want)
		}
	}
}

func TestAlawKnownValues(t *testing.T) {
	decode := map[byte]int16{
		0x00: -5504, 0x01: -5248, 0x02: -6016, 0x03: -5760, 0x20: -22016, 0x21: -20992,
		0x55: -8, 0xD5: 8, 0x54: -24, 0xD4: 24, 0x2A: -32256, 0xAA: 32256,
	}
	for b, want := range decode {
		if got := AlawToPCM(b); got != want {
			t.Errorf("AlawToPCM(%#02x) = %d, want %d", b, got, want)
		}
	}
	encode := map[int16]byte{
		0: 0xD5, 7: 0xD5, 8: 0xD5, 16: 0xD4, -1: 0x55, -8: 0x55, -9: 0x55, -17: 0x54,
		32767: 0xAA, -32768: 0x2A, 32256: 0xAA, -32256: 0x2A, 1000: 0xFA, -1000: 0x7A,
	}
	for s, want := range encode {
		if got := PCMToAlaw(s); got != want {
			t.Errorf("PCMToAlaw(%d) = %#02x, want %#02x", s, got, want)
		}
	}
}

// TestTablesMatchReference checks every 16-bit input against the reference
// encoders, which the tables were built from; this guards the table indexing.
func TestTablesMatchReference(t *testing.T) {
	for i := math.MinInt16; i <= math.MaxInt16; i++ {
		s := int16(i)
		if got, want := PCMToMulaw(s), linear2ulaw(s); got != want {
			t.Fatalf("PCMToMulaw(%d) = %#02x, reference %#02x", s, got, want)
		}
		if got, want := PCMToAlaw(s), linear2alaw(s); got != want {
			t.Fatalf("PCMToAlaw(%d) = %#02x, reference %#02x", s, got, want)
		}
	}
}

func TestG711RoundTrip(t *testing.T) {
	for i := range 256 {
		b := byte(i)
		if got := PCMToAlaw(AlawToPCM(b)); got != b {
			t.Errorf("A-law code %#02x: decode then encode gives %#02x", b, got)
		}
		want := b
		if b == 0x7F { // μ-law "negative zero" decodes to 0, which encodes as 0xFF
			want = 0xFF
		}
		if got := PCMToMulaw(MulawToPCM(b)); got != want {
			t.Errorf("μ-law code %#02x: decode then encode gives %#02x, want %#02x", b, got, want)
		}
	}
}

// TestG711QuantisationError checks that every sample comes back close to itself and
// that the companding curve never runs backwards.
func TestG711QuantisationError(t *testing.T) {
	type law struct {
		name   string
		encode func(int16) byte
		decode func(byte) int16
		limit  int // largest magnitude the law represents
	}
	for _, l := range []law{
		{"mulaw", PCMToMulaw, MulawToPCM, 32124},
		{"alaw", PCMToAlaw, AlawToPCM, 32256},
	} {
		prev := math.MinInt
		for i := math.MinInt16; i <= math.MaxInt16; i++ {
			got := int(l.decode(l.encode(int16(i))))
			if got < prev {
				t.Fatalf("%s: output decreases at input %d (%d after %d)", l.name, i, got, prev)
			}
			prev = got
			mag := min(max(i, -l.limit), l.limit)
			err := got - mag
			// The step doubles every segment: the error stays within about 1/32
			// of the magnitude, plus half the smallest step.
			if bound := abs(mag)/32 + 8; abs(err) > bound {
				t.Fatalf("%s: input %d decodes to %d, error %d > %d", l.name, i, got, err, bound)
			}
		}
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func TestSliceFunctionsAppend(t *testing.T) {
	pcm := []int16{0, 1, -1, 1000, -1000, 32767, -32768}
	prefix := []byte{0xAB}
	mu := EncodeMulaw(slices.Clone(prefix), pcm)
	al := EncodeAlaw(slices.Clone(prefix), pcm)
	if mu[0] != 0xAB || al[0] != 0xAB || len(mu) != 1+len(pcm) || len(al) != 1+len(pcm) {
		t.Fatalf("encoders did not append: %x %x", mu, al)
	}
	for i, s := range pcm {
		if mu[1+i] != PCMToMulaw(s) || al[1+i] != PCMToAlaw(s) {
			t.Fatalf("sample %d: slice and single-sample encoders disagree", i)
		}
	}
	dm := DecodeMulaw([]int16{7}, mu[1:])
	da := DecodeAlaw([]int16{7}, al[1:])
	if dm[0] != 7 || da[0] != 7 || len(dm) != 1+len(pcm) || len(da) != 1+len(pcm) {
		t.Fatalf("decoders did not append: %v %v", dm, da)
	}
	for i := range pcm {
		if dm[1+i] != MulawToPCM(mu[1+i]) || da[1+i] != AlawToPCM(al[1+i]) {
			t.Fatalf("sample %d: slice and single-sample decoders disagree", i)
		}
	}
}

func TestG711DoesNotAllocate(t *testing.T) {
	pcm := make([]int16, 160)
	enc := make([]byte, 0, 160)
	dec := make([]int16, 0, 160)
	allocs := testing.AllocsPerRun(100, func() {
		enc = EncodeMulaw(enc[:0], pcm)
		dec = DecodeMulaw(dec[:0], enc)
		enc = EncodeAlaw(enc[:0], pcm)
		dec = DecodeAlaw(dec[:0], enc)
	})
	if allocs != 0 {
		t.Fatalf("G.711 conversion allocates %.1f times per frame", allocs)
	}
}

func benchFrame(n int) []int16 {
	pcm := make([]int16, n)
	for i := range pcm {
		pcm[i] = int16(12000 * math.Sin(float64(i)/3))
	}
	return pcm
}

func BenchmarkEncodeMulaw(b *testing.B) {
	pcm := benchFrame(160)
	dst := make([]byte, 0, 160)
	b.ReportAllocs()
	for b.Loop() {
		dst = EncodeMulaw(dst[:0], pcm)
	}
}

func BenchmarkDecodeMulaw(b *testing.B) {
	src := EncodeMulaw(nil, benchFrame(160))
	dst := make([]int16, 0, 160)
	b.ReportAllocs()
	for b.Loop() {
		dst = DecodeMulaw(dst[:0], src)
	}
}

func BenchmarkEncodeAlaw(b *testing.B) {
	pcm := benchFrame(160)
	dst := make([]byte, 0, 160)
	b.ReportAllocs()
	for b.Loop() {
		dst = EncodeAlaw(dst[:0], pcm)
	}
}

func BenchmarkDecodeAlaw(b *testing.B) {
	src := EncodeAlaw(nil, benchFrame(160))
	dst := make([]int16, 0, 160)
	b.ReportAllocs()
	for b.Loop() {
		dst = DecodeAlaw(dst[:0], src)
	}
}
