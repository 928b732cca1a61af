package vad

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/parley-voice/parley/media"
)

// signal builds synthetic test audio at one sample rate.
type signal struct {
	rate int
	rng  *rand.Rand
	pcm  []int16
}

func newSignal(rate int) *signal {
	return &signal{rate: rate, rng: rand.New(rand.NewPCG(7, uint64(rate)))}
}

func (s *signal) samples(d time.Duration) int {
	return int(int64(d) * int64(s.rate) / int64(time.Second))
}

// amp converts an RMS level in dBFS to a linear RMS in sample units.
func amp(dBFS float64) float64 { return 32768 * math.Pow(10, dBFS/20) }

func (s *signal) silence(d time.Duration) *signal {
	s.pcm = append(s.pcm, make([]int16, s.samples(d))...)
	return s
}

// noise appends Gaussian white noise at an RMS level of dBFS.
func (s *signal) noise(d time.Duration, dBFS float64) *signal {
	a := amp(dBFS)
	for range s.samples(d) {
		s.pcm = append(s.pcm, clip(s.rng.NormFloat64()*a))
	}
	return s
}

// tone appends a sine at an RMS level of dBFS.
func (s *signal) tone(d time.Duration, freq, dBFS float64) *signal {
	a := amp(dBFS) * math.Sqrt2
	for i := range s.samples(d) {
		s.pcm = append(s.pcm, clip(a*math.Sin(2*math.Pi*freq*float64(i)/float64(s.rate))))
	}
	return s
}

// speech appends a speech-like sound: a 140 Hz harmonic complex with a 4 Hz
// syllable envelope that dips 20 dB between syllables, peaking at dBFS RMS.
func (s *signal) speech(d time.Duration, dBFS float64) *signal {
	a := amp(dBFS) * math.Sqrt2 / 2
	for i := range s.samples(d) {
		t := float64(i) / float64(s.rate)
		var v float64
		for h := 1.0; h <= 8 && 140*h < float64(s.rate)/2; h++ {
			v += math.Sin(2*math.Pi*140*h*t) / h
		}
		env := 0.1 + 0.9*math.Pow(math.Sin(math.Pi*4*t), 2)
		s.pcm = append(s.pcm, clip(a*env*v+s.rng.NormFloat64()*a*0.01))
	}
	return s
}

// add mixes another signal of the same rate into this one from its start.
func (s *signal) add(o *signal) *signal {
	for i := range min(len(s.pcm), len(o.pcm)) {
		s.pcm[i] = clip(float64(s.pcm[i]) + float64(o.pcm[i]))
	}
	return s
}

func clip(v float64) int16 { return int16(max(-32768, min(32767, math.Round(v)))) }

// timedEvent is an event with the end time of the frame that produced it.
type timedEvent struct {
	ev Event
	at time.Duration
}

// run feeds pcm in 20 ms frames to process and returns the events.
func run(pcm []int16, rate int, process func([]int16) Event) []timedEvent {
	n := media.SamplesPerFrame(rate)
	var evs []timedEvent
	for i := 0; i+n <= len(pcm); i += n {
		if ev := process(pcm[i : i+n]); ev != None {
			evs = append(evs, timedEvent{ev, media.DurationOf(i+n, rate)})
		}
	}
	return evs
}

func kinds(evs []timedEvent) []Event {
	out := make([]Event, len(evs))
	for i, e := range evs {
		out[i] = e.ev
	}
	return out
}
