package resample

import (
	"math"
	"sync"
)

// Filter design parameters. They trade quality for per-sample cost; these values give
// roughly 80 dB of stopband attenuation with the passband flat to about 0.8 of the
// output Nyquist frequency when downsampling.
const (
	// zeroCrossings is how many zero crossings of the sinc each side of the centre
	// the filter keeps.
	zeroCrossings = 20
	// rolloff places the -6 dB cutoff as a fraction of the lower Nyquist frequency,
	// leaving room for the transition band below it.
	rolloff = 0.9
	// kaiserBeta sets the Kaiser window shape (about 80 dB sidelobe rejection).
	kaiserBeta = 8.0
	// maxPhases bounds the table size for rate pairs whose reduced ratio has a large
	// denominator; such pairs round the fractional position to the nearest of
	// maxPhases phases (timing error below 1/8192 of a sample).
	maxPhases = 4096
)

// filterBank holds the precomputed polyphase filter for one reduced ratio L/M: for
// each of phases sub-filters, taps coefficients, stored contiguously. It is
// immutable once built and shared between Resamplers.
type filterBank struct {
	up, down int // L (outputs) and M (inputs) of the reduced ratio
	phases   int // number of sub-filters: L, or maxPhases when L is larger
	taps     int // coefficients per sub-filter (even)
	coef     []float32
}

type bankKey struct{ up, down int }

var (
	banksMu sync.Mutex
	banks   = map[bankKey]*filterBank{}
)

// bankFor returns the shared filter bank for the reduced ratio up/down, building it
// on first use.
func bankFor(up, down int) *filterBank {
	k := bankKey{up, down}
	banksMu.Lock()
	defer banksMu.Unlock()
	if b, ok := banks[k]; ok {
		return b
	}
	b := newFilterBank(up, down)
	banks[k] = b
	return b
}

// newFilterBank designs a Kaiser-windowed sinc low-pass whose cutoff sits below the
// Nyquist frequency of the lower of the two rates, sampled at every phase the
// resampler can need. Time is measured in input samples.
func newFilterBank(up, down int) *filterBank {
	// Cutoff in cycles per input sample.
	fc := 0.5 * rolloff
	if up < down {
		fc *= float64(up) / float64(down)
	}
	half := int(math.Ceil(zeroCrossings / (2 * fc)))
	taps := 2 * half
	phases := up
	if phases > maxPhases {
		phases = maxPhases
	}
	b := &filterBank{up: up, down: down, phases: phases, taps: taps, coef: make([]float32, phases*taps)}
	w := float64(half)
	i0b := besselI0(kaiserBeta)
	row := make([]float64, taps)
	for q := 0; q < phases; q++ {
		frac := float64(q) / float64(phases)
		sum := 0.0
		for k := 0; k < taps; k++ {
			// Tap k multiplies input sample i-half+1+k for an output at i+frac.
			t := frac + float64(half-1-k)
			v := 0.0
			if math.Abs(t) < w {
				r := t / w
				v = 2 * fc * sinc(2*fc*t) * besselI0(kaiserBeta*math.Sqrt(1-r*r)) / i0b
			}
			row[k] = v
			sum += v
		}
		// Normalise every phase to unity DC gain so a constant input stays constant
		// whatever the phase.
		for k, v := range row {
			b.coef[q*taps+k] = float32(v / sum)
		}
	}
	return b
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	return math.Sin(math.Pi*x) / (math.Pi * x)
}

// besselI0 is the zeroth-order modified Bessel function of the first kind, by its
// power series (converges quickly for the arguments a Kaiser window uses).
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	q := x * x / 4
	for k := 1; k < 200; k++ {
		term *= q / float64(k*k)
		sum += term
		if term < sum*1e-17 {
			break
		}
	}
	return sum
}
