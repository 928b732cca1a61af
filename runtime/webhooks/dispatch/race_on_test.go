//go:build race

package dispatch_test

// raceDetector is true in a -race build, whose instrumentation slows code
// down unevenly (more goroutines, more slowdown): latency ratios measured
// under it say more about the detector than about the dispatcher.
const raceDetector = true
