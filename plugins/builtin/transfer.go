package builtin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/parley-voice/parley/pipeline"
	"github.com/parley-voice/parley/plugins"
)

type transferArgs struct {
	To     string `json:"to" jsonschema:"description=Where to transfer the caller: a phone number in E.164 form (e.g. +15550100) or a SIP URI (e.g. sip:support@example.com)"`
	Reason string `json:"reason,omitempty" jsonschema:"description=Why the caller is being transferred"`
}

// transferOptions configure transfer_call.
type transferOptions struct {
	// Destinations, if set, are the only numbers or SIP URIs the model may
	// transfer to. Without them any valid destination goes, which lets a caller
	// talk the model into dialling a number of their choice.
	Destinations []string `json:"destinations"`
}

// NewTransferCall is the factory of the transfer_call tool. The model gives
// "to", an E.164 phone number or a sip:/sips: URI (spaces, dashes, dots and
// parentheses in phone numbers are ignored); the result carries
// plugins.ActionTransfer with the normalized destination. The optional
// "destinations" option limits where calls may go and is offered to the model
// as an enum.
func NewTransferCall(opts json.RawMessage) (plugins.Tool, error) {
	var o transferOptions
	if err := decodeOptions(TransferCallName, opts, &o); err != nil {
		return nil, err
	}
	allowed := make([]string, 0, len(o.Destinations))
	for i, d := range o.Destinations {
		n, err := NormalizeDestination(d)
		if err != nil {
			return nil, fmt.Errorf("%w: %s option \"destinations[%d]\": %v", plugins.ErrBadOptions, TransferCallName, i, err)
		}
		if !slices.Contains(allowed, n) {
			allowed = append(allowed, n)
		}
	}
	inner, err := plugins.NewFunc(TransferCallName,
		"Transfer the caller to a person or another line. Tell the caller before transferring.",
		func(_ context.Context, a transferArgs) (any, error) {
			to, err := NormalizeDestination(a.To)
			if err != nil {
				return nil, fmt.Errorf("%w: argument \"to\": %v", plugins.ErrBadArguments, err)
			}
			if len(allowed) > 0 && !slices.Contains(allowed, to) {
				return nil, fmt.Errorf("%w: argument \"to\": must be one of %s", plugins.ErrBadArguments, strings.Join(allowed, ", "))
			}
			content, _ := json.Marshal(map[string]any{"ok": true, "action": "transfer", "to": to})
			return plugins.Result{
				Content:    string(content),
				Action:     plugins.ActionTransfer,
				TransferTo: to,
				Reason:     a.Reason,
			}, nil
		})
	if err != nil {
		return nil, err
	}
	if len(allowed) == 0 {
		return inner, nil
	}
	spec := inner.Spec()
	params, err := withEnum(spec.Parameters, "to", allowed)
	if err != nil {
		return nil, err
	}
	spec.Parameters = params
	return &transferTool{Tool: inner, spec: spec}, nil
}

// transferTool is transfer_call limited to configured destinations, which its
// spec lists as an enum.
type transferTool struct {
	plugins.Tool
	spec pipeline.ToolSpec
}

func (t *transferTool) Spec() pipeline.ToolSpec {
	s := t.spec
	s.Parameters = bytes.Clone(s.Parameters)
	return s
}

// withEnum adds an enum to one property of an object schema.
func withEnum(params json.RawMessage, prop string, values []string) (json.RawMessage, error) {
	var schema map[string]any
	if err := json.Unmarshal(params, &schema); err != nil {
		return nil, err
	}
	props, _ := schema["properties"].(map[string]any)
	p, _ := props[prop].(map[string]any)
	if p == nil {
		return nil, fmt.Errorf("schema has no property %q", prop)
	}
	p["enum"] = values
	return json.Marshal(schema)
}

var (
	e164RE = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)
	// sip:[user@]host[:port][;params]; host is a DNS name, IPv4 or [IPv6].
	sipRE      = regexp.MustCompile(`^sips?:(?:[^\s@:;?]+@)?(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?(?:;[^\s;=]+(?:=[^\s;]*)?)*$`)
	phoneNoise = strings.NewReplacer(" ", "", "-", "", ".", "", "(", "", ")", "")
)

// NormalizeDestination checks a transfer destination and returns it in
// canonical form: an E.164 number (+ and up to 15 digits; spaces, dashes, dots
// and parentheses removed) or a SIP URI with a lower-case sip:/sips: scheme.
func NormalizeDestination(to string) (string, error) {
	to = strings.TrimSpace(to)
	lower := strings.ToLower(to)
	if strings.HasPrefix(lower, "sip:") || strings.HasPrefix(lower, "sips:") {
		scheme, rest, _ := strings.Cut(to, ":")
		uri := strings.ToLower(scheme) + ":" + rest
		if len(uri) > 256 || !sipRE.MatchString(uri) {
			return "", fmt.Errorf("%q is not a valid SIP URI (want e.g. sip:support@example.com)", shorten(to))
		}
		return uri, nil
	}
	n := phoneNoise.Replace(to)
	if !e164RE.MatchString(n) {
		return "", fmt.Errorf("%q is not an E.164 phone number like +15550100 or a sip: URI", shorten(to))
	}
	return n, nil
}

// shorten keeps error messages readable when a model sends a wall of text.
func shorten(s string) string {
	const limit = 64
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

var _ plugins.Tool = (*transferTool)(nil)
