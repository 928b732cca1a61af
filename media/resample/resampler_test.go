package resample

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/parley-voice/parley/media"
)

var testRates = []int{8000, 16000, 22050, 24000, 44100, 48000}

// oddPairs have reduced ratios with more than maxPhases phases, or awkward factors.
var oddPairs = [][2]int{{44100, 48000}, {11025, 8000}, {8001, 8000}, {48000, 44101}, {16000, 12345}}

func allPairs() [][2]int {
	var ps [][2]int
	for _, in := range testRates {
		for _, out := range testRates {
			ps = append(ps, [2]int{in, out})
		}
	}
	return append(ps, oddPairs...)
}

func tone(n, rate int, freq, amp float64) []int16 {
	x := make([]int16, n)
	for i := range x {
		x[i] = int16(math.Round(amp * math.Sin(2*math.Pi*freq*float64(i)/float64(rate))))
	}
	return x
}

func dB(ratio float64) float64 { return 10 * math.Log10(ratio) }

func TestNewRejectsBadRates(t *testing.T) {
	for _, p := range [][2]int{{0, 8000}, {8000, -1}, {999, 8000}, {8000, MaxRate + 1}} {
		if _, err := New(p[0], p[1]); !errors.Is(err, ErrInvalidRate) {
			t.Errorf("New(%d, %d) error = %v, want ErrInvalidRate", p[0], p[1], err)
		}
	}
	if _, err := Convert([]int16{1}, 8000, 0); !errors.Is(err, ErrInvalidRate) {
		t.Errorf("Convert with rate 0: error = %v, want ErrInvalidRate", err)
	}
}

func TestSameRateCopies(t *testing.T) {
	r, err := New(16000, 16000)
	if err != nil {
		t.Fatal(err)
	}
	src := []int16{1, -2, 3, 32767, -32768}
	got := r.Process(nil, src)
	if !slices.Equal(got, src) {
		t.Fatalf("Process = %v, want %v", got, src)
	}
	if got := r.Flush(nil); len(got) != 0 {
		t.Fatalf("Flush = %v, want nothing", got)
	}
	if in, out := r.Ratio(); in != 1 || out != 1 {
		t.Fatalf("Ratio = %d:%d, want 1:1", in, out)
	}
}

func TestRatio(t *testing.T) {
	r, err := New(22050, 16000)
	if err != nil {
		t.Fatal(err)
	}
	if in, out := r.Ratio(); in != 441 || out != 320 {
		t.Fatalf("Ratio = %d:%d, want 441:320", in, out)
	}
	if in, out := r.Rates(); in != 22050 || out != 16000 {
		t.Fatalf("Rates = %d, %d", in, out)
	}
}

func TestOutputLength(t *testing.T) {
	for _, p := range allPairs() {
		for _, n := range []int{0, 1, 7, 441, 1000, 4410} {
			got, err := Convert(make([]int16, n), p[0], p[1])
			if err != nil {
				t.Fatal(err)
			}
			want := int((int64(n)*int64(p[1]) + int64(p[0]) - 1) / int64(p[0]))
			if len(got) != want {
				t.Errorf("%d->%d, %d samples: got %d output samples, want %d", p[0], p[1], n, len(got), want)
			}
		}
	}
}

// TestStreamingEqualsOneShot feeds the same signal in random-sized pieces and in
// 20 ms frames and requires bit-identical output to one Convert call.
func TestStreamingEqualsOneShot(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, p := range allPairs() {
		t.Run(fmt.Sprintf("%d-%d", p[0], p[1]), func(t *testing.T) {
			src := make([]int16, p[0]/2+37)
			for i := range src {
				src[i] = int16(rng.IntN(20000) - 10000)
			}
			want, err := Convert(src, p[0], p[1])
			if err != nil {
				t.Fatal(err)
			}
			r, _ := New(p[0], p[1])
			for round := range 2 { // the second round checks Flush left a clean state
				var got []int16
				if round == 0 {
					frame := media.SamplesPerFrame(p[0])
					for rest := src; len(rest) > 0; {
						n := min(frame, len(rest))
						got = r.Process(got, rest[:n])
						rest = rest[n:]
					}
				} else {
					for rest := src; len(rest) > 0; {
						n := min(1+rng.IntN(3000), len(rest))
						got = r.Process(got, rest[:n])
						rest = rest[n:]
					}
				}
				got = r.Flush(got)
				if !slices.Equal(got, want) {
					t.Fatalf("round %d: streaming output (%d samples) differs from one-shot (%d samples)", round, len(got), len(want))
				}
			}
		})
	}
}

func TestResetStartsNewStream(t *testing.T) {
	src := tone(2000, 16000, 440, 8000)
	want, _ := Convert(src, 16000, 8000)
	r, _ := New(16000, 8000)
	r.Process(nil, tone(999, 16000, 3000, 20000))
	r.Reset()
	got := r.Flush(r.Process(nil, src))
	if !slices.Equal(got, want) {
		t.Fatal("output after Reset differs from a fresh resampler")
	}
}

// TestToneFidelity checks that a 1 kHz tone comes out at the right amplitude, in
// the right place in time, and with little distortion: the output is compared
// against the ideal sine sampled at the output rate.
func TestToneFidelity(t *testing.T) {
	const f, amp = 1000.0, 10000.0
	for _, p := range allPairs() {
		in, out := p[0], p[1]
		src := tone(in, in, f, amp) // one second
		got, err := Convert(src, in, out)
		if err != nil {
			t.Fatal(err)
		}
		var sig, noise float64
		// Skip the filter's start-up and tail (100 ms each side).
		for n := out / 10; n < len(got)-out/10; n++ {
			ideal := amp * math.Sin(2*math.Pi*f*float64(n)/float64(out))
			d := float64(got[n]) - ideal
			sig += ideal * ideal
			noise += d * d
		}
		snr := dB(sig / noise)
		t.Logf("%d->%d: 1 kHz SNR %.1f dB", in, out, snr)
		if snr < 60 {
			t.Errorf("%d->%d: 1 kHz tone SNR %.1f dB, want >= 60 dB", in, out, snr)
		}
	}
}

// TestAntiAliasing checks that downsampling removes a tone above the output
// Nyquist frequency instead of folding it back into the band.
func TestAntiAliasing(t *testing.T) {
	for _, p := range allPairs() {
		in, out := p[0], p[1]
		if out >= in || float64(out)/float64(in) > 0.9 {
			continue
		}
		for _, rel := range []float64{1.15, 1.5} { // multiples of the output Nyquist
			f := rel * float64(out) / 2
			if f >= 0.48*float64(in) {
				continue
			}
			const amp = 20000.0
			got, err := Convert(tone(in, in, f, amp), in, out)
			if err != nil {
				t.Fatal(err)
			}
			var e float64
			mid := got[out/10 : len(got)-out/10]
			for _, v := range mid {
				e += float64(v) * float64(v)
			}
			att := dB(e / float64(len(mid)) / (amp * amp / 2))
			t.Logf("%d->%d: %.0f Hz attenuated %.1f dB", in, out, f, att)
			if att > -60 {
				t.Errorf("%d->%d: %.0f Hz tone attenuated only %.1f dB, want <= -60 dB", in, out, f, att)
			}
		}
	}
}

func TestDCAndClipping(t *testing.T) {
	src := make([]int16, 4000)
	for i := range src {
		src[i] = 32767
	}
	got, _ := Convert(src, 8000, 22050)
	for n := 100; n < len(got)-100; n++ {
		if got[n] < 32760 {
			t.Fatalf("full-scale DC sample %d = %d", n, got[n])
		}
	}
	// A full-scale square wave overshoots (Gibbs); output must saturate, not wrap.
	for i := range src {
		if (i/20)%2 == 0 {
			src[i] = 32767
		} else {
			src[i] = -32768
		}
	}
	got, _ = Convert(src, 8000, 48000)
	for n := 1; n < len(got); n++ {
		if d := int(got[n]) - int(got[n-1]); d > 40000 || d < -40000 {
			t.Fatalf("jump of %d between samples %d and %d: wrapped instead of saturating", d, n-1, n)
		}
	}
}

// TestProcessExactBuffer: a dst sized for exactly one frame of output, reused
// without keeping Process's result, must not make Process allocate.
func TestProcessExactBuffer(t *testing.T) {
	r, _ := New(16000, 8000)
	frame := tone(320, 16000, 440, 1000)
	buf := make([]int16, 0, 160)
	r.Process(buf, frame) // prime: the first call holds back the filter delay
	allocs := testing.AllocsPerRun(100, func() {
		if out := r.Process(buf[:0], frame); len(out) != 160 {
			t.Fatalf("%d samples out, want 160", len(out))
		}
	})
	if allocs != 0 {
		t.Fatalf("Process allocates %.1f times with an exactly sized dst", allocs)
	}
}

func TestProcessDoesNotAllocate(t *testing.T) {
	for _, p := range allPairs() {
		r, _ := New(p[0], p[1])
		frame := tone(media.SamplesPerFrame(p[0]), p[0], 440, 1000)
		dst := make([]int16, 0, r.MaxOutput(len(frame)))
		allocs := testing.AllocsPerRun(100, func() {
			dst = r.Process(dst[:0], frame)
		})
		if allocs != 0 {
			t.Errorf("%d->%d: Process allocates %.1f times per frame", p[0], p[1], allocs)
		}
	}
}

func BenchmarkProcessFrame(b *testing.B) {
	pairs := [][2]int{{8000, 16000}, {16000, 8000}, {22050, 8000}, {22050, 16000}, {22050, 48000}, {48000, 16000}, {16000, 48000}, {44100, 48000}}
	for _, p := range pairs {
		b.Run(fmt.Sprintf("%d-%d", p[0], p[1]), func(b *testing.B) {
			r, _ := New(p[0], p[1])
			frame := tone(media.SamplesPerFrame(p[0]), p[0], 440, 1000)
			dst := make([]int16, 0, r.MaxOutput(len(frame)))
			b.ReportAllocs()
			b.SetBytes(int64(2 * len(frame)))
			for b.Loop() {
				dst = r.Process(dst[:0], frame)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(frame)), "ns/insample")
		})
	}
}

func BenchmarkNewCached(b *testing.B) {
	New(22050, 16000) // build the shared table once
	b.ReportAllocs()
	for b.Loop() {
		New(22050, 16000)
	}
}
