package builtin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// A template is text with {{name}} placeholders filled from a tool call's
// arguments. Names are top-level argument names; spaces inside the braces are
// allowed ({{ name }}). There is no escape for a literal "{{".
type template struct {
	parts []tmplPart
}

type tmplPart struct {
	literal string
	// name is set for a placeholder.
	name string
	// inString marks a placeholder inside a JSON string literal of the
	// template (set by markJSONStrings).
	inString bool
}

var placeholderName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// parseTemplate splits s into literal text and placeholders.
func parseTemplate(s string) (*template, error) {
	t := &template{}
	rest := s
	offset := 0
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			if rest != "" {
				t.parts = append(t.parts, tmplPart{literal: rest})
			}
			return t, nil
		}
		if i > 0 {
			t.parts = append(t.parts, tmplPart{literal: rest[:i]})
		}
		j := strings.Index(rest[i+2:], "}}")
		if j < 0 {
			return nil, fmt.Errorf("unclosed \"{{\" at byte %d", offset+i)
		}
		name := strings.TrimSpace(rest[i+2 : i+2+j])
		if !placeholderName.MatchString(name) {
			return nil, fmt.Errorf("bad placeholder at byte %d: want {{name}} with a name of letters, digits and _", offset+i)
		}
		t.parts = append(t.parts, tmplPart{name: name})
		consumed := i + 2 + j + 2
		rest = rest[consumed:]
		offset += consumed
	}
}

// names lists the placeholder names in order of first use.
func (t *template) names() []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range t.parts {
		if p.name != "" && !seen[p.name] {
			seen[p.name] = true
			out = append(out, p.name)
		}
	}
	return out
}

// literalPrefix is the template text before the first placeholder.
func (t *template) literalPrefix() string {
	var b strings.Builder
	for _, p := range t.parts {
		if p.name != "" {
			break
		}
		b.WriteString(p.literal)
	}
	return b.String()
}

// markJSONStrings records, for each placeholder, whether it sits inside a JSON
// string literal of the surrounding template text.
func (t *template) markJSONStrings() {
	inString, escaped := false, false
	for i := range t.parts {
		p := &t.parts[i]
		if p.name != "" {
			p.inString = inString
			continue
		}
		for k := 0; k < len(p.literal); k++ {
			c := p.literal[k]
			switch {
			case escaped:
				escaped = false
			case inString && c == '\\':
				escaped = true
			case c == '"':
				inString = !inString
			}
		}
	}
}

// escaper turns an argument value into text for one placement.
type escaper func(v any, inString bool) (string, error)

// fill substitutes every placeholder with its argument, escaped by esc.
// Missing arguments are passed to esc as nil.
func (t *template) fill(args map[string]any, esc escaper) (string, error) {
	var b strings.Builder
	for _, p := range t.parts {
		if p.name == "" {
			b.WriteString(p.literal)
			continue
		}
		s, err := esc(args[p.name], p.inString)
		if err != nil {
			return "", fmt.Errorf("argument %q: %w", p.name, err)
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

// scalarText is the plain-text form of a scalar argument; objects and arrays
// use their JSON text.
func scalarText(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		if v {
			return "true"
		}
		return "false"
	}
	return string(marshalJSON(v))
}

// escapeURL makes a value safe anywhere in a URL path or query: everything but
// RFC 3986 unreserved characters is percent-encoded (space as %20), so a value
// cannot add path segments, query parameters or a fragment. "." and ".." are
// refused because they would move up the path.
func escapeURL(v any, _ bool) (string, error) {
	switch v.(type) {
	case map[string]any, []any:
		return "", fmt.Errorf("an object or list cannot go in the URL")
	}
	s := scalarText(v)
	if s == "." || s == ".." {
		return "", fmt.Errorf("%q is not allowed in the URL", s)
	}
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20"), nil
}

// escapeJSON places a value in a JSON body: inside a string literal as escaped
// string content, elsewhere as a JSON value (strings quoted). Either way the
// value cannot change the structure of the document. Missing values are null
// (or empty inside a string).
func escapeJSON(v any, inString bool) (string, error) {
	if !inString {
		return string(marshalJSON(v)), nil
	}
	quoted := marshalJSON(scalarText(v))
	return string(quoted[1 : len(quoted)-1]), nil
}

// escapeForm places a value in an application/x-www-form-urlencoded body.
func escapeForm(v any, _ bool) (string, error) {
	return strings.ReplaceAll(url.QueryEscape(scalarText(v)), "+", "%20"), nil
}

// escapeText places a value in a body of any other type, as is.
func escapeText(v any, _ bool) (string, error) {
	return scalarText(v), nil
}

// marshalJSON encodes a decoded argument value without HTML escaping. Values
// come from JSON, so encoding cannot fail.
func marshalJSON(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return []byte("null")
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}
