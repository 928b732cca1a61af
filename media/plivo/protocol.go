// Package plivo serves Plivo audio streams: one WebSocket per call, opened by
// Plivo when the call's XML has <Stream bidirectional="true">wss://…</Stream>,
// carrying JSON text frames both ways.
//
// From Plivo (there is no connected message): start (start.callId, streamId,
// accountId, tracks, mediaFormat{encoding, sampleRate}; extra_headers), media
// (base64 audio; sequenceNumber and chunk are numbers, timestamp is Unix epoch ms),
// dtmf, playedStream (a checkpoint was reached; "played" is accepted too),
// clearedAudio and, if Plivo sends one, stop. To Plivo: playAudio
// (media{contentType, sampleRate, payload}), checkpoint{streamId, name} and
// clearAudio{streamId}.
//
// Audio is L16 (16-bit linear PCM, little-endian) at 8 or 16 kHz, Plivo's
// default being audio/x-l16;rate=8000, or μ-law at 8 kHz
// (contentType="audio/x-mulaw;rate=8000"); Parley answers in the stream's own
// format, in 20 ms playAudio messages with a checkpoint after every 100 ms and
// at each pause. Media frames are used in the order they arrive.
//
// The agent is chosen by the {agent} path value of the route or the "agent"
// query parameter of the stream URL, or else by an extraHeaders entry "agent".
// Authentication is the Handler's Authenticate hook, run on the upgrade request
// (for example a signed, expiring token in the stream URL's query). The call
// ends when Plivo closes the socket (or sends stop).
package plivo

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/parley-voice/parley/media/internal/carrier"
)

// Event names.
const (
	EventStart        = "start"
	EventMedia        = "media"
	EventDTMF         = "dtmf"
	EventPlayedStream = "playedStream"
	EventPlayed       = "played" // older name of playedStream in one support article
	EventClearedAudio = "clearedAudio"
	EventStop         = "stop"
	// Outbound.
	EventPlayAudio  = "playAudio"
	EventCheckpoint = "checkpoint"
	EventClearAudio = "clearAudio"
)

// ErrProtocol marks a message that breaks the Plivo protocol.
var ErrProtocol = carrier.ErrProtocol

const (
	maxIDLen      = 256
	maxNameLen    = 128
	maxPayload    = 32 << 10 // decoded bytes per media message (1 s of L16 16 kHz)
	maxExtraBytes = 1024     // Plivo caps extraHeaders at 512 bytes
)

// Message is one inbound Plivo message, decoded and validated.
type Message struct {
	Event          string
	SequenceNumber uint64
	StreamID       string
	ExtraHeaders   map[string]string
	Start          *Start
	Media          *Media
	Digit          string // dtmf, upper-cased
	Name           string // playedStream checkpoint name
}

// Start is the start message's start object.
type Start struct {
	CallID, StreamID, AccountID string
	Tracks                      []string
	Encoding                    string // audio/x-l16 or audio/x-mulaw
	SampleRate                  int
}

// Media is one media message's media object.
type Media struct {
	Track     string
	Chunk     uint64
	Timestamp uint64 // Unix epoch ms
	Payload   []byte
}

type wireMessage struct {
	Event          string          `json:"event"`
	SequenceNumber carrier.Number  `json:"sequenceNumber"`
	StreamID       string          `json:"streamId"`
	ExtraHeaders   json.RawMessage `json:"extra_headers"`
	Start          *struct {
		CallID      string   `json:"callId"`
		StreamID    string   `json:"streamId"`
		AccountID   string   `json:"accountId"`
		Tracks      []string `json:"tracks"`
		MediaFormat *struct {
			Encoding   string         `json:"encoding"`
			SampleRate carrier.Number `json:"sampleRate"`
		} `json:"mediaFormat"`
	} `json:"start"`
	Media *struct {
		Track     string         `json:"track"`
		Chunk     carrier.Number `json:"chunk"`
		Timestamp carrier.Number `json:"timestamp"`
		Payload   *string        `json:"payload"`
	} `json:"media"`
	DTMF *struct {
		Digit string `json:"digit"`
	} `json:"dtmf"`
	Name string `json:"name"`
}

// Parse decodes and validates one text frame from Plivo. Errors wrap
// ErrProtocol. Unknown fields are ignored; unknown events are errors.
func Parse(data []byte) (Message, error) {
	var w wireMessage
	if err := carrier.Unmarshal(data, &w); err != nil {
		return Message{}, err
	}
	m := Message{Event: w.Event, SequenceNumber: w.SequenceNumber.Value, StreamID: w.StreamID}
	if err := carrier.CheckString("streamId", m.StreamID, maxIDLen); err != nil {
		return Message{}, err
	}
	switch w.Event {
	case EventStart:
		if w.Start == nil {
			return Message{}, fmt.Errorf("%w: start message without a start object", ErrProtocol)
		}
		s := &Start{CallID: w.Start.CallID, StreamID: w.Start.StreamID, AccountID: w.Start.AccountID, Tracks: w.Start.Tracks,
			Encoding: "audio/x-l16", SampleRate: 8000}
		if mf := w.Start.MediaFormat; mf != nil {
			if mf.Encoding != "" {
				s.Encoding = strings.ToLower(mf.Encoding)
			}
			if mf.SampleRate.Set {
				s.SampleRate = int(min(mf.SampleRate.Value, 1<<20))
			}
		}
		if err := s.validate(); err != nil {
			return Message{}, err
		}
		if m.StreamID == "" {
			m.StreamID = s.StreamID
		}
		h, err := parseExtraHeaders(w.ExtraHeaders)
		if err != nil {
			return Message{}, err
		}
		m.Start, m.ExtraHeaders = s, h
	case EventMedia:
		if w.Media == nil || w.Media.Payload == nil {
			return Message{}, fmt.Errorf("%w: media message without media.payload", ErrProtocol)
		}
		if err := carrier.CheckString("media.track", w.Media.Track, 32); err != nil {
			return Message{}, err
		}
		p, err := carrier.DecodeBase64("media.payload", *w.Media.Payload, maxPayload)
		if err != nil {
			return Message{}, err
		}
		m.Media = &Media{Track: w.Media.Track, Chunk: w.Media.Chunk.Value, Timestamp: w.Media.Timestamp.Value, Payload: p}
	case EventDTMF:
		if w.DTMF == nil {
			return Message{}, fmt.Errorf("%w: dtmf message without a dtmf object", ErrProtocol)
		}
		d, err := carrier.Digit("dtmf.digit", w.DTMF.Digit)
		if err != nil {
			return Message{}, err
		}
		m.Digit = d
	case EventPlayedStream, EventPlayed:
		if w.Name == "" {
			return Message{}, fmt.Errorf("%w: %s without a name", ErrProtocol, w.Event)
		}
		if err := carrier.CheckString("name", w.Name, maxNameLen); err != nil {
			return Message{}, err
		}
		m.Event, m.Name = EventPlayedStream, w.Name
	case EventClearedAudio, EventStop:
	case "":
		return Message{}, fmt.Errorf("%w: message has no \"event\"", ErrProtocol)
	default:
		return Message{}, fmt.Errorf("%w: unknown event %q (want start, media, dtmf, playedStream, clearedAudio or stop)", ErrProtocol, carrier.Clip(w.Event))
	}
	return m, nil
}

func (s *Start) validate() error {
	var errs []error
	for _, f := range []struct{ name, v string }{{"start.callId", s.CallID}, {"start.streamId", s.StreamID}, {"start.accountId", s.AccountID}} {
		if err := carrier.CheckString(f.name, f.v, maxIDLen); err != nil {
			errs = append(errs, err)
		}
	}
	if len(s.Tracks) > 4 {
		errs = append(errs, fmt.Errorf("%w: start.tracks has %d entries", ErrProtocol, len(s.Tracks)))
	}
	switch {
	case s.Encoding == "audio/x-mulaw" && s.SampleRate == 8000:
	case s.Encoding == "audio/x-l16" && (s.SampleRate == 8000 || s.SampleRate == 16000):
	default:
		errs = append(errs, fmt.Errorf("%w: start.mediaFormat %q at %d Hz is not supported (want audio/x-l16 at 8000 or 16000, or audio/x-mulaw at 8000)",
			ErrProtocol, carrier.Clip(s.Encoding), s.SampleRate))
	}
	return errors.Join(errs...)
}

// Format returns the carrier audio format of the stream.
func (s *Start) Format() carrier.Format {
	if s.Encoding == "audio/x-mulaw" {
		return carrier.Format{Encoding: carrier.Mulaw, Rate: s.SampleRate}
	}
	return carrier.Format{Encoding: carrier.L16LE, Rate: s.SampleRate}
}

// parseExtraHeaders reads extra_headers: a string of k=v pairs separated by ";"
// or "," (both spellings appear in Plivo's material), or an object of strings.
func parseExtraHeaders(raw json.RawMessage) (map[string]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if len(raw) > maxExtraBytes*2 {
		return nil, fmt.Errorf("%w: extra_headers is over %d bytes", ErrProtocol, maxExtraBytes)
	}
	h := map[string]string{}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		if len(s) > maxExtraBytes {
			return nil, fmt.Errorf("%w: extra_headers is over %d bytes", ErrProtocol, maxExtraBytes)
		}
		for _, kv := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ',' }) {
			k, v, _ := strings.Cut(kv, "=")
			if k = strings.TrimSpace(k); k != "" {
				h[k] = strings.TrimSpace(v)
			}
		}
	} else if err := json.Unmarshal(raw, &h); err != nil {
		return nil, fmt.Errorf("%w: extra_headers must be a string of k=v pairs or an object of strings", ErrProtocol)
	}
	if err := carrier.CheckMetadata("extra_headers", h); err != nil {
		return nil, err
	}
	return h, nil
}

// Outbound messages.
type playAudioOut struct {
	Event string `json:"event"`
	Media struct {
		ContentType string `json:"contentType"`
		SampleRate  int    `json:"sampleRate"`
		Payload     string `json:"payload"`
	} `json:"media"`
}

type checkpointOut struct {
	Event    string `json:"event"`
	StreamID string `json:"streamId"`
	Name     string `json:"name"`
}

type clearAudioOut struct {
	Event    string `json:"event"`
	StreamID string `json:"streamId"`
}
