// Package twilio implements Twilio Media Streams, bidirectional (<Connect><Stream>):
// the media WebSocket that carries a phone call's audio as base64 G.711 μ-law at
// 8 kHz in JSON text frames, and the voice webhook that answers an incoming call
// with TwiML pointing Twilio at it. docs/TWILIO.md explains the setup.
package twilio

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"unicode/utf8"
)

// Wire constants of the protocol.
const (
	// WireRate is the audio rate on the wire, both directions.
	WireRate = 8000
	// Encoding is the only media format Twilio streams.
	Encoding = "audio/x-mulaw"
	// BytesPerFrame is one 20 ms μ-law frame at WireRate.
	BytesPerFrame = 160
)

// Event names. Inbound: connected, start, media, dtmf, mark, stop. Outbound:
// media, mark, clear.
const (
	EventConnected = "connected"
	EventStart     = "start"
	EventMedia     = "media"
	EventDTMF      = "dtmf"
	EventMark      = "mark"
	EventStop      = "stop"
	EventClear     = "clear"
)

// Limits on inbound messages. Twilio's own messages are far below them.
const (
	maxSidLen       = 64
	maxParams       = 32
	maxParamKeyLen  = 64
	maxParamValLen  = 1024
	maxMarkNameLen  = 256
	maxPayloadBytes = 16000 // decoded μ-law: 2 s of audio in one message
	maxSeqDigits    = 18
)

// Errors returned by Parse. Every error wraps ErrProtocol.
var (
	// ErrProtocol marks a message that breaks the Media Streams protocol.
	ErrProtocol = errors.New("twilio media stream protocol error")
	// ErrUnknownEvent marks a well-formed message whose event this package does
	// not know. The handler logs it and goes on: Twilio may add events.
	ErrUnknownEvent = fmt.Errorf("%w: unknown event", ErrProtocol)
)

var (
	digitRe = regexp.MustCompile(`^[0-9*#A-D]$`)
	// Twilio SIDs are two letters and 32 hex digits; tests and other carriers'
	// Twilio-compatible streams use other lengths, so only the alphabet is fixed.
	sidRe = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
)

// Message is one inbound message, parsed and validated. Exactly the part named by
// Event is set.
type Message struct {
	Event string
	// SequenceNumber counts messages on the stream (absent on connected).
	SequenceNumber int64
	StreamSid      string

	Connected *Connected
	Start     *Start
	Media     *Media
	DTMF      *DTMF
	Mark      *Mark
	Stop      *Stop
}

// Connected is the first message of a stream.
type Connected struct {
	Protocol string
	Version  string
}

// Start describes the stream and the call it belongs to.
type Start struct {
	StreamSid        string
	AccountSid       string
	CallSid          string
	Tracks           []string
	CustomParameters map[string]string
	Encoding         string
	SampleRate       int
	Channels         int
}

// Media is one chunk of caller audio.
type Media struct {
	Track     string // "inbound" (or "outbound" on a both_tracks fork)
	Chunk     int64
	Timestamp int64  // ms since the stream started
	Audio     []byte // decoded μ-law bytes
}

// DTMF is one key press.
type DTMF struct {
	Track string // always "inbound_track"
	Digit string
}

// Mark is the echo of a mark Parley sent: the audio before it has played, or a
// clear dropped it.
type Mark struct{ Name string }

// Stop ends the stream.
type Stop struct {
	AccountSid string
	CallSid    string
}

// numString is a non-negative integer that Twilio sends as a JSON string ("7").
// A JSON number is refused: it means the sender does not speak this protocol.
type numString struct {
	v   int64
	set bool
}

func (n *numString) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a decimal number in a string, got %s", clip(string(b)))
	}
	if s == "" || len(s) > maxSeqDigits {
		return fmt.Errorf("want a decimal number in a string, got %q", clip(s))
	}
	var v int64
	for _, c := range s {
		if c < '0' || c > '9' {
			return fmt.Errorf("want a decimal number in a string, got %q", clip(s))
		}
		v = v*10 + int64(c-'0')
	}
	n.v, n.set = v, true
	return nil
}

// wire is the JSON shape of every inbound message. Unknown fields are ignored
// (Twilio adds fields over time), but each known field must have its type.
type wire struct {
	Event          string    `json:"event"`
	SequenceNumber numString `json:"sequenceNumber"`
	StreamSid      string    `json:"streamSid"`
	Protocol       string    `json:"protocol"`
	Version        string    `json:"version"`
	Start          *struct {
		StreamSid        string            `json:"streamSid"`
		AccountSid       string            `json:"accountSid"`
		CallSid          string            `json:"callSid"`
		Tracks           []string          `json:"tracks"`
		CustomParameters map[string]string `json:"customParameters"`
		MediaFormat      *struct {
			Encoding   string `json:"encoding"`
			SampleRate int    `json:"sampleRate"`
			Channels   int    `json:"channels"`
		} `json:"mediaFormat"`
	} `json:"start"`
	Media *struct {
		Track     string    `json:"track"`
		Chunk     numString `json:"chunk"`
		Timestamp numString `json:"timestamp"`
		Payload   *string   `json:"payload"`
	} `json:"media"`
	DTMF *struct {
		Track string `json:"track"`
		Digit string `json:"digit"`
	} `json:"dtmf"`
	Mark *struct {
		Name string `json:"name"`
	} `json:"mark"`
	Stop *struct {
		AccountSid string `json:"accountSid"`
		CallSid    string `json:"callSid"`
	} `json:"stop"`
}

// Parse decodes and validates one inbound text frame. Errors wrap ErrProtocol
// (ErrUnknownEvent for events it does not know) and say what is wrong in the
// protocol's terms.
func Parse(data []byte) (Message, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return Message{}, fmt.Errorf("%w: empty message; want a JSON object", ErrProtocol)
	}
	if !utf8.Valid(data) {
		return Message{}, fmt.Errorf("%w: message is not valid UTF-8", ErrProtocol)
	}
	var w wire
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&w); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return Message{}, fmt.Errorf("%w: field %q: want %s", ErrProtocol, te.Field, te.Type)
		}
		return Message{}, fmt.Errorf("%w: invalid JSON: %s", ErrProtocol, clip(err.Error()))
	}
	if dec.More() {
		return Message{}, fmt.Errorf("%w: data after the JSON object", ErrProtocol)
	}
	m := Message{Event: w.Event, SequenceNumber: w.SequenceNumber.v, StreamSid: w.StreamSid}
	if m.StreamSid != "" {
		if err := checkSid("streamSid", m.StreamSid); err != nil {
			return Message{}, err
		}
	}
	needSeq := func() error {
		if !w.SequenceNumber.set {
			return fmt.Errorf("%w: %s message has no sequenceNumber", ErrProtocol, m.Event)
		}
		return nil
	}
	switch w.Event {
	case EventConnected:
		m.Connected = &Connected{Protocol: w.Protocol, Version: w.Version}
		return m, nil
	case EventStart:
		if err := needSeq(); err != nil {
			return Message{}, err
		}
		return m, parseStart(&w, &m)
	case EventMedia:
		if err := needSeq(); err != nil {
			return Message{}, err
		}
		return m, parseMedia(&w, &m)
	case EventDTMF:
		if w.DTMF == nil {
			return Message{}, fmt.Errorf("%w: dtmf message has no \"dtmf\" object", ErrProtocol)
		}
		if !digitRe.MatchString(w.DTMF.Digit) {
			return Message{}, fmt.Errorf("%w: dtmf.digit must be one of 0-9 * # A-D, got %q", ErrProtocol, clip(w.DTMF.Digit))
		}
		if w.DTMF.Track != "" && w.DTMF.Track != "inbound_track" {
			return Message{}, fmt.Errorf("%w: dtmf.track must be \"inbound_track\", got %q", ErrProtocol, clip(w.DTMF.Track))
		}
		m.DTMF = &DTMF{Track: w.DTMF.Track, Digit: w.DTMF.Digit}
		return m, nil
	case EventMark:
		if w.Mark == nil || w.Mark.Name == "" || utf8.RuneCountInString(w.Mark.Name) > maxMarkNameLen {
			return Message{}, fmt.Errorf("%w: mark.name must be 1..%d characters", ErrProtocol, maxMarkNameLen)
		}
		m.Mark = &Mark{Name: w.Mark.Name}
		return m, nil
	case EventStop:
		m.Stop = &Stop{}
		if w.Stop != nil {
			m.Stop.AccountSid, m.Stop.CallSid = w.Stop.AccountSid, w.Stop.CallSid
		}
		return m, nil
	case "":
		return Message{}, fmt.Errorf("%w: message has no \"event\"", ErrProtocol)
	}
	return Message{}, fmt.Errorf("%w %q (want connected, start, media, dtmf, mark or stop)", ErrUnknownEvent, clip(w.Event))
}

func parseStart(w *wire, m *Message) error {
	s := w.Start
	if s == nil {
		return fmt.Errorf("%w: start message has no \"start\" object", ErrProtocol)
	}
	st := &Start{StreamSid: s.StreamSid, AccountSid: s.AccountSid, CallSid: s.CallSid, Tracks: s.Tracks}
	if st.StreamSid == "" {
		st.StreamSid = m.StreamSid
	}
	if m.StreamSid == "" {
		m.StreamSid = st.StreamSid
	}
	if st.StreamSid == "" {
		return fmt.Errorf("%w: start message has no streamSid", ErrProtocol)
	}
	if st.StreamSid != m.StreamSid {
		return fmt.Errorf("%w: start.streamSid %q differs from streamSid %q", ErrProtocol, clip(st.StreamSid), clip(m.StreamSid))
	}
	for name, v := range map[string]string{"start.streamSid": st.StreamSid, "start.accountSid": st.AccountSid, "start.callSid": st.CallSid} {
		if v == "" && name == "start.streamSid" {
			continue
		}
		if v != "" {
			if err := checkSid(name, v); err != nil {
				return err
			}
		}
	}
	if st.CallSid == "" {
		return fmt.Errorf("%w: start message has no callSid", ErrProtocol)
	}
	if len(s.CustomParameters) > maxParams {
		return fmt.Errorf("%w: start.customParameters has %d entries, at most %d allowed", ErrProtocol, len(s.CustomParameters), maxParams)
	}
	for k, v := range s.CustomParameters {
		if k == "" || len(k) > maxParamKeyLen || len(v) > maxParamValLen {
			return fmt.Errorf("%w: start.customParameters: names must be 1..%d bytes and values at most %d bytes (%q)",
				ErrProtocol, maxParamKeyLen, maxParamValLen, clip(k))
		}
	}
	if len(s.CustomParameters) > 0 {
		st.CustomParameters = s.CustomParameters
	}
	if s.MediaFormat == nil {
		return fmt.Errorf("%w: start message has no mediaFormat", ErrProtocol)
	}
	st.Encoding, st.SampleRate, st.Channels = s.MediaFormat.Encoding, s.MediaFormat.SampleRate, s.MediaFormat.Channels
	if st.Encoding != Encoding || st.SampleRate != WireRate || st.Channels != 1 {
		return fmt.Errorf("%w: unsupported mediaFormat %s/%d Hz/%d channels; want %s/%d Hz/1 channel",
			ErrProtocol, clip(st.Encoding), st.SampleRate, st.Channels, Encoding, WireRate)
	}
	m.Start = st
	return nil
}

func parseMedia(w *wire, m *Message) error {
	md := w.Media
	if md == nil || md.Payload == nil {
		return fmt.Errorf("%w: media message has no media.payload", ErrProtocol)
	}
	if md.Track != "inbound" && md.Track != "outbound" {
		return fmt.Errorf("%w: media.track must be \"inbound\" or \"outbound\", got %q", ErrProtocol, clip(md.Track))
	}
	if base64.StdEncoding.DecodedLen(len(*md.Payload)) > maxPayloadBytes+2 {
		return fmt.Errorf("%w: media.payload is over %d bytes of audio", ErrProtocol, maxPayloadBytes)
	}
	audio, err := base64.StdEncoding.DecodeString(*md.Payload)
	if err != nil {
		return fmt.Errorf("%w: media.payload is not standard base64: %s", ErrProtocol, clip(err.Error()))
	}
	if len(audio) > maxPayloadBytes {
		return fmt.Errorf("%w: media.payload is over %d bytes of audio", ErrProtocol, maxPayloadBytes)
	}
	m.Media = &Media{Track: md.Track, Chunk: md.Chunk.v, Timestamp: md.Timestamp.v, Audio: audio}
	return nil
}

func checkSid(field, v string) error {
	if len(v) > maxSidLen || !sidRe.MatchString(v) {
		return fmt.Errorf("%w: %s must be 1..%d letters and digits, got %q", ErrProtocol, field, maxSidLen, clip(v))
	}
	return nil
}

// clip shortens untrusted text quoted in an error.
func clip(s string) string {
	const n = 64
	if len(s) <= n {
		return s
	}
	for i := n; i > 0; i-- {
		if utf8.RuneStart(s[i]) {
			return s[:i] + "…"
		}
	}
	return s[:n] + "…"
}

// Outbound messages.

type outMedia struct {
	Event     string `json:"event"`
	StreamSid string `json:"streamSid"`
	Media     struct {
		Payload string `json:"payload"`
	} `json:"media"`
}

type outMark struct {
	Event     string `json:"event"`
	StreamSid string `json:"streamSid"`
	Mark      struct {
		Name string `json:"name"`
	} `json:"mark"`
}

type outClear struct {
	Event     string `json:"event"`
	StreamSid string `json:"streamSid"`
}

// EncodeMedia returns the media message that plays the μ-law bytes ulaw.
func EncodeMedia(streamSid string, ulaw []byte) []byte {
	m := outMedia{Event: EventMedia, StreamSid: streamSid}
	m.Media.Payload = base64.StdEncoding.EncodeToString(ulaw)
	b, _ := json.Marshal(m)
	return b
}

// EncodeMark returns the mark message named name.
func EncodeMark(streamSid, name string) []byte {
	m := outMark{Event: EventMark, StreamSid: streamSid}
	m.Mark.Name = name
	b, _ := json.Marshal(m)
	return b
}

// EncodeClear returns the clear message.
func EncodeClear(streamSid string) []byte {
	b, _ := json.Marshal(outClear{Event: EventClear, StreamSid: streamSid})
	return b
}
