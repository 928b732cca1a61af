package webrtc

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/parley-voice/parley/runtime/events"
)

// MaxMessageBytes bounds a data channel message from the page; larger ones are
// ignored and counted.
const MaxMessageBytes = 4096

// Message types the page sends on the "events" data channel.
const (
	TypeHangup = "hangup" // the caller pressed hang up
	TypeStats  = "stats"  // playback statistics (ClientReport)
	TypeDTMF   = "dtmf"   // a key press on the page's keypad
)

// ClientReport is what the page measured of the agent's audio, from
// RTCPeerConnection.getStats() (the inbound-rtp audio entry).
type ClientReport struct {
	PacketsReceived  uint64  `json:"packets_received"`
	BytesReceived    uint64  `json:"bytes_received"`
	PacketsLost      int64   `json:"packets_lost"`
	AudioLevel       float64 `json:"audio_level"`
	TotalAudioEnergy float64 `json:"total_audio_energy"`
	Jitter           float64 `json:"jitter"`
	// Events counts the event messages the page has received so far.
	Events int `json:"events"`
	// Codec and MicCodec are the MIME types of the agent's audio and of the
	// microphone's, as the browser negotiated them ("audio/opus", "audio/PCMU").
	Codec    string `json:"codec,omitempty"`
	MicCodec string `json:"mic_codec,omitempty"`
}

// ClientMessage is one message from the page.
type ClientMessage struct {
	Type  string        `json:"type"`
	Digit string        `json:"digit,omitempty"`
	Stats *ClientReport `json:"stats,omitempty"`
}

// ParseClientMessage decodes and validates one data channel message.
func ParseClientMessage(b []byte) (ClientMessage, error) {
	var m ClientMessage
	if len(b) > MaxMessageBytes {
		return m, fmt.Errorf("%w: %d bytes, limit %d", ErrBadMessage, len(b), MaxMessageBytes)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("%w: %v", ErrBadMessage, err)
	}
	switch m.Type {
	case TypeHangup:
	case TypeStats:
		if m.Stats == nil {
			return m, fmt.Errorf("%w: stats message without stats", ErrBadMessage)
		}
	case TypeDTMF:
		if len(m.Digit) != 1 || !isDTMF(m.Digit[0]) {
			return m, fmt.Errorf("%w: dtmf digit %q is not one of 0-9*#A-D", ErrBadMessage, m.Digit)
		}
	default:
		return m, fmt.Errorf("%w: unknown type %q", ErrBadMessage, m.Type)
	}
	return m, nil
}

func isDTMF(c byte) bool {
	return c >= '0' && c <= '9' || c == '*' || c == '#' || c >= 'A' && c <= 'D'
}

// eventMessage is what the page receives for each call event: the event type
// as "type", its payload, and enough of the envelope to order and join them.
type eventMessage struct {
	Type      string `json:"type"`
	CallID    string `json:"call_id"`
	Sequence  uint64 `json:"sequence"`
	Timestamp string `json:"timestamp"`
	Payload   any    `json:"payload"`
}

func encodeEvent(e *events.Event) ([]byte, error) {
	p := e.Payload
	if p == nil {
		p = struct{}{}
	}
	return json.Marshal(eventMessage{Type: e.Type, CallID: e.CallID, Sequence: e.Sequence,
		Timestamp: e.Timestamp.UTC().Format(time.RFC3339Nano), Payload: p})
}
