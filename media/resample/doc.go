// Package resample converts mono PCM16 audio between sample rates with a streaming
// polyphase windowed-sinc filter.
//
// A Resampler keeps its filter history across calls, so feeding a stream frame by
// frame produces exactly the same samples as feeding it in one piece. Filter tables
// are computed once per rate pair and shared by every Resampler that uses that pair,
// so creating one per call is cheap after the first.
package resample
