package pcmstream

import (
	"testing"

	"github.com/parley-voice/parley/media/codec"
)

// Pieces split in the middle of samples give back exactly the samples.
func TestOddSplits(t *testing.T) {
	want := []int16{1, -2, 300, -32768, 32767, 42}
	b := codec.EncodeL16LE(nil, want)
	s, err := New(16000, 16000)
	if err != nil {
		t.Fatal(err)
	}
	var got []int16
	sink := func(p []int16) error { got = append(got, p...); return nil }
	for _, piece := range [][]byte{b[:3], b[3:4], b[4:9], b[9:]} {
		if err := s.Write(piece, sink); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(sink); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

func TestResamples(t *testing.T) {
	s, err := New(24000, 16000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	sink := func(p []int16) error { n += len(p); return nil }
	if err := s.Write(make([]byte, 2*24000), sink); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(sink); err != nil {
		t.Fatal(err)
	}
	if n != 16000 {
		t.Fatalf("one second at 24 kHz gave %d samples at 16 kHz", n)
	}
}
