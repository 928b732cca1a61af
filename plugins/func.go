package plugins

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/parley-voice/parley/pipeline"
	"github.com/parley-voice/parley/plugins/internal/argcheck"
)

// FuncOption configures a tool made by NewFunc.
type FuncOption func(*funcConfig)

type funcConfig struct {
	timeout time.Duration
}

// WithTimeout gives the tool its own deadline instead of the caller's default
// (see Timeouter). Zero or negative means the default.
func WithTimeout(d time.Duration) FuncOption {
	return func(c *funcConfig) { c.timeout = d }
}

// NewFunc makes a Tool from a typed Go function. The JSON Schema the model sees
// is derived from A (see SchemaFor). Arguments are decoded strictly: invalid JSON,
// unknown fields, missing required fields, wrong types and values outside an enum
// are errors wrapping ErrBadArguments that name the tool and the field, and fn is
// not called. Empty arguments ("" or null) count as {}.
//
// What fn returns becomes Result.Content: a string as is, a json.RawMessage as
// is, anything else encoded as JSON; nil becomes {"ok":true}. A returned Result
// or *Result is passed through, so a Go tool can end or transfer the call.
func NewFunc[A any](name, description string, fn func(ctx context.Context, args A) (any, error), opts ...FuncOption) (Tool, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	if fn == nil {
		return nil, fmt.Errorf("tool %q: nil function", name)
	}
	var cfg funcConfig
	for _, o := range opts {
		o(&cfg)
	}
	params, err := SchemaFor[A]()
	if err != nil {
		return nil, fmt.Errorf("tool %q: %w", name, err)
	}
	check, err := argcheck.Parse(params)
	if err != nil {
		return nil, fmt.Errorf("tool %q: %w: %v", name, ErrBadSchema, err)
	}
	return &funcTool[A]{
		spec:    pipeline.ToolSpec{Name: name, Description: description, Parameters: params},
		check:   check,
		fn:      fn,
		timeout: cfg.timeout,
	}, nil
}

// MustFunc is NewFunc that panics on error, for package-level tool variables and
// init functions.
func MustFunc[A any](name, description string, fn func(ctx context.Context, args A) (any, error), opts ...FuncOption) Tool {
	t, err := NewFunc(name, description, fn, opts...)
	if err != nil {
		panic(err)
	}
	return t
}

type funcTool[A any] struct {
	spec    pipeline.ToolSpec
	check   *argcheck.Schema
	fn      func(ctx context.Context, args A) (any, error)
	timeout time.Duration
}

// Spec returns the tool's name, description and derived parameters schema.
func (t *funcTool[A]) Spec() pipeline.ToolSpec {
	s := t.spec
	s.Parameters = bytes.Clone(s.Parameters)
	return s
}

// Timeout is the deadline set with WithTimeout, or zero for the default.
func (t *funcTool[A]) Timeout() time.Duration { return t.timeout }

// Call decodes args into A, runs the function and converts what it returns.
func (t *funcTool[A]) Call(ctx context.Context, args json.RawMessage) (Result, error) {
	a, err := decodeArgs[A](t.check, args)
	if err != nil {
		return Result{}, &ToolError{Tool: t.spec.Name, Err: err}
	}
	v, err := t.fn(ctx, a)
	if err != nil {
		return Result{}, &ToolError{Tool: t.spec.Name, Err: err}
	}
	res, err := toResult(v)
	if err != nil {
		return Result{}, &ToolError{Tool: t.spec.Name, Err: err}
	}
	if strings.TrimSpace(res.Content) == "" {
		res.Content = EmptyContent
	}
	return res, nil
}

// badArgs is an argument error: its message is the detail, and it matches
// ErrBadArguments.
type badArgs struct{ err error }

func (e badArgs) Error() string   { return e.err.Error() }
func (e badArgs) Unwrap() []error { return []error{ErrBadArguments, e.err} }

// normalizeArgs turns the empty arguments some models send for argument-less
// tools into {}.
func normalizeArgs(args json.RawMessage) json.RawMessage {
	trimmed := bytes.TrimSpace(args)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		return json.RawMessage(`{}`)
	}
	return trimmed
}

// decodeArgs validates args against the schema, then decodes them into A
// refusing unknown fields (a second line of defence for types whose JSON form
// the schema does not fully describe).
func decodeArgs[A any](check *argcheck.Schema, args json.RawMessage) (A, error) {
	var a A
	args = normalizeArgs(args)
	v, err := argcheck.Decode(args)
	if err != nil {
		return a, badArgs{fmt.Errorf("arguments are not valid JSON: %v", err)}
	}
	if err := argcheck.Check(check, v); err != nil {
		return a, badArgs{err}
	}
	dec := json.NewDecoder(bytes.NewReader(args))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return a, badArgs{&argcheck.Error{Path: te.Field, Problem: fmt.Sprintf("cannot hold a JSON %s (want %s)", te.Value, te.Type)}}
		}
		return a, badArgs{&argcheck.Error{Problem: strings.TrimPrefix(err.Error(), "json: ")}}
	}
	return a, nil
}

// toResult converts a function's return value into a Result.
func toResult(v any) (Result, error) {
	switch v := v.(type) {
	case nil:
		return Result{Content: EmptyContent}, nil
	case Result:
		return v, nil
	case *Result:
		if v == nil {
			return Result{Content: EmptyContent}, nil
		}
		return *v, nil
	case string:
		return Result{Content: v}, nil
	case json.RawMessage:
		if !json.Valid(v) {
			return Result{}, fmt.Errorf("%w: returned json.RawMessage is not valid JSON", ErrBadResult)
		}
		return Result{Content: string(v)}, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return Result{}, fmt.Errorf("%w: encoding result as JSON: %v", ErrBadResult, err)
	}
	return Result{Content: string(b)}, nil
}

var (
	_ Tool      = (*funcTool[struct{}])(nil)
	_ Timeouter = (*funcTool[struct{}])(nil)
)
