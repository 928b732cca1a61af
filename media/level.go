package media

import "math"

// MinDBFS is the level RMSdBFS reports for digital silence and anything quieter; it
// keeps levels finite so they can be compared and averaged.
const MinDBFS = -120.0

// RMSdBFS returns the RMS level of frame in dB relative to full scale (a full-scale
// square wave is 0 dBFS, a full-scale sine about -3 dBFS), never below MinDBFS. An
// empty frame is MinDBFS.
func RMSdBFS(frame []int16) float64 {
	if len(frame) == 0 {
		return MinDBFS
	}
	var sum uint64
	for _, s := range frame {
		v := int64(s)
		sum += uint64(v * v)
	}
	if sum == 0 {
		return MinDBFS
	}
	ms := float64(sum) / float64(len(frame)) / (32768.0 * 32768.0)
	return max(10*math.Log10(ms), MinDBFS)
}
