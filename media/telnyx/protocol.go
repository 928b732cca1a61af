// Package telnyx serves Telnyx media streaming: one WebSocket per call, opened by
// Telnyx when Call Control (streaming_start, or stream_url on dial/answer) or
// TeXML <Stream> names Parley's URL, carrying JSON text frames both ways.
//
// From Telnyx: connected, start (top-level stream_id; start.call_control_id,
// from, to, custom_parameters, media_format), media (base64 RTP payload, PCMU or
// PCMA at 8 kHz), dtmf, mark, error, stop. To Telnyx: media, mark and clear.
// Two-way audio needs stream_bidirectional_mode "rtp"; the codec Parley sends back
// is the one start.media_format names, so stream_bidirectional_codec must match
// the stream's codec (both default to PCMU).
//
// The agent is chosen by the {agent} path value of the route or the "agent"
// query parameter of stream_url, or else by a custom parameter named "agent".
// Authentication is the Handler's Authenticate hook, run on the upgrade request
// (for example a signed, expiring token in the stream_url query); Telnyx's
// stream_auth_token arrives as the x-telnyx-streaming-auth-token header, which
// the hook may check too.
//
// Telnyx does not guarantee the order of media frames. The handler puts them
// back in sequence_number order within a window of reorderWindow messages; a
// frame later than that is dropped, and a gap that does not fill in time is
// skipped. Audio is sent back in 20 ms media messages (Telnyx accepts 20 ms to
// 30 s per message in RTP mode) with a mark after every 100 ms and at each pause,
// so PlaybackTracker knows what the caller heard; Telnyx returns a mark at once
// when nothing is queued, and clear returns the pending marks, which Parley then
// ignores (dropped, not played).
package telnyx

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/parley-voice/parley/media/internal/carrier"
)

// Event names.
const (
	EventConnected = "connected"
	EventStart     = "start"
	EventMedia     = "media"
	EventDTMF      = "dtmf"
	EventMark      = "mark"
	EventError     = "error"
	EventStop      = "stop"
	EventClear     = "clear" // outbound only
)

// ErrProtocol marks a message that breaks the Telnyx protocol.
var ErrProtocol = carrier.ErrProtocol

// Limits on inbound fields.
const (
	maxIDLen       = 256
	maxPhoneLen    = 64
	maxMarkNameLen = 128
	maxTags        = 32
	maxPayload     = 16 << 10 // decoded media bytes per message (2 s of G.711)
	maxErrorDetail = 1024
)

// Message is one inbound Telnyx message, decoded and validated. Only the part
// named by Event is set.
type Message struct {
	Event string
	// SequenceNumber counts every message of the stream; HasSeq reports
	// whether Telnyx sent one.
	SequenceNumber uint64
	HasSeq         bool
	StreamID       string
	Version        string // connected
	Start          *Start
	Media          *Media
	DTMF           string // dtmf digit, upper-cased
	Mark           string // mark name
	Error          string // error frame, as text for the log
}

// Start is the start message's start object.
type Start struct {
	UserID           string
	CallControlID    string
	CallSessionID    string
	From, To         string
	ClientState      string // base64, as Telnyx sent it
	Tags             []string
	CustomParameters map[string]string
	Encoding         string // PCMU or PCMA
	SampleRate       int
	Channels         int
}

// Media is one media message's media object.
type Media struct {
	Track     string // inbound or outbound
	Chunk     uint64
	Timestamp uint64
	Payload   []byte
}

type wireMessage struct {
	Event          string          `json:"event"`
	SequenceNumber carrier.Number  `json:"sequence_number"`
	StreamID       string          `json:"stream_id"`
	Version        string          `json:"version"`
	Start          *wireStart      `json:"start"`
	Media          *wireMedia      `json:"media"`
	DTMF           *wireDTMF       `json:"dtmf"`
	Mark           *wireMark       `json:"mark"`
	Payload        json.RawMessage `json:"payload"` // error frames
	Error          json.RawMessage `json:"error"`
}

type wireStart struct {
	UserID           string       `json:"user_id"`
	CallControlID    string       `json:"call_control_id"`
	CallSessionID    string       `json:"call_session_id"`
	From             string       `json:"from"`
	To               string       `json:"to"`
	ClientState      string       `json:"client_state"`
	Tags             []string     `json:"tags"`
	CustomParameters customParams `json:"custom_parameters"`
	MediaFormat      *struct {
		Encoding   string         `json:"encoding"`
		SampleRate carrier.Number `json:"sample_rate"`
		Channels   carrier.Number `json:"channels"`
	} `json:"media_format"`
}

type wireMedia struct {
	Track     string         `json:"track"`
	Chunk     carrier.Number `json:"chunk"`
	Timestamp carrier.Number `json:"timestamp"`
	Payload   *string        `json:"payload"`
}

type wireDTMF struct {
	Digit string `json:"digit"`
}

type wireMark struct {
	Name string `json:"name"`
}

// customParams accepts the object form seen in start messages and the list of
// {name, value} pairs the Call Control API takes, since both appear in Telnyx's
// documentation.
type customParams map[string]string

func (p *customParams) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err == nil {
		*p = m
		return nil
	}
	var list []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	}
	if err := json.Unmarshal(b, &list); err != nil {
		return errors.New("custom_parameters must be an object of strings or a list of {name, value}")
	}
	m = make(map[string]string, len(list))
	for _, kv := range list {
		m[kv.Name] = kv.Value
	}
	*p = m
	return nil
}

// Parse decodes and validates one text frame from Telnyx. Errors wrap
// ErrProtocol and say what is wrong. Unknown fields are ignored; unknown events
// are errors.
func Parse(data []byte) (Message, error) {
	var w wireMessage
	if err := carrier.Unmarshal(data, &w); err != nil {
		return Message{}, err
	}
	m := Message{Event: w.Event, SequenceNumber: w.SequenceNumber.Value, HasSeq: w.SequenceNumber.Set,
		StreamID: w.StreamID, Version: w.Version}
	if err := carrier.CheckString("stream_id", m.StreamID, maxIDLen); err != nil {
		return Message{}, err
	}
	if err := carrier.CheckString("version", m.Version, maxIDLen); err != nil {
		return Message{}, err
	}
	switch w.Event {
	case EventConnected, EventStop:
		return m, nil
	case EventStart:
		s, err := parseStart(w.Start)
		if err != nil {
			return Message{}, err
		}
		m.Start = s
		return m, nil
	case EventMedia:
		md, err := parseMedia(w.Media)
		if err != nil {
			return Message{}, err
		}
		m.Media = md
		return m, nil
	case EventDTMF:
		if w.DTMF == nil {
			return Message{}, fmt.Errorf("%w: dtmf message without a dtmf object", ErrProtocol)
		}
		d, err := carrier.Digit("dtmf.digit", w.DTMF.Digit)
		if err != nil {
			return Message{}, err
		}
		m.DTMF = d
		return m, nil
	case EventMark:
		if w.Mark == nil || w.Mark.Name == "" {
			return Message{}, fmt.Errorf("%w: mark message without mark.name", ErrProtocol)
		}
		if err := carrier.CheckString("mark.name", w.Mark.Name, maxMarkNameLen); err != nil {
			return Message{}, err
		}
		m.Mark = w.Mark.Name
		return m, nil
	case EventError:
		detail := w.Payload
		if len(detail) == 0 {
			detail = w.Error
		}
		m.Error = strings.ToValidUTF8(string(detail), "\uFFFD")
		if len(m.Error) > maxErrorDetail {
			m.Error = m.Error[:maxErrorDetail]
		}
		return m, nil
	case "":
		return Message{}, fmt.Errorf("%w: message has no \"event\"", ErrProtocol)
	}
	return Message{}, fmt.Errorf("%w: unknown event %q (want connected, start, media, dtmf, mark, error or stop)", ErrProtocol, carrier.Clip(w.Event))
}

func parseStart(w *wireStart) (*Start, error) {
	if w == nil {
		return nil, fmt.Errorf("%w: start message without a start object", ErrProtocol)
	}
	s := &Start{UserID: w.UserID, CallControlID: w.CallControlID, CallSessionID: w.CallSessionID,
		From: w.From, To: w.To, ClientState: w.ClientState, Tags: w.Tags, CustomParameters: w.CustomParameters,
		Encoding: "PCMU", SampleRate: 8000, Channels: 1}
	var errs []error
	for _, f := range []struct {
		name, v string
		max     int
	}{
		{"start.user_id", s.UserID, maxIDLen}, {"start.call_control_id", s.CallControlID, maxIDLen},
		{"start.call_session_id", s.CallSessionID, maxIDLen}, {"start.from", s.From, maxPhoneLen},
		{"start.to", s.To, maxPhoneLen}, {"start.client_state", s.ClientState, carrier.MaxMetaValLen},
	} {
		if err := carrier.CheckString(f.name, f.v, f.max); err != nil {
			errs = append(errs, err)
		}
	}
	if len(s.Tags) > maxTags {
		errs = append(errs, fmt.Errorf("%w: start.tags has %d entries, limit %d", ErrProtocol, len(s.Tags), maxTags))
	}
	for _, t := range s.Tags {
		if err := carrier.CheckString("start.tags entry", t, carrier.MaxMetaValLen); err != nil {
			errs = append(errs, err)
			break
		}
	}
	if err := carrier.CheckMetadata("start.custom_parameters", s.CustomParameters); err != nil {
		errs = append(errs, err)
	}
	if mf := w.MediaFormat; mf != nil {
		if mf.Encoding != "" {
			s.Encoding = strings.ToUpper(mf.Encoding)
		}
		if mf.SampleRate.Set {
			s.SampleRate = int(min(mf.SampleRate.Value, 1<<20))
		}
		if mf.Channels.Set {
			s.Channels = int(min(mf.Channels.Value, 1<<10))
		}
	}
	if s.Encoding != "PCMU" && s.Encoding != "PCMA" {
		errs = append(errs, fmt.Errorf("%w: start.media_format.encoding %q is not supported (want PCMU or PCMA)", ErrProtocol, carrier.Clip(s.Encoding)))
	}
	if s.SampleRate != 8000 {
		errs = append(errs, fmt.Errorf("%w: start.media_format.sample_rate must be 8000 for %s, got %d", ErrProtocol, s.Encoding, s.SampleRate))
	}
	if s.Channels != 1 {
		errs = append(errs, fmt.Errorf("%w: start.media_format.channels must be 1, got %d", ErrProtocol, s.Channels))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

func parseMedia(w *wireMedia) (*Media, error) {
	if w == nil {
		return nil, fmt.Errorf("%w: media message without a media object", ErrProtocol)
	}
	if w.Payload == nil {
		return nil, fmt.Errorf("%w: media message without media.payload", ErrProtocol)
	}
	if err := carrier.CheckString("media.track", w.Track, 32); err != nil {
		return nil, err
	}
	payload, err := carrier.DecodeBase64("media.payload", *w.Payload, maxPayload)
	if err != nil {
		return nil, err
	}
	return &Media{Track: w.Track, Chunk: w.Chunk.Value, Timestamp: w.Timestamp.Value, Payload: payload}, nil
}

// Format returns the carrier audio format a start message announces.
func (s *Start) Format() carrier.Format {
	f := carrier.Format{Encoding: carrier.Mulaw, Rate: s.SampleRate}
	if s.Encoding == "PCMA" {
		f.Encoding = carrier.Alaw
	}
	return f
}

// Outbound messages.
type mediaOut struct {
	Event string `json:"event"`
	Media struct {
		Payload string `json:"payload"`
	} `json:"media"`
}

type markOut struct {
	Event string `json:"event"`
	Mark  struct {
		Name string `json:"name"`
	} `json:"mark"`
}

type clearOut struct {
	Event string `json:"event"`
}
