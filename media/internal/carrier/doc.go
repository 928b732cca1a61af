// Package carrier holds what Parley's carrier transports (media/telnyx,
// media/vonage, media/plivo) share: converting between the call's 16 kHz PCM16
// frames and a carrier's sample format, counting which agent audio the far end
// has confirmed playing, and the WebSocket plumbing of one call (size-limited
// reads, deadlines, end reasons, keep-alive and the writer of idle marks).
//
// The carrier packages own their wire formats; this package never builds or
// parses a carrier message.
package carrier
