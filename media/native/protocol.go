// Package native implements Parley's own WebSocket media protocol: JSON control
// messages in text frames and raw L16 (little-endian PCM16, mono, 16 kHz) audio in
// binary frames, both directions. docs/PROTOCOL.md is the reference.
package native

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// SampleRate is the audio rate of the protocol, both directions.
const SampleRate = 16000

// Message types.
const (
	TypeStart   = "start"
	TypeStop    = "stop"
	TypeDTMF    = "dtmf"
	TypeMark    = "mark"
	TypeClear   = "clear"
	TypeStarted = "started"
	TypeEvent   = "event"
	TypeError   = "error"
)

// Limits on inbound control messages.
const (
	maxAgentLen    = 64
	maxMetadata    = 32
	maxMetaKeyLen  = 64
	maxMetaValLen  = 1024
	maxPhoneLen    = 64
	maxMarkNameLen = 128
)

// Control is one inbound JSON control message, decoded and validated.
type Control struct {
	Type string `json:"type"`
	// start
	Agent      string            `json:"agent,omitempty"`
	From       string            `json:"from,omitempty"`
	To         string            `json:"to,omitempty"`
	SampleRate int               `json:"sample_rate,omitempty"`
	Encoding   string            `json:"encoding,omitempty"`
	Metadata   map[string]string `json:"metadata,omitempty"`
	Events     []string          `json:"events,omitempty"`
	// dtmf
	Digit string `json:"digit,omitempty"`
	// mark
	Name string `json:"name,omitempty"`
}

// ErrProtocol marks a control message that breaks the protocol.
var ErrProtocol = errors.New("protocol error")

var (
	agentRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	digitRe = regexp.MustCompile(`^[0-9*#A-Da-d]$`)
)

// Limits on the start message's event filter.
const (
	maxEventPatterns   = 64
	maxEventPatternLen = 128
)

// ParseControl decodes and validates one text frame. Unknown fields and unknown
// types are errors wrapping ErrProtocol, with a message fit to show the client.
// Field names are matched exactly (encoding/json alone would accept "Agent" for
// "agent"), a field may appear once, and nothing may follow the object, so a
// message that is accepted has one meaning only.
func ParseControl(data []byte) (Control, error) {
	var c Control
	if err := decodeControl(data, &c); err != nil {
		return Control{}, fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	// Empty and absent are the same; keep one form so a Control round-trips.
	if len(c.Metadata) == 0 {
		c.Metadata = nil
	}
	if len(c.Events) == 0 {
		c.Events = nil
	}
	switch c.Type {
	case TypeStart:
		return c, c.validateStart()
	case TypeStop, TypeClear:
		return c, nil
	case TypeDTMF:
		if !digitRe.MatchString(c.Digit) {
			return c, fmt.Errorf("%w: dtmf.digit must be one of 0-9 * # A-D, got %q", ErrProtocol, clip(c.Digit))
		}
		c.Digit = strings.ToUpper(c.Digit)
		return c, nil
	case TypeMark:
		if c.Name == "" || utf8.RuneCountInString(c.Name) > maxMarkNameLen {
			return c, fmt.Errorf("%w: mark.name must be 1..%d characters", ErrProtocol, maxMarkNameLen)
		}
		return c, nil
	case "":
		return c, fmt.Errorf("%w: control message has no \"type\"", ErrProtocol)
	}
	return c, fmt.Errorf("%w: unknown message type %q (want start, stop, dtmf, mark or clear)", ErrProtocol, clip(c.Type))
}

// controlField returns where the field key of a control message is decoded and
// what JSON it must hold (for the error message); ok is false for unknown keys.
func controlField(c *Control, key string) (dst any, kind string, ok bool) {
	switch key {
	case "type":
		return &c.Type, "a string", true
	case "agent":
		return &c.Agent, "a string", true
	case "from":
		return &c.From, "a string", true
	case "to":
		return &c.To, "a string", true
	case "sample_rate":
		return &c.SampleRate, "an integer", true
	case "encoding":
		return &c.Encoding, "a string", true
	case "metadata":
		return &c.Metadata, "an object of strings", true
	case "events":
		return &c.Events, "a list of strings", true
	case "digit":
		return &c.Digit, "a string", true
	case "name":
		return &c.Name, "a string", true
	}
	return nil, "", false
}

// decodeControl reads one JSON object into c field by field, so that each error
// names the field at fault in the client's terms, not in Go's.
func decodeControl(data []byte, c *Control) error {
	if len(bytes.TrimLeft(data, " \t\r\n")) == 0 {
		return errors.New("empty control message; want a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("invalid JSON control message: %s", cleanJSONError(err))
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return errors.New("a control message must be a JSON object")
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("invalid JSON control message: %s", cleanJSONError(err))
		}
		key, _ := tok.(string) // inside an object, the decoder only yields string keys here
		dst, kind, known := controlField(c, key)
		if !known {
			if _, _, ok := controlField(c, strings.ToLower(key)); ok {
				return fmt.Errorf("unknown field %q (did you mean %q?)", clip(key), strings.ToLower(key))
			}
			return fmt.Errorf("unknown field %q", clip(key))
		}
		if seen[key] {
			return fmt.Errorf("field %q appears more than once", key)
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return fmt.Errorf("invalid JSON in field %q: %s", key, cleanJSONError(err))
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			return fmt.Errorf("field %q must be %s, got %s", key, kind, clip(string(raw)))
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return fmt.Errorf("invalid JSON control message: %s", cleanJSONError(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON control message")
	}
	return nil
}

func (c *Control) validateStart() error {
	var errs []error
	if c.Agent == "" {
		errs = append(errs, errors.New("start.agent is required"))
	} else if len(c.Agent) > maxAgentLen || !agentRe.MatchString(c.Agent) {
		errs = append(errs, fmt.Errorf("start.agent %q is not a valid agent id (lowercase letters, digits, _ and -, at most %d)", clip(c.Agent), maxAgentLen))
	}
	if c.SampleRate != 0 && c.SampleRate != SampleRate {
		errs = append(errs, fmt.Errorf("start.sample_rate must be %d (L16 16 kHz), got %d", SampleRate, c.SampleRate))
	}
	if c.Encoding != "" && c.Encoding != "audio/l16" && c.Encoding != "pcm16" {
		errs = append(errs, fmt.Errorf("start.encoding must be \"audio/l16\", got %q", clip(c.Encoding)))
	}
	if utf8.RuneCountInString(c.From) > maxPhoneLen || utf8.RuneCountInString(c.To) > maxPhoneLen {
		errs = append(errs, fmt.Errorf("start.from and start.to are limited to %d characters", maxPhoneLen))
	}
	if len(c.Metadata) > maxMetadata {
		errs = append(errs, fmt.Errorf("start.metadata has %d entries, limit %d", len(c.Metadata), maxMetadata))
	}
	for _, k := range slices.Sorted(maps.Keys(c.Metadata)) {
		if utf8.RuneCountInString(k) > maxMetaKeyLen {
			errs = append(errs, fmt.Errorf("start.metadata key %q is longer than %d characters", clip(k), maxMetaKeyLen))
			break
		}
		if utf8.RuneCountInString(c.Metadata[k]) > maxMetaValLen {
			errs = append(errs, fmt.Errorf("start.metadata[%q] is longer than %d characters", clip(k), maxMetaValLen))
			break
		}
	}
	if len(c.Events) > maxEventPatterns {
		errs = append(errs, fmt.Errorf("start.events has %d patterns, limit %d", len(c.Events), maxEventPatterns))
	} else {
		for _, p := range c.Events {
			if p == "" || len(p) > maxEventPatternLen {
				errs = append(errs, fmt.Errorf("start.events: a pattern must be 1..%d characters, got %q (empty or too long)", maxEventPatternLen, clip(p)))
				break
			}
			if _, err := path.Match(p, ""); err != nil {
				errs = append(errs, fmt.Errorf("start.events: %q is not a valid glob pattern", clip(p)))
				break
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrProtocol, errors.Join(errs...))
	}
	return nil
}

// clip shortens s for an error message, cutting on a character boundary, and
// replaces invalid UTF-8 (the message goes back to the client as JSON).
func clip(s string) string {
	const max = 40
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= max {
		return s
	}
	n := max
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func cleanJSONError(err error) string {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected end of message"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// Outbound messages.
type startedMsg struct {
	Type       string `json:"type"`
	CallID     string `json:"call_id"`
	Agent      string `json:"agent"`
	SampleRate int    `json:"sample_rate"`
	Encoding   string `json:"encoding"`
}

type eventMsg struct {
	Type  string `json:"type"`
	Event any    `json:"event"`
}

type errorMsg struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

type stopMsg struct {
	Type   string `json:"type"`
	Reason string `json:"reason"`
}

type markMsg struct {
	Type string `json:"type"`
	Name string `json:"name"`
}
