package carrier

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Number is a non-negative integer a carrier may send as a JSON number or as a
// decimal string (Twilio-style carriers quote their counters, Plivo does not).
// Set reports whether the field was present.
type Number struct {
	Value uint64
	Set   bool
}

// UnmarshalJSON accepts 42 and "42"; null leaves the Number unset.
func (n *Number) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		return nil
	}
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		var err error
		if s, err = strconv.Unquote(s); err != nil {
			return errors.New("invalid string")
		}
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return fmt.Errorf("want a non-negative integer, got %s", Clip(string(b)))
	}
	n.Value, n.Set = v, true
	return nil
}

// Unmarshal decodes one JSON object into v, with errors that name what was wrong
// in the carrier's terms. Unknown fields are ignored: carriers add fields without
// notice, and refusing them would drop real calls. Nothing may follow the object.
func Unmarshal(data []byte, v any) error {
	if len(bytes.TrimLeft(data, " \t\r\n")) == 0 {
		return fmt.Errorf("%w: empty message; want a JSON object", ErrProtocol)
	}
	if t := bytes.TrimLeft(data, " \t\r\n"); t[0] != '{' {
		return fmt.Errorf("%w: a message must be a JSON object", ErrProtocol)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: invalid JSON message: %s", ErrProtocol, CleanJSONError(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: trailing data after the JSON message", ErrProtocol)
	}
	return nil
}

// CleanJSONError shortens a decoding error to what a log reader needs.
func CleanJSONError(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	case errors.As(err, &te):
		if te.Field != "" {
			return fmt.Sprintf("field %q must be %s, got %s", te.Field, te.Type, te.Value)
		}
		return fmt.Sprintf("want %s, got %s", te.Type, te.Value)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected end of message"
	}
	return Clip(strings.TrimPrefix(err.Error(), "json: "))
}

// Clip shortens s for an error message, on a character boundary, and replaces
// invalid UTF-8.
func Clip(s string) string {
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

// DecodeBase64 decodes a standard base64 payload of at most max decoded bytes.
func DecodeBase64(field, s string, max int) ([]byte, error) {
	if base64.StdEncoding.DecodedLen(len(s)) > max+2 {
		return nil, fmt.Errorf("%w: %s is over %d bytes", ErrProtocol, field, max)
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %s is not valid base64: %s", ErrProtocol, field, Clip(err.Error()))
	}
	if len(b) > max {
		return nil, fmt.Errorf("%w: %s is over %d bytes", ErrProtocol, field, max)
	}
	return b, nil
}

var digitRe = regexp.MustCompile(`^[0-9*#A-Da-d]$`)

// Digit validates a DTMF digit and returns it upper-cased.
func Digit(field, d string) (string, error) {
	if !digitRe.MatchString(d) {
		return "", fmt.Errorf("%w: %s must be one of 0-9 * # A-D, got %q", ErrProtocol, field, Clip(d))
	}
	return strings.ToUpper(d), nil
}

// CheckString enforces a length limit (in bytes) on a field, and valid UTF-8.
func CheckString(field, s string, max int) error {
	if len(s) > max {
		return fmt.Errorf("%w: %s is longer than %d bytes", ErrProtocol, field, max)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrProtocol, field)
	}
	return nil
}

// Limits on metadata a carrier passes through to the call.
const (
	MaxMetadata   = 32
	MaxMetaKeyLen = 64
	MaxMetaValLen = 1024
)

// CheckMetadata enforces the metadata limits on m.
func CheckMetadata(field string, m map[string]string) error {
	if len(m) > MaxMetadata {
		return fmt.Errorf("%w: %s has %d entries, limit %d", ErrProtocol, field, len(m), MaxMetadata)
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		v := m[k]
		if k == "" {
			return fmt.Errorf("%w: %s has an empty key", ErrProtocol, field)
		}
		if err := CheckString(field+" key "+strconv.Quote(Clip(k)), k, MaxMetaKeyLen); err != nil {
			return err
		}
		if err := CheckString(field+"["+strconv.Quote(Clip(k))+"]", v, MaxMetaValLen); err != nil {
			return err
		}
	}
	return nil
}
