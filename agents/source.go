package agents

import (
	"strconv"
	"strings"
)

// source remembers where a parsed config came from: its file name, the position
// of every YAML path, and the values that were taken from the environment so
// that error messages never repeat them.
type source struct {
	name    string
	pos     map[string]position
	secrets []string
}

type position struct{ line, col int }

// position returns the line and column of path or of its nearest ancestor that
// the file spells out; 0, 0 when none does.
func (s *source) position(path string) (int, int) {
	if s == nil {
		return 0, 0
	}
	for {
		if p, ok := s.pos[path]; ok {
			return p.line, p.col
		}
		if path == "" {
			return 0, 0
		}
		path = parentPath(path)
	}
}

func parentPath(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func indexPath(parent string, i int) string {
	return parent + "[" + strconv.Itoa(i) + "]"
}

// show quotes a config value for an error message, unless it contains a value
// taken from the environment or a secret file: those may be secrets and are
// never echoed.
func (s *source) show(v string) string {
	if s != nil {
		for _, sec := range s.secrets {
			if sec != "" && strings.Contains(v, sec) {
				return "(value from the environment or a secret file)"
			}
		}
	}
	if r := []rune(v); len(r) > 60 {
		v = string(r[:60]) + "…"
	}
	return strconv.Quote(v)
}
