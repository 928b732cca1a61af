package bench

import (
	"math"
	"math/rand/v2"

	"github.com/parley-voice/parley/media"
)

// script is the audio every simulated caller sends: one utterance of speech-like
// signal and a loop of line noise, cut into 20 ms frames. The frames are shared
// and never modified; each post copies one into a fresh buffer, as a transport
// that decodes each packet into a new frame does.
type script struct {
	spf    int
	speech [][]int16
	noise  [][]int16
}

// newScript builds the caller's audio: a voiced harmonic series at 140 Hz with a
// 4 Hz syllable envelope and some breath noise, scaled to speechDB RMS, and white
// noise at noiseDB.
func newScript(rate, speechFrames int, speechDB, noiseDB float64, seed uint64) *script {
	spf := media.SamplesPerFrame(rate)
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	n := speechFrames * spf
	sig := make([]float64, n)
	var sum float64
	for i := range sig {
		t := float64(i) / float64(rate)
		env := 0.7 + 0.3*math.Sin(2*math.Pi*4*t)
		var v float64
		for h := 1; h <= 8; h++ {
			v += math.Sin(2*math.Pi*140*float64(h)*t) / float64(h)
		}
		v = env*v + 0.2*rng.NormFloat64()
		sig[i] = v
		sum += v * v
	}
	gain := dbfsAmplitude(speechDB) / math.Sqrt(sum/float64(n))
	s := &script{spf: spf}
	pcm := make([]int16, n)
	for i, v := range sig {
		pcm[i] = clamp16(v * gain)
	}
	for f := 0; f < speechFrames; f++ {
		s.speech = append(s.speech, pcm[f*spf:(f+1)*spf:(f+1)*spf])
	}
	const noiseFrames = 50
	noise := make([]int16, noiseFrames*spf)
	amp := dbfsAmplitude(noiseDB)
	for i := range noise {
		noise[i] = clamp16(amp * rng.NormFloat64())
	}
	for f := 0; f < noiseFrames; f++ {
		s.noise = append(s.noise, noise[f*spf:(f+1)*spf:(f+1)*spf])
	}
	return s
}

// dbfsAmplitude is the RMS sample value of a signal at db dBFS.
func dbfsAmplitude(db float64) float64 { return 32768 * math.Pow(10, db/20) }

func clamp16(v float64) int16 {
	return int16(max(-32768, min(32767, math.Round(v))))
}
