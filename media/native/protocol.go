// Package native implements Parley's own WebSocket media protocol: JSON control
// messages in text frames and raw L16 (little-endian PCM16, mono, 16 kHz) audio in
// binary frames, both directions. docs/PROTOCOL.md is the reference.
package native

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
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

// ParseControl decodes and validates one text frame. Unknown fields and unknown
// types are errors wrapping ErrProtocol, with a message fit to show the client.
func ParseControl(data []byte) (Control, error) {
	var c Control
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Control{}, fmt.Errorf("%w: invalid JSON control message: %s", ErrProtocol, cleanJSONError(err))
	}
	if dec.More() {
		return Control{}, fmt.Errorf("%w: trailing data after the JSON control message", ErrProtocol)
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
		return c, nil
	case TypeMark:
		if c.Name == "" || len(c.Name) > maxMarkNameLen {
			return c, fmt.Errorf("%w: mark.name must be 1..%d characters", ErrProtocol, maxMarkNameLen)
		}
		return c, nil
	case "":
		return c, fmt.Errorf("%w: control message has no \"type\"", ErrProtocol)
	}
	return c, fmt.Errorf("%w: unknown message type %q (want start, stop, dtmf, mark or clear)", ErrProtocol, clip(c.Type))
}

func (c *Control) validateStart() error {
	var errs []error
	if c.Agent == "" {
		errs = append(errs, errors.New("start.agent is required"))
	} else if len(c.Agent) > maxAgentLen || !agentRe.MatchString(c.Agent) {
		errs = append(errs, fmt.Errorf("start.agent %q is not a valid agent id", clip(c.Agent)))
	}
	if c.SampleRate != 0 && c.SampleRate != SampleRate {
		errs = append(errs, fmt.Errorf("start.sample_rate must be %d (L16 16 kHz), got %d", SampleRate, c.SampleRate))
	}
	if c.Encoding != "" && c.Encoding != "audio/l16" && c.Encoding != "pcm16" {
		errs = append(errs, fmt.Errorf("start.encoding must be \"audio/l16\", got %q", clip(c.Encoding)))
	}
	if len(c.From) > maxPhoneLen || len(c.To) > maxPhoneLen {
		errs = append(errs, fmt.Errorf("start.from and start.to are limited to %d characters", maxPhoneLen))
	}
	if len(c.Metadata) > maxMetadata {
		errs = append(errs, fmt.Errorf("start.metadata has %d entries, limit %d", len(c.Metadata), maxMetadata))
	}
	for k, v := range c.Metadata {
		if len(k) > maxMetaKeyLen || len(v) > maxMetaValLen {
			errs = append(errs, fmt.Errorf("start.metadata[%q] exceeds %d/%d characters", clip(k), maxMetaKeyLen, maxMetaValLen))
			break
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrProtocol, errors.Join(errs...))
	}
	return nil
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

func cleanJSONError(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	}
	return err.Error()
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
