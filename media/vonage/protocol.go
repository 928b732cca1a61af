// Package vonage serves the Vonage Voice API WebSocket: one WebSocket per call,
// opened by Vonage when an NCCO connect action names a websocket endpoint.
//
// The first message is a text frame {"event":"websocket:connected",
// "content-type":"audio/l16;rate=16000", …} carrying the endpoint's headers
// flattened onto its top level. After it, binary frames are audio (16-bit linear
// PCM, little-endian, mono, at the rate of the content-type: 8, 16 or 24 kHz) and
// text frames are events (websocket:dtmf, websocket:notify, websocket:cleared).
// There is no start or stop event: the frame type tells audio from control, and
// the call ends when the socket closes.
//
// Parley sends binary frames of exactly 20 ms (320, 640 or 960 bytes), padding
// the last frame of each stretch of speech with silence; {"action":"notify",
// "payload":{"name":"parley-N"}} after every 100 ms of audio and at each pause,
// which Vonage answers with websocket:notify when playback reaches it (Parley's
// mark); and {"action":"clear"} on barge-in, answered by websocket:cleared.
//
// The agent is chosen by the {agent} path value of the route or the "agent"
// query parameter of the websocket uri, or else by an NCCO header named "agent".
// The headers "from", "to" and "uuid" (the call's uuid, which the answer webhook
// receives) become StartRequest.From, To and CallID; every header is passed on
// as Metadata. Authentication is the Handler's Authenticate hook, run on the
// upgrade request (for example a signed, expiring token in the uri's query).
package vonage

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/parley-voice/parley/media/internal/carrier"
)

// Event names from Vonage.
const (
	EventConnected = "websocket:connected"
	EventDTMF      = "websocket:dtmf"
	EventNotify    = "websocket:notify"
	EventCleared   = "websocket:cleared"
)

// Actions Parley sends.
const (
	ActionNotify = "notify"
	ActionClear  = "clear"
)

// ErrProtocol marks a message that breaks the Vonage protocol.
var ErrProtocol = carrier.ErrProtocol

const (
	maxNotifyName = 128
	maxHeaderRaw  = 1024
)

// Message is one inbound text frame from Vonage, decoded and validated.
type Message struct {
	Event string
	// websocket:connected
	ContentType string
	Format      carrier.Format
	Headers     map[string]string
	// websocket:dtmf
	Digit    string
	Duration int // ms, when Vonage sent it
	// websocket:notify: the name Parley put in the payload, if any
	Name string
}

// Parse decodes and validates one text frame from Vonage. Errors wrap
// ErrProtocol. Unknown fields are ignored, except on websocket:connected where
// every other top-level field is an NCCO header.
func Parse(data []byte) (Message, error) {
	var raw map[string]json.RawMessage
	if err := carrier.Unmarshal(data, &raw); err != nil {
		return Message{}, err
	}
	var m Message
	if err := str(raw, "event", &m.Event); err != nil {
		return Message{}, err
	}
	switch m.Event {
	case EventConnected:
		return parseConnected(raw, m)
	case EventDTMF:
		return parseDTMF(raw, m)
	case EventNotify:
		if p, ok := raw["payload"]; ok && !isNull(p) {
			var payload struct {
				Name json.RawMessage `json:"name"`
			}
			if err := json.Unmarshal(p, &payload); err != nil {
				return Message{}, fmt.Errorf("%w: websocket:notify payload must be an object", ErrProtocol)
			}
			var name string
			if json.Unmarshal(payload.Name, &name) == nil {
				if err := carrier.CheckString("payload.name", name, maxNotifyName); err != nil {
					return Message{}, err
				}
				m.Name = name
			}
		}
		return m, nil
	case EventCleared:
		return m, nil
	case "":
		return Message{}, fmt.Errorf("%w: message has no \"event\"", ErrProtocol)
	}
	return Message{}, fmt.Errorf("%w: unknown event %q (want websocket:connected, websocket:dtmf, websocket:notify or websocket:cleared)", ErrProtocol, carrier.Clip(m.Event))
}

func parseConnected(raw map[string]json.RawMessage, m Message) (Message, error) {
	if err := str(raw, "content-type", &m.ContentType); err != nil {
		return Message{}, err
	}
	f, err := ParseContentType(m.ContentType)
	if err != nil {
		return Message{}, err
	}
	m.Format = f
	m.Headers = map[string]string{}
	for k, v := range raw {
		if k == "event" || k == "content-type" {
			continue
		}
		var s string
		if json.Unmarshal(v, &s) != nil {
			// Headers may hold any JSON value; keep non-strings as compact JSON.
			var b bytes.Buffer
			if err := json.Compact(&b, v); err != nil || b.Len() > maxHeaderRaw {
				return Message{}, fmt.Errorf("%w: header %q is not a usable value", ErrProtocol, carrier.Clip(k))
			}
			s = b.String()
		}
		m.Headers[k] = s
	}
	if err := carrier.CheckMetadata("websocket:connected headers", m.Headers); err != nil {
		return Message{}, err
	}
	return m, nil
}

func parseDTMF(raw map[string]json.RawMessage, m Message) (Message, error) {
	digit, duration := raw["digit"], raw["duration"]
	if nested, ok := raw["dtmf"]; ok && digit == nil {
		// Some integrations see {"dtmf":{"digit":…,"duration":…}}.
		var d map[string]json.RawMessage
		if err := json.Unmarshal(nested, &d); err != nil {
			return Message{}, fmt.Errorf("%w: dtmf must be an object", ErrProtocol)
		}
		digit, duration = d["digit"], d["duration"]
	}
	var s string
	if digit == nil || json.Unmarshal(digit, &s) != nil {
		return Message{}, fmt.Errorf("%w: websocket:dtmf without a string digit", ErrProtocol)
	}
	d, err := carrier.Digit("digit", s)
	if err != nil {
		return Message{}, err
	}
	m.Digit = d
	if duration != nil {
		var n carrier.Number
		if err := n.UnmarshalJSON(duration); err != nil {
			return Message{}, fmt.Errorf("%w: duration: %s", ErrProtocol, err)
		}
		m.Duration = int(min(n.Value, 1<<31-1))
	}
	return m, nil
}

// ParseContentType reads "audio/l16;rate=16000" (8000, 16000 or 24000).
func ParseContentType(ct string) (carrier.Format, error) {
	parts := strings.Split(ct, ";")
	if strings.ToLower(strings.TrimSpace(parts[0])) != "audio/l16" {
		return carrier.Format{}, fmt.Errorf("%w: content-type %q is not supported (want audio/l16;rate=8000, 16000 or 24000)", ErrProtocol, carrier.Clip(ct))
	}
	rate := 0
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(k, "rate") {
			r, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				return carrier.Format{}, fmt.Errorf("%w: content-type %q has a bad rate", ErrProtocol, carrier.Clip(ct))
			}
			rate = r
		}
	}
	if rate != 8000 && rate != 16000 && rate != 24000 {
		return carrier.Format{}, fmt.Errorf("%w: content-type %q: rate must be 8000, 16000 or 24000", ErrProtocol, carrier.Clip(ct))
	}
	return carrier.Format{Encoding: carrier.L16LE, Rate: rate}, nil
}

func str(raw map[string]json.RawMessage, key string, dst *string) error {
	v, ok := raw[key]
	if !ok {
		return nil
	}
	if err := json.Unmarshal(v, dst); err != nil {
		return fmt.Errorf("%w: %q must be a string, got %s", ErrProtocol, key, carrier.Clip(string(v)))
	}
	return carrier.CheckString(key, *dst, 256)
}

func isNull(b json.RawMessage) bool { return string(bytes.TrimSpace(b)) == "null" }

// Outbound control messages.
type notifyOut struct {
	Action  string `json:"action"`
	Payload struct {
		Name string `json:"name"`
	} `json:"payload"`
}

type clearOut struct {
	Action string `json:"action"`
}
