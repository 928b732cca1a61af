package agents

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// MaxSecretFileSize is the largest file ${file:PATH} or NAME_FILE may name.
// Secrets are keys and tokens; anything larger is a mistake (the wrong path).
const MaxSecretFileSize = 64 << 10

// filePrefix starts a reference to a file's contents: ${file:/run/secrets/key}.
const filePrefix = "file:"

// expandEnv replaces ${VAR}, ${VAR:-default} and ${file:PATH} in s; $$ stands
// for a literal $ and any other $ is kept as it is. ${VAR:-default} uses the
// default when VAR is unset or empty. A relative PATH is taken from dir. It
// returns the values taken from the environment or from files: they may be
// secrets, and error messages must never repeat them.
func expandEnv(s string, lookup func(string) (string, bool), dir string) (string, []string, error) {
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
		var def string
		var hasDef bool
		if !strings.HasPrefix(ref, filePrefix) {
			ref, def, hasDef = strings.Cut(ref, ":-")
		}
		v, ok, err := LookupSecret(ref, dir, lookup)
		switch {
		case err != nil:
			return "", nil, err
		case ok && v != "":
			used = append(used, v)
		case hasDef:
			v = def
		case !ok:
			return "", nil, fmt.Errorf("%w: %s (set it or %s_FILE, or give a default with ${%s:-default})", ErrEnvNotSet, ref, ref, ref)
		}
		b.WriteString(v)
		i += 2 + end + 1
	}
	return b.String(), used, nil
}

// LookupSecret resolves the inside of one ${…} reference of a config file.
// "file:PATH" is the contents of the file at PATH (relative to dir), without
// its trailing newlines. NAME is the environment variable NAME; when NAME is
// unset or empty and NAME_FILE is set, it is the contents of the file NAME_FILE
// names (the convention of Docker images for secrets). ok is false when neither
// NAME nor NAME_FILE is set. Errors name variables and paths, never contents.
func LookupSecret(ref, dir string, lookup func(string) (string, bool)) (value string, ok bool, err error) {
	if path, isFile := strings.CutPrefix(ref, filePrefix); isFile {
		if strings.TrimSpace(path) == "" {
			return "", false, errors.New("${file:} needs a path, e.g. ${file:/run/secrets/api_key}")
		}
		v, err := ReadSecretFile(resolvePath(dir, path))
		return v, err == nil, err
	}
	if !envNameRE.MatchString(ref) {
		return "", false, fmt.Errorf("invalid variable reference %q: want ${NAME}, ${NAME:-default} or ${file:PATH}", clipRef("${"+ref+"}"))
	}
	v, ok := lookup(ref)
	path, fromFile := lookup(ref + "_FILE")
	switch {
	case !fromFile || path == "":
		return v, ok, nil
	case v != "":
		return "", false, fmt.Errorf("both %s and %s_FILE are set; set only one", ref, ref)
	}
	v, err = ReadSecretFile(resolvePath(dir, path))
	if err != nil {
		return "", false, fmt.Errorf("%s_FILE: %w", ref, err)
	}
	return v, true, nil
}

func resolvePath(dir, path string) string {
	if filepath.IsAbs(path) || dir == "" {
		return path
	}
	return filepath.Join(dir, path)
}

// ReadSecretFile returns the contents of the secret file at path without its
// trailing newlines. It accepts only regular files of at most
// MaxSecretFileSize bytes (a device or a FIFO could block or never end). Its
// errors name the path and never the contents.
func ReadSecretFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("reading secret file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("reading secret file: %w", err)
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("reading secret file %s: not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxSecretFileSize+1))
	if err != nil {
		return "", fmt.Errorf("reading secret file: %w", err)
	}
	if len(data) > MaxSecretFileSize {
		return "", fmt.Errorf("reading secret file %s: larger than %d bytes; a secret file holds only the secret", path, MaxSecretFileSize)
	}
	return strings.TrimRight(string(data), "\r\n"), nil
}

func clipRef(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}

// interpolator substitutes environment variables and secret files
// (${file:PATH}, NAME_FILE) into every scalar value of a
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
	v, used, err := expandEnv(n.Value, in.lookup, filepath.Dir(in.src.name))
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
