package codec

import (
	"math"
	"slices"
	"testing"
)

func TestL16ByteOrder(t *testing.T) {
	pcm := []int16{0x0102, -2, math.MaxInt16, math.MinInt16}
	le := EncodeL16LE(nil, pcm)
	be := EncodeL16BE(nil, pcm)
	wantLE := []byte{0x02, 0x01, 0xFE, 0xFF, 0xFF, 0x7F, 0x00, 0x80}
	wantBE := []byte{0x01, 0x02, 0xFF, 0xFE, 0x7F, 0xFF, 0x80, 0x00}
	if !slices.Equal(le, wantLE) {
		t.Errorf("EncodeL16LE = % x, want % x", le, wantLE)
	}
	if !slices.Equal(be, wantBE) {
		t.Errorf("EncodeL16BE = % x, want % x", be, wantBE)
	}
	if got := DecodeL16LE(nil, wantLE); !slices.Equal(got, pcm) {
		t.Errorf("DecodeL16LE = %v, want %v", got, pcm)
	}
	if got := DecodeL16BE(nil, wantBE); !slices.Equal(got, pcm) {
		t.Errorf("DecodeL16BE = %v, want %v", got, pcm)
	}
}

func TestL16OddByteIgnoredAndAppends(t *testing.T) {
	got := DecodeL16LE([]int16{9}, []byte{1, 0, 2, 0, 3})
	if !slices.Equal(got, []int16{9, 1, 2}) {
		t.Errorf("DecodeL16LE with odd length = %v", got)
	}
	got = DecodeL16BE([]int16{9}, []byte{0, 1, 0, 2, 3})
	if !slices.Equal(got, []int16{9, 1, 2}) {
		t.Errorf("DecodeL16BE with odd length = %v", got)
	}
	b := EncodeL16LE([]byte{0xEE}, []int16{1})
	if !slices.Equal(b, []byte{0xEE, 1, 0}) {
		t.Errorf("EncodeL16LE did not append: % x", b)
	}
}

func TestL16RoundTripAllValues(t *testing.T) {
	pcm := make([]int16, 1<<16)
	for i := range pcm {
		pcm[i] = int16(i)
	}
	if got := DecodeL16LE(nil, EncodeL16LE(nil, pcm)); !slices.Equal(got, pcm) {
		t.Error("little-endian round trip changed samples")
	}
	if got := DecodeL16BE(nil, EncodeL16BE(nil, pcm)); !slices.Equal(got, pcm) {
		t.Error("big-endian round trip changed samples")
	}
}

func TestL16DoesNotAllocate(t *testing.T) {
	pcm := make([]int16, 320)
	b := make([]byte, 0, 640)
	s := make([]int16, 0, 320)
	allocs := testing.AllocsPerRun(100, func() {
		b = EncodeL16LE(b[:0], pcm)
		s = DecodeL16LE(s[:0], b)
		b = EncodeL16BE(b[:0], pcm)
		s = DecodeL16BE(s[:0], b)
	})
	if allocs != 0 {
		t.Fatalf("L16 conversion allocates %.1f times per frame", allocs)
	}
}

func BenchmarkEncodeL16LE(b *testing.B) {
	pcm := benchFrame(320)
	dst := make([]byte, 0, 640)
	b.ReportAllocs()
	for b.Loop() {
		dst = EncodeL16LE(dst[:0], pcm)
	}
}

func BenchmarkDecodeL16LE(b *testing.B) {
	src := EncodeL16LE(nil, benchFrame(320))
	dst := make([]int16, 0, 320)
	b.ReportAllocs()
	for b.Loop() {
		dst = DecodeL16LE(dst[:0], src)
	}
}

func BenchmarkEncodeL16BE(b *testing.B) {
	pcm := benchFrame(320)
	dst := make([]byte, 0, 640)
	b.ReportAllocs()
	for b.Loop() {
		dst = EncodeL16BE(dst[:0], pcm)
	}
}

func BenchmarkDecodeL16BE(b *testing.B) {
	src := EncodeL16BE(nil, benchFrame(320))
	dst := make([]int16, 0, 320)
	b.ReportAllocs()
	for b.Loop() {
		dst = DecodeL16BE(dst[:0], src)
	}
}
