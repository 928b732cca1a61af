// Package cartesia is a pipeline.TTS speaking through the Cartesia TTS
// WebSocket.
//
// Each Synthesize call opens one socket and sends one generation request in a
// fresh context ("continue": false) asking for raw pcm_s16le at the requested
// rate when Cartesia has it (8, 16, 22.05, 24, 44.1 or 48 kHz), so phone and
// WebRTC transports get audio without resampling; other rates are resampled
// from the nearest higher one. Each base64 "chunk" message reaches the sink as
// soon as it arrives; "done" ends the call and "error" fails it.
//
// The API key goes in the X-API-Key handshake header (or, with KeyInQuery, the
// api_key query parameter) and is removed from any text a server error
// carries, so it never appears in errors.
//
// Future work: keep one socket per call and send each sentence as a
// continuation of a per-turn context, cancelling the context on barge-in.
package cartesia
