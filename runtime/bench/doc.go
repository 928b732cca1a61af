// Package bench measures the runtime's own share of a turn: it runs many calls in
// process, each fed a scripted caller in real time, with zero-latency fake
// providers, so everything a turn waits for besides the endpointing silence is the
// runtime itself (mailbox, VAD, state machine, chunking, TTS worker, pacing).
//
// RunTurns is what `parley bench turns` runs; docs/BENCHMARKS.md records results.
package bench
