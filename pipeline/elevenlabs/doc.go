// Package elevenlabs is a pipeline.TTS speaking through the ElevenLabs
// stream-input WebSocket (single-context mode).
//
// Each Synthesize call opens one socket, sends the initial single-space
// message with the voice settings, the text ending in a space, and the empty
// end-of-input message, and passes the base64 PCM of each audio message to the
// sink as soon as it arrives. The output format is the pcm_* rate equal to the
// requested one when ElevenLabs has it (8, 16, 22.05, 24 or 44.1 kHz), so
// phone and WebRTC transports get audio without resampling; other rates are
// resampled from the nearest higher format.
//
// The API key is sent only as the xi-api-key handshake header and is removed
// from any text a server error carries, so it never appears in errors.
//
// Future work: keep one multi-stream-input socket per call and open a context
// per sentence, which saves the handshake on every sentence and lets barge-in
// close a context instead of the socket.
package elevenlabs
