package bench

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-voice/parley/media"
)

// The baselines below are the least work the media hot paths could do on the
// same data, run in the same `go test -bench` invocation as the real benchmarks
// (docs/BENCHMARKS.md shows each real figure as a ratio to its baseline).

func baselineFrame(n int) []int16 {
	f := make([]int16, n)
	for i := range f {
		f[i] = int16(12000 * math.Sin(float64(i)/3))
	}
	return f
}

var sinkInt int64

// BenchmarkBaselineCopyFrame copies one 20 ms frame at each input rate of the
// resampler benchmarks: the floor for anything that touches every sample.
func BenchmarkBaselineCopyFrame(b *testing.B) {
	for _, rate := range []int{8000, 16000, 22050, 44100, 48000} {
		b.Run(fmt.Sprint(rate), func(b *testing.B) {
			src := baselineFrame(media.SamplesPerFrame(rate))
			dst := make([]int16, len(src))
			b.ReportAllocs()
			b.SetBytes(int64(2 * len(src)))
			for b.Loop() {
				copy(dst, src)
			}
		})
	}
}

// BenchmarkBaselineNarrow turns 160 samples into 160 bytes with a shift: the
// floor for G.711 encoding of an 8 kHz frame.
func BenchmarkBaselineNarrow(b *testing.B) {
	src := baselineFrame(160)
	dst := make([]byte, len(src))
	b.ReportAllocs()
	for b.Loop() {
		for i, s := range src {
			dst[i] = byte(s >> 8)
		}
	}
}

// BenchmarkBaselineWiden turns 160 bytes into 160 samples with a shift: the
// floor for G.711 decoding.
func BenchmarkBaselineWiden(b *testing.B) {
	src := make([]byte, 160)
	for i := range src {
		src[i] = byte(i * 7)
	}
	dst := make([]int16, len(src))
	b.ReportAllocs()
	for b.Loop() {
		for i, c := range src {
			dst[i] = int16(c) << 8
		}
	}
}

// BenchmarkBaselineSumSquares sums the squares of one 20 ms frame at 16 kHz:
// the floor for an energy VAD (media.RMSdBFS adds one log10).
func BenchmarkBaselineSumSquares(b *testing.B) {
	f := baselineFrame(320)
	b.ReportAllocs()
	for b.Loop() {
		var sum int64
		for _, s := range f {
			sum += int64(s) * int64(s)
		}
		sinkInt += sum
	}
}

// BenchmarkBaselineMutex is one uncontended lock and unlock; the pacing
// player's per-frame step takes four such pairs plus a timer and a channel.
func BenchmarkBaselineMutex(b *testing.B) {
	var mu sync.Mutex
	for b.Loop() {
		mu.Lock()
		mu.Unlock() //nolint:staticcheck // the empty section is what is measured
	}
}

// BenchmarkBaselineChanHandoff is one value handed to another goroutine and
// back over unbuffered channels, per direction: the cost of waking a goroutine,
// which every message between a call's goroutines pays.
func BenchmarkBaselineChanHandoff(b *testing.B) {
	ping, pong := make(chan int), make(chan int)
	go func() {
		for v := range ping {
			pong <- v
		}
		close(pong)
	}()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ping <- i
		<-pong
	}
	b.StopTimer()
	close(ping)
	<-pong
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(2*b.N), "ns/handoff")
}

// BenchmarkBaselineTimer20ms sleeps 20 ms on a time.Timer, as a player does
// between frames, and reports how late it woke: the floor for pacing jitter on
// this machine.
func BenchmarkBaselineTimer20ms(b *testing.B) {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	late := make([]time.Duration, 0, b.N)
	for b.Loop() {
		start := time.Now()
		t.Reset(20 * time.Millisecond)
		<-t.C
		late = append(late, time.Since(start)-20*time.Millisecond)
	}
	slices.Sort(late)
	q := func(p float64) float64 { return float64(late[int(p*float64(len(late)-1))].Microseconds()) }
	b.ReportMetric(q(0.5), "µs_late_p50")
	b.ReportMetric(q(0.99), "µs_late_p99")
}

// BenchmarkBaselineBuilder appends the chunker benchmark's tokens to a
// strings.Builder and reads it back: the floor for any sentence chunker.
func BenchmarkBaselineBuilder(b *testing.B) {
	tokens := strings.Fields("Thanks for calling Parley Dental. I can book, move or cancel an appointment. What would you like to do today?")
	b.ReportAllocs()
	for b.Loop() {
		var sb strings.Builder
		for _, tok := range tokens {
			sb.WriteString(tok + " ")
		}
		sinkInt += int64(len(sb.String()))
	}
}

// BenchmarkBaselineWakeIdle measures one goroutine hop when the machine is
// otherwise idle: after a 2 ms pause, a goroutine readies another and keeps
// its own core busy for 1 ms, so the woken one must start on the other core,
// which has to be woken first. That is what each hop of a turn (actor → LLM
// goroutine → actor → TTS worker → player) can cost at low load.
func BenchmarkBaselineWakeIdle(b *testing.B) {
	if runtime.GOMAXPROCS(0) < 2 {
		b.Skip("needs two Ps")
	}
	ch := make(chan time.Time, 1)
	got := make(chan time.Duration, 1)
	go func() {
		for t := range ch {
			got <- time.Since(t)
		}
		close(got)
	}()
	var lat []time.Duration
	for b.Loop() {
		time.Sleep(2 * time.Millisecond)
		start := time.Now()
		ch <- start
		for time.Since(start) < time.Millisecond {
			// Stay busy: the woken goroutine cannot run on this core.
		}
		lat = append(lat, <-got)
	}
	close(ch)
	<-got
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) }
	b.ReportMetric(q(0.5), "µs_wake_p50")
	b.ReportMetric(q(0.99), "µs_wake_p99")
}
