package resample

import "fmt"

// chunkSize is how many input samples the Resampler filters per internal pass; its
// history buffer holds one chunk plus one filter length, so memory stays bounded
// whatever the size of the slices passed to Process.
const chunkSize = 1024

// Resampler converts a stream of mono PCM16 samples from one rate to another. It
// keeps the filter history between calls, so any split of the input into Process
// calls yields the same output. A Resampler is not safe for concurrent use.
type Resampler struct {
	inRate, outRate int
	bank            *filterBank // nil when the rates are equal

	// Output n sits at input position n*down/up; it is tracked incrementally as an
	// integer index pos into hist plus a phase numerator in [0, up).
	step, stepFrac int // down/up and down%up
	pos, phase     int

	hist []float32 // input history; hist[pos-half+1 : pos+half+1] feeds the next output
	half int       // taps/2
}

// New returns a Resampler from inRate to outRate Hz. Equal rates give a Resampler
// that copies its input.
func New(inRate, outRate int) (*Resampler, error) {
	for _, r := range [...]int{inRate, outRate} {
		if r < MinRate || r > MaxRate {
			return nil, fmt.Errorf("creating resampler %d Hz -> %d Hz: %w: %d Hz not in [%d, %d]",
				inRate, outRate, ErrInvalidRate, r, MinRate, MaxRate)
		}
	}
	r := &Resampler{inRate: inRate, outRate: outRate}
	if inRate == outRate {
		return r, nil
	}
	g := gcd(inRate, outRate)
	up, down := outRate/g, inRate/g
	r.bank = bankFor(up, down)
	r.half = r.bank.taps / 2
	r.step, r.stepFrac = down/up, down%up
	bufCap := r.bank.taps + chunkSize
	if bufCap < 2*r.bank.taps {
		bufCap = 2 * r.bank.taps
	}
	r.hist = make([]float32, 0, bufCap)
	r.Reset()
	return r, nil
}

// Ratio returns the reduced ratio between the rates: every in input samples become
// exactly out output samples (441, 320 for 22050 Hz to 16000 Hz).
func (r *Resampler) Ratio() (in, out int) {
	if r.bank == nil {
		return 1, 1
	}
	return r.bank.down, r.bank.up
}

// Rates returns the input and output sample rates the Resampler was created with.
func (r *Resampler) Rates() (in, out int) { return r.inRate, r.outRate }

// Reset drops the filter history so the next Process call starts a new stream. It
// does not allocate.
func (r *Resampler) Reset() {
	if r.bank == nil {
		return
	}
	// The samples before the stream starts are silence: half-1 of them precede
	// input sample 0, which the first output (position 0) is centred on.
	r.hist = r.hist[:r.half-1]
	clear(r.hist)
	r.pos = r.half - 1
	r.phase = 0
}

// Process resamples src, appends the output to dst and returns it. Output that
// depends on input not yet seen is held back until the next call or Flush. When dst
// has room for the output (MaxOutput is a bound), Process does not allocate.
func (r *Resampler) Process(dst, src []int16) []int16 {
	if r.bank == nil {
		return append(dst, src...)
	}
	for len(src) > 0 {
		h := len(r.hist)
		n := min(len(src), cap(r.hist)-h)
		r.hist = r.hist[:h+n]
		for i, s := range src[:n] {
			r.hist[h+i] = float32(s)
		}
		src = src[n:]
		dst = r.run(dst, len(r.hist)-1)
	}
	return dst
}

// Flush emits the output still held by the filter for the input given so far, as if
// the stream were followed by silence, and appends it to dst. After Flush the
// Resampler is reset and ready for a new stream. In total a stream of n input samples
// yields ceil(n*out/in) output samples.
func (r *Resampler) Flush(dst []int16) []int16 {
	if r.bank == nil {
		return dst
	}
	last := len(r.hist) - 1 // outputs centred beyond the last real sample are not emitted
	h := len(r.hist)
	r.hist = r.hist[:h+r.half]
	clear(r.hist[h:])
	dst = r.run(dst, last)
	r.Reset()
	return dst
}

// MaxOutput returns an upper bound on the number of samples Process can append for
// n input samples, for sizing dst ahead of time.
func (r *Resampler) MaxOutput(n int) int {
	if r.bank == nil {
		return n
	}
	return int((int64(n)+int64(r.bank.taps))*int64(r.bank.up)/int64(r.bank.down)) + 1
}

// run emits every output whose filter window lies inside hist and whose centre is at
// most index last, then drops the history no later output needs.
func (r *Resampler) run(dst []int16, last int) []int16 {
	b := r.bank
	taps, half := b.taps, r.half
	hist := r.hist
	pos, phase := r.pos, r.phase
	exact := b.phases == b.up
	for pos+half < len(hist) && pos <= last {
		q, p := phase, pos
		if !exact {
			q = int((int64(phase)*int64(b.phases) + int64(b.up/2)) / int64(b.up))
			if q == b.phases {
				q, p = 0, pos+1
				if p+half >= len(hist) {
					break
				}
			}
		}
		start := p - half + 1
		dst = append(dst, toInt16(dot(b.coef[q*taps:q*taps+taps], hist[start:start+taps])))
		pos += r.step
		phase += r.stepFrac
		if phase >= b.up {
			phase -= b.up
			pos++
		}
	}
	drop := min(pos-half+1, len(hist))
	if drop > 0 {
		n := copy(hist, hist[drop:])
		r.hist = hist[:n]
		pos -= drop
	}
	r.pos, r.phase = pos, phase
	return dst
}

// dot returns the inner product of two equal-length slices, unrolled for
// instruction-level parallelism.
func dot(a, x []float32) float32 {
	x = x[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * x[i]
		s1 += a[i+1] * x[i+1]
		s2 += a[i+2] * x[i+2]
		s3 += a[i+3] * x[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * x[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// toInt16 rounds to the nearest integer and saturates to the PCM16 range.
func toInt16(v float32) int16 {
	switch {
	case v >= 32767:
		return 32767
	case v <= -32768:
		return -32768
	case v < 0:
		return int16(v - 0.5)
	default:
		return int16(v + 0.5)
	}
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
