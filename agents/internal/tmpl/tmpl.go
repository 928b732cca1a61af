// Package tmpl parses the tiny template language of flow texts: literal text with
// {{name}} references to slots and variables, and {{result.field}} references
// into the JSON result of the last tool call.
package tmpl

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Part is a piece of a parsed template: literal text, or a reference when Ref is
// set.
type Part struct {
	Text string
	Ref  string
}

// Template is a parsed template.
type Template []Part

var refRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$`)

// ErrSyntax is wrapped by every parse error.
var ErrSyntax = errors.New("template syntax")

// Parse splits s into literal text and {{references}}. Spaces inside the braces
// are ignored.
func Parse(s string) (Template, error) {
	var t Template
	for s != "" {
		i := strings.Index(s, "{{")
		if i < 0 {
			t = append(t, Part{Text: s})
			break
		}
		if i > 0 {
			t = append(t, Part{Text: s[:i]})
		}
		rest := s[i+2:]
		j := strings.Index(rest, "}}")
		if j < 0 {
			return nil, fmt.Errorf("%w: %q is not closed with }}", ErrSyntax, clip(s[i:]))
		}
		name := strings.TrimSpace(rest[:j])
		if !refRE.MatchString(name) {
			return nil, fmt.Errorf("%w: %q is not a valid reference (want a name like day or result.status)", ErrSyntax, clip(rest[:j]))
		}
		t = append(t, Part{Ref: name})
		s = rest[j+2:]
	}
	return t, nil
}

// Refs returns the references of t in order, duplicates included.
func (t Template) Refs() []string {
	var out []string
	for _, p := range t {
		if p.Ref != "" {
			out = append(out, p.Ref)
		}
	}
	return out
}

// Fill renders t, asking lookup for the value of every reference.
func (t Template) Fill(lookup func(ref string) string) string {
	var b strings.Builder
	for _, p := range t {
		if p.Ref != "" {
			b.WriteString(lookup(p.Ref))
		} else {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

func clip(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}
