package pacing

import (
	"math/bits"
	"time"
)

// Stats describes how well a player has kept time.
type Stats struct {
	// FramesWritten counts frames passed to Write, failed ones included.
	FramesWritten uint64
	// WriteErrors counts failed Writes.
	WriteErrors uint64
	// Underruns counts frames written after the moment they should have started
	// playing, when the far end had run out of audio.
	Underruns uint64
	// Reanchors counts how often the player fell more than MaxLag behind its
	// schedule and restarted it from the current time instead of bursting.
	Reanchors uint64
	// Lateness of writes against their scheduled time: median, 99th percentile
	// (both accurate to within 1/8) and maximum.
	LatenessP50, LatenessP99, LatenessMax time.Duration
}

// The lateness histogram is log-linear over microseconds: values below 8 µs have
// a bucket each, then every power of two is split into 8 buckets, so each bucket
// spans at most 1/8 of its values. Fixed size; recording never allocates.
const (
	subBits     = 3
	subBuckets  = 1 << subBits
	maxExponent = 40 // 2^40 µs is about 12 days
	numBuckets  = (maxExponent - subBits + 2) * subBuckets
)

type histogram struct {
	counts [numBuckets]uint64
	total  uint64
	max    time.Duration
}

func bucketOf(us uint64) int {
	if us < subBuckets {
		return int(us)
	}
	e := bits.Len64(us) - 1
	if e > maxExponent {
		return numBuckets - 1
	}
	sub := int(us>>(e-subBits)) & (subBuckets - 1)
	return (e-subBits+1)*subBuckets + sub
}

// upperBound is the largest value, in microseconds, that falls in bucket b.
func upperBound(b int) uint64 {
	if b < subBuckets {
		return uint64(b)
	}
	e := b/subBuckets + subBits - 1
	sub := uint64(b % subBuckets)
	return (subBuckets+sub+1)<<(e-subBits) - 1
}

func (h *histogram) record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucketOf(uint64(d/time.Microsecond))]++
	h.total++
	h.max = max(h.max, d)
}

// quantile returns the upper bound of the bucket holding quantile q, capped at the
// exact maximum.
func (h *histogram) quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	rank := uint64(q*float64(h.total-1)) + 1
	var seen uint64
	for b, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(time.Duration(upperBound(b))*time.Microsecond, h.max)
		}
	}
	return h.max
}
