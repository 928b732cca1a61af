package media

import (
	"math"
	"testing"
)

func TestRMSdBFS(t *testing.T) {
	square := make([]int16, 320)
	sine := make([]int16, 320)
	for i := range square {
		square[i] = -32768
		if i%2 == 0 {
			square[i] = 32767
		}
		sine[i] = int16(math.Round(32767 * math.Sin(2*math.Pi*float64(i)/16)))
	}
	half := make([]int16, 320)
	for i := range half {
		half[i] = square[i] / 2
	}
	tests := []struct {
		name  string
		frame []int16
		want  float64
	}{
		{"empty", nil, MinDBFS},
		{"silence", make([]int16, 320), MinDBFS},
		{"full-scale square", square, 0},
		{"half-scale square", half, -6.02},
		{"full-scale sine", sine, -3.01},
		{"one LSB", []int16{1}, -90.31},
	}
	for _, tc := range tests {
		if got := RMSdBFS(tc.frame); math.Abs(got-tc.want) > 0.01 {
			t.Errorf("%s: RMSdBFS = %.3f, want %.2f", tc.name, got, tc.want)
		}
	}
}

func BenchmarkRMSdBFS(b *testing.B) {
	frame := make([]int16, SamplesPerFrame(16000))
	for i := range frame {
		frame[i] = int16(i * 37)
	}
	b.ReportAllocs()
	for b.Loop() {
		RMSdBFS(frame)
	}
}
