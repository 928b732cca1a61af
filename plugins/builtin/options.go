package builtin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/parley-voice/parley/plugins"
)

// decodeOptions decodes a tool's options strictly into v: unknown keys, wrong
// types and trailing data are errors wrapping plugins.ErrBadOptions. Absent or
// null options leave v untouched. Messages name the option, never its value,
// because options hold secrets (header values).
func decodeOptions(tool string, opts json.RawMessage, v any) error {
	trimmed := bytes.TrimSpace(opts)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %s options: %s", plugins.ErrBadOptions, tool, describeJSONError(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: %s options: unexpected data after the options object", plugins.ErrBadOptions, tool)
	}
	return nil
}

func describeJSONError(err error) string {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		if te.Field == "" {
			return fmt.Sprintf("must be a JSON object, not a %s", te.Value)
		}
		return fmt.Sprintf("option %q: want %s, not a JSON %s", te.Field, jsonKind(te.Type.Kind().String()), te.Value)
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte %d: %s", se.Offset, se.Error())
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "truncated JSON"
	}
	msg := err.Error()
	if key, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return "unknown option " + key
	}
	return strings.TrimPrefix(msg, "json: ")
}

// jsonKind names a Go kind the way a config author thinks of it.
func jsonKind(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "an integer"
	case "float32", "float64":
		return "a number"
	case "slice", "array":
		return "a list"
	case "map", "struct":
		return "an object"
	}
	return kind
}
