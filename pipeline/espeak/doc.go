// Package espeak is Parley's offline text-to-speech provider: libespeak-ng
// through cgo.
//
// libespeak-ng keeps its state in globals, so the package initialises it once,
// lazily, and runs one synthesis at a time behind a process-wide lock. It
// synthesises far faster than real time (about 10 ms for 3.7 s of speech), so
// the lock is held only briefly: each Synthesize call runs the library on a
// helper goroutine that collects audio chunks as the library produces them,
// while the caller resamples them from the native 22050 Hz and hands them to
// its sink, outside the lock.
//
// A binary built with CGO_ENABLED=0 still compiles this package; New and
// Available then return an error wrapping pipeline.ErrUnavailable.
package espeak
