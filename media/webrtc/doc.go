// Package webrtc carries Parley calls over WebRTC (github.com/pion/webrtc/v4):
// WHIP-style HTTP signalling (one POST with the browser's SDP offer, answered
// with a complete SDP answer, so no trickle ICE), caller audio in from the
// browser's microphone track, agent audio out on a paced local track, and a
// data channel named "events" that carries the call's events to the page and
// the page's hang-up and playback reports back.
//
// Audio is Opus (payload type 111, encoded and decoded at the call's 16 kHz
// through libopus, in cgo builds) when the browser offers it, else G.711
// μ-law (PCMU, 8 kHz, payload type 0), which every WebRTC endpoint must
// support (RFC 7874) and which is resampled 8↔16 kHz. The package also embeds the small talk-to-an-agent page
// that parley serve shows at /.
//
// Reconnect policy: there is no ICE restart. A peer connection that ICE reports
// disconnected gets pion's failed timeout to recover by itself (consent checks
// resume when the network does); once it is failed the call ends with
// transport_error. A new call is a new POST.
package webrtc
