package agents

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/invopop/jsonschema"
)

// Duration is a time.Duration written as a string with units, such as "600ms",
// "1.5s" or "15m", in YAML and JSON.
type Duration time.Duration

// durationPattern is what a Duration accepts, in the JSON Schema too: one or more
// non-negative numbers with units, or a bare 0.
const durationPattern = `^(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|ms|s|m|h))+)$`

var durationRE = regexp.MustCompile(durationPattern)

var errBadDuration = errors.New(`want a number with a unit, e.g. "600ms", "1.5s" or "2m"`)

// ParseDuration reads a duration such as "600ms" or "1m30s". Negative values and
// numbers without a unit (other than 0) are rejected.
func ParseDuration(s string) (Duration, error) {
	if !durationRE.MatchString(s) {
		return 0, errBadDuration
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, errBadDuration
	}
	return Duration(d), nil
}

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// String formats d the way configs write it: "600ms", "1.5s", "15m", "2h".
func (d Duration) String() string {
	t := time.Duration(d)
	switch {
	case t == 0:
		return "0s"
	case t%time.Hour == 0:
		return strconv.FormatInt(int64(t/time.Hour), 10) + "h"
	case t%time.Minute == 0:
		return strconv.FormatInt(int64(t/time.Minute), 10) + "m"
	}
	return t.String()
}

// MarshalText writes d as a string with units.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads a string with units.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("invalid duration: %w", err)
	}
	*d = v
	return nil
}

// JSONSchema describes Duration as a pattern-checked string.
func (Duration) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		Type:        "string",
		Pattern:     durationPattern,
		Description: `A duration with units, such as "600ms", "1.5s" or "15m".`,
		Examples:    []any{"600ms", "1.5s", "15m"},
	}
}
