package vad

import (
	"math"
	"time"
)

// windowBlocks is how many blocks the sliding minimum is split into: the window
// slides by one block at a time, so it spans between FloorWindow and
// FloorWindow*(1+1/windowBlocks).
const windowBlocks = 8

// noiseFloor estimates the background level in dBFS. Between speech it follows the
// frame level through an asymmetric smoother (fast down, slow up); it also keeps the
// minimum level over a sliding window, which bounds the floor from below during
// speech.
type noiseFloor struct {
	level      float64
	fall, rise time.Duration

	// Sliding minimum: minima of the last windowBlocks completed blocks plus the
	// block being filled. Fixed arrays, so observing never allocates.
	blockLen time.Duration
	blocks   [windowBlocks]float64
	filled   int // completed blocks held, up to windowBlocks
	next     int // ring index the next completed block goes to
	cur      float64
	curLen   time.Duration
}

func (f *noiseFloor) reset(initial float64, fall, rise, window time.Duration) {
	*f = noiseFloor{
		level:    initial,
		fall:     fall,
		rise:     rise,
		blockLen: window / windowBlocks,
		cur:      math.Inf(1),
	}
}

// observe feeds one frame's level into the sliding minimum.
func (f *noiseFloor) observe(level float64, d time.Duration) {
	f.cur = min(f.cur, level)
	f.curLen += d
	if f.curLen >= f.blockLen {
		f.blocks[f.next] = f.cur
		f.next = (f.next + 1) % windowBlocks
		f.filled = min(f.filled+1, windowBlocks)
		f.cur, f.curLen = math.Inf(1), 0
	}
}

// windowMin is the quietest level observed over the window.
func (f *noiseFloor) windowMin() float64 {
	m := f.cur
	for _, b := range f.blocks[:f.filled] {
		m = min(m, b)
	}
	return m
}

// track moves the floor towards level when nobody is speaking: quickly when the
// background got quieter, slowly when it got louder.
func (f *noiseFloor) track(level float64, d time.Duration) {
	tau := f.rise
	if level < f.level {
		tau = f.fall
	}
	f.level += (level - f.level) * -math.Expm1(-float64(d)/float64(tau))
}

// hold keeps the floor during speech, except that it never stays below the window
// minimum: a sound with no quiet moment for a whole window is background, not speech.
// Until a whole window has been observed the minimum proves nothing, so it is not
// used.
func (f *noiseFloor) hold() {
	if f.filled < windowBlocks {
		return
	}
	if m := f.windowMin(); m > f.level {
		f.level = m
	}
}
