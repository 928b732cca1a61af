// Package deepgram is a streaming speech-to-text provider for Deepgram's live
// /v1/listen WebSocket API (hosted or self-hosted). Each call gets one socket:
// audio goes out as binary linear16 frames from a writer goroutine, interim
// results come back as partials, and an utterance ends on speech_final,
// UtteranceEnd or an explicit Finalize, whichever comes first.
package deepgram
