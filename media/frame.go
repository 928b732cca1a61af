// Package media holds Parley's audio primitives: fixed 20 ms PCM16 frames and the
// formats transports speak. Codecs, resampling, VAD and pacing live in sub-packages.
package media

import "time"

// FrameDuration is the length of every audio frame inside Parley.
const FrameDuration = 20 * time.Millisecond

// FramesPerSecond is the number of frames in one second of audio.
const FramesPerSecond = int(time.Second / FrameDuration)

// SamplesPerFrame returns the number of mono PCM16 samples in one 20 ms frame at rate Hz.
func SamplesPerFrame(rate int) int { return rate / FramesPerSecond }

// DurationOf returns how long n mono samples last at rate Hz.
func DurationOf(n, rate int) time.Duration {
	if rate <= 0 {
		return 0
	}
	return time.Duration(int64(n) * int64(time.Second) / int64(rate))
}
