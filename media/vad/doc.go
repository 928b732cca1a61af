// Package vad detects speech in a stream of PCM16 frames by energy, against a noise
// floor it estimates as it goes, and decides when a speaker's turn has ended.
//
// A Detector measures each frame's level in dBFS and compares it with the noise
// floor plus a margin. Speech starts when the level stays above floor+StartMargin for
// StartDuration, and stops when it stays below floor+StopMargin for StopDuration
// (the hangover). The smaller stop margin and the hangover together keep short dips
// and pauses inside one stretch of speech. An Endpointer is a Detector that also
// reports the end of the speaker's turn after a longer silence.
//
// Detectors are cheap, do not allocate per frame and are not safe for concurrent
// use: one per call, driven by the call's goroutine.
package vad
