// Package pacing plays audio out to a transport in real time.
//
// A Player takes segments of PCM (one TTS chunk, one prompt) and writes them to the
// transport one 20 ms frame at a time, at absolute deadlines start+n*20ms so timing
// errors never accumulate. It runs one goroutine per call, which sleeps when there
// is nothing to play. Clear drops everything at once (barge-in) and reports how much
// of each segment was played, so the conversation can keep only what the caller
// heard.
package pacing
