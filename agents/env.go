package agents

import (
	"fmt"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// expandEnv replaces ${VAR} and ${VAR:-default} in s; $$ stands for a literal $
// and any other $ is kept as it is. ${VAR:-default} uses the default when VAR is
// unset or empty. It returns the values taken from the environment.
func expandEnv(s string, lookup func(string) (string, bool)) (string, []string, error) {
	if !strings.Contains(s, "$") {
		return s, nil, nil
	}
	var b strings.Builder
	var used []string
	for i := 0; i < len(s); {
		c := s[i]
		if c != '$' || i+1 >= len(s) {
			b.WriteByte(c)
			i++
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i += 2
			continue
		case '{':
		default:
			b.WriteByte(c)
			i++
			continue
		}
		end := strings.IndexByte(s[i+2:], '}')
		if end < 0 {
			return "", nil, fmt.Errorf("unterminated ${ (write $$ for a literal $)")
		}
		ref := s[i+2 : i+2+end]
		name, def, hasDef := strings.Cut(ref, ":-")
		if !envNameRE.MatchString(name) {
			return "", nil, fmt.Errorf("invalid variable reference %q: want ${NAME} or ${NAME:-default}", clipRef("${"+ref+"}"))
		}
		v, ok := lookup(name)
		switch {
		case ok && v != "":
			used = append(used, v)
		case hasDef:
			v = def
		case !ok:
			return "", nil, fmt.Errorf("%w: %s (set it, or give a default with ${%s:-default})", ErrEnvNotSet, name, name)
		}
		b.WriteString(v)
		i += 2 + end + 1
	}
	return b.String(), used, nil
}

func clipRef(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}

// interpolator substitutes environment variables into every scalar value of a
// YAML tree (not into keys), in place, before the tree is decoded. Working on the
// tree rather than the text keeps line numbers right and means a value can never
// change the structure of the document.
type interpolator struct {
	lookup  func(string) (string, bool)
	src     *source
	changed map[*yaml.Node]bool
	errs    []error
}

func (in *interpolator) walk(n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			in.walk(c, path)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			in.walk(c, indexPath(path, i))
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			in.walk(n.Content[i+1], joinPath(path, n.Content[i].Value))
		}
	case yaml.ScalarNode:
		in.scalar(n, path)
	}
}

func (in *interpolator) scalar(n *yaml.Node, path string) {
	if !strings.Contains(n.Value, "$") {
		return
	}
	v, used, err := expandEnv(n.Value, in.lookup)
	if err != nil {
		in.errs = append(in.errs, &FieldError{File: in.src.name, Line: n.Line, Column: n.Column, Path: path, Msg: err.Error(), Err: err})
		return
	}
	if v == n.Value {
		return
	}
	n.Value = v
	in.changed[n] = true
	in.src.secrets = append(in.src.secrets, used...)
	// A plain scalar is typed by its text, as if the value had been written in
	// the file: port: ${PORT} is a number. Quote the reference to keep a string.
	if n.Style&(yaml.TaggedStyle|yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0 {
		n.Tag = ""
		n.Tag = n.ShortTag()
	}
}
