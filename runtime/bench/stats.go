package bench

import (
	"math/bits"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Dist summarises a distribution of durations.
type Dist struct {
	N                  int
	P50, P90, P99, Max time.Duration
}

// hist is a log-linear histogram of non-negative durations in nanoseconds, with
// 32 sub-buckets per power of two (values within about 3 %). It is safe for
// concurrent use: recording is a few atomic adds, so the frame paths can share one.
type hist struct {
	counts [histBuckets]atomic.Uint64
	max    atomic.Int64
}

const (
	subBits     = 5
	subBuckets  = 1 << subBits
	histBuckets = (64 - subBits + 1) * subBuckets
)

func bucketOf(v uint64) int {
	shift := max(bits.Len64(v)-subBits-1, 0)
	return shift*subBuckets + int(v>>shift)
}

// bucketMid is a representative value of bucket i (its middle).
func bucketMid(i int) uint64 {
	if i < 2*subBuckets {
		return uint64(i)
	}
	shift := i/subBuckets - 1
	lo := uint64(i-shift*subBuckets) << shift
	return lo + (uint64(1)<<shift)/2
}

func (h *hist) record(d time.Duration) {
	v := max(int64(d), 0)
	h.counts[bucketOf(uint64(v))].Add(1)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

func (h *hist) dist() Dist {
	var n uint64
	var counts [histBuckets]uint64
	for i := range h.counts {
		counts[i] = h.counts[i].Load()
		n += counts[i]
	}
	d := Dist{N: int(n), Max: time.Duration(h.max.Load())}
	if n == 0 {
		return d
	}
	q := func(p float64) time.Duration {
		rank := uint64(p*float64(n-1)) + 1
		var seen uint64
		for i, c := range counts {
			seen += c
			if seen >= rank {
				return min(time.Duration(bucketMid(i)), d.Max)
			}
		}
		return d.Max
	}
	d.P50, d.P90, d.P99 = q(0.50), q(0.90), q(0.99)
	return d
}

// samples keeps every value, for exact percentiles of per-turn figures (a few
// thousand per run).
type samples struct {
	mu sync.Mutex
	v  []time.Duration
}

func (s *samples) add(d time.Duration) {
	s.mu.Lock()
	s.v = append(s.v, d)
	s.mu.Unlock()
}

func (s *samples) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.v)
}

func (s *samples) dist() Dist {
	s.mu.Lock()
	v := slices.Clone(s.v)
	s.mu.Unlock()
	return distOf(v)
}

func distOf(v []time.Duration) Dist {
	if len(v) == 0 {
		return Dist{}
	}
	slices.Sort(v)
	q := func(p float64) time.Duration { return v[int(p*float64(len(v)-1)+0.5)] }
	return Dist{N: len(v), P50: q(0.50), P90: q(0.90), P99: q(0.99), Max: v[len(v)-1]}
}
