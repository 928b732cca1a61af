package agents

import (
	"errors"
	"fmt"
	"strconv"
)

// ErrDuplicateID is wrapped by LoadDir's error when two files define the same
// agent id.
var ErrDuplicateID = errors.New("duplicate agent id")

// ErrEnvNotSet is wrapped by the error for a ${VAR} reference to an unset
// environment variable that has no default.
var ErrEnvNotSet = errors.New("environment variable not set")

// FieldError is one problem found in a config: where it is (file, line and
// column when known, and the YAML path) and what is wrong. Load, Parse, LoadDir
// and Validate return every problem they find, joined with errors.Join; use
// errors.As to get the first FieldError.
type FieldError struct {
	// File is the config's file name, empty for a config built in code.
	File string
	// Line and Column are 1-based; 0 when unknown.
	Line, Column int
	// Path is the YAML path of the field, e.g. "turn.endpointing" or
	// "tools[0].name"; empty for problems with the whole file.
	Path string
	// Msg says what is wrong. It never contains values taken from the environment.
	Msg string
	// Err is the underlying error, if any.
	Err error
}

func (e *FieldError) Error() string {
	var b []byte
	if e.File != "" {
		b = append(b, e.File...)
		if e.Line > 0 {
			b = append(b, ':')
			b = strconv.AppendInt(b, int64(e.Line), 10)
			if e.Column > 0 {
				b = append(b, ':')
				b = strconv.AppendInt(b, int64(e.Column), 10)
			}
		}
		b = append(b, ": "...)
	}
	if e.Path != "" {
		b = append(b, e.Path...)
		b = append(b, ": "...)
	}
	b = append(b, e.Msg...)
	return string(b)
}

func (e *FieldError) Unwrap() error { return e.Err }

// problems collects FieldErrors while a config is checked.
type problems struct {
	src  *source
	errs []error
}

// addf records a problem at a YAML path; the position comes from the source map.
func (p *problems) addf(path, format string, args ...any) {
	fe := &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)}
	if p.src != nil {
		fe.File = p.src.name
		fe.Line, fe.Column = p.src.position(path)
	}
	p.errs = append(p.errs, fe)
}

func (p *problems) err() error { return errors.Join(p.errs...) }
