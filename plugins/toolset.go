package plugins

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/parley-voice/parley/pipeline"
)

// Ref is one tool an agent uses, as its config names it.
type Ref struct {
	// Name is the registered name of the tool (its factory) in the Environment.
	Name string
	// As is the name the model sees, if not Name. It lets one agent use a
	// configurable tool such as http_request several times.
	As string
	// Description, if set, replaces the tool's own description.
	Description string
	// Options configure the tool; their meaning is up to its factory.
	Options json.RawMessage
	// Timeout, if positive, overrides the tool's own deadline (see Timeouter).
	Timeout time.Duration
}

// DefaultTimeout is the deadline of a tool run when neither its Ref nor the tool
// itself (Timeouter) sets one.
const DefaultTimeout = 10 * time.Second

// Build makes the tools of one agent from its refs, in order. Each ref's
// factory gets the ref's options; the resulting tool is offered under As (or
// Name) with Description if set. Errors name the ref by index and name, and wrap
// ErrUnknownTool, ErrDuplicateTool, ErrInvalidName, ErrBadSchema or the
// factory's error (typically ErrBadOptions). On error, tools already built are
// closed.
func (e *Environment) Build(refs []Ref) (*Toolset, error) {
	ts := &Toolset{byName: make(map[string]*namedTool, len(refs))}
	for i, ref := range refs {
		t, err := e.build(ref, ts)
		if err != nil {
			_ = ts.Close()
			return nil, fmt.Errorf("tool ref %d (%q): %w", i, ref.Name, err)
		}
		ts.order = append(ts.order, t)
		ts.byName[t.spec.Name] = t
	}
	return ts, nil
}

func (e *Environment) build(ref Ref, ts *Toolset) (*namedTool, error) {
	f, ok := e.Lookup(ref.Name)
	if !ok {
		return nil, ErrUnknownTool
	}
	name := ref.Name
	if ref.As != "" {
		name = ref.As
		if err := ValidateName(name); err != nil {
			return nil, fmt.Errorf("as: %w", err)
		}
	}
	if _, dup := ts.byName[name]; dup {
		return nil, fmt.Errorf("%w: %q is used by an earlier ref", ErrDuplicateTool, name)
	}
	if ref.Timeout < 0 {
		return nil, fmt.Errorf("negative timeout %s", ref.Timeout)
	}
	inner, err := callFactory(f, ref.Options)
	if err != nil {
		return nil, err
	}
	if inner == nil {
		return nil, fmt.Errorf("factory returned no tool")
	}
	nt := &namedTool{inner: inner, spec: inner.Spec()}
	nt.spec.Name = name
	if ref.Description != "" {
		nt.spec.Description = ref.Description
	}
	params, err := objectSchema(nt.spec.Parameters)
	if err != nil {
		closeTool(inner)
		return nil, err
	}
	nt.spec.Parameters = params
	nt.timeout = ref.Timeout
	if nt.timeout <= 0 {
		if to, ok := inner.(Timeouter); ok {
			nt.timeout = to.Timeout()
		}
	}
	nt.own = max(nt.timeout, 0)
	if nt.timeout <= 0 {
		nt.timeout = DefaultTimeout
	}
	return nt, nil
}

// callFactory runs a factory, turning a panic into an error so that a broken
// plugin fails the config load (which can roll back) instead of the process.
func callFactory(f Factory, opts json.RawMessage) (t Tool, err error) {
	defer func() {
		if p := recover(); p != nil {
			slog.Error("tool factory panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			t, err = nil, fmt.Errorf("factory panicked: %v", p)
		}
	}()
	return f(opts)
}

// objectSchema checks that params is a JSON object schema; empty means "no
// arguments".
func objectSchema(params json.RawMessage) (json.RawMessage, error) {
	params = bytes.TrimSpace(params)
	if len(params) == 0 || string(params) == "null" {
		return bytes.Clone(emptyObjectSchema), nil
	}
	var probe struct {
		Type any `json:"type"`
	}
	if err := json.Unmarshal(params, &probe); err != nil {
		return nil, fmt.Errorf("%w: parameters must be a JSON Schema object: %v", ErrBadSchema, err)
	}
	if probe.Type != "object" {
		return nil, fmt.Errorf("%w: parameters must have \"type\": \"object\"", ErrBadSchema)
	}
	return bytes.Clone(params), nil
}

// Toolset is the built tools of one agent. It is read-only after Build and safe
// for concurrent use; Close releases what the tools hold.
type Toolset struct {
	order  []*namedTool
	byName map[string]*namedTool
}

// Specs describes the tools for the model, in ref order.
func (ts *Toolset) Specs() []pipeline.ToolSpec {
	specs := make([]pipeline.ToolSpec, len(ts.order))
	for i, t := range ts.order {
		specs[i] = t.Spec()
	}
	return specs
}

// Names lists the tool names in ref order.
func (ts *Toolset) Names() []string {
	names := make([]string, len(ts.order))
	for i, t := range ts.order {
		names[i] = t.spec.Name
	}
	return names
}

// Lookup returns the tool the model knows as name. Its Spec and errors use that
// name, and it implements Timeouter with Timeout(name).
func (ts *Toolset) Lookup(name string) (Tool, bool) {
	t, ok := ts.byName[name]
	if !ok {
		return nil, false
	}
	return t, true
}

// Timeout is the deadline for a run of the named tool: the ref's Timeout, else
// the tool's own (Timeouter), else DefaultTimeout. Unknown names get
// DefaultTimeout.
func (ts *Toolset) Timeout(name string) time.Duration {
	if t, ok := ts.byName[name]; ok {
		return t.timeout
	}
	return DefaultTimeout
}

// ConfiguredTimeout is the deadline its ref or the tool itself (Timeouter) sets
// for the named tool, or zero when neither does (or the name is unknown), so
// that a runtime can apply its own default, such as an agent's
// timeouts.tool_timeout, where Timeout would give DefaultTimeout.
func (ts *Toolset) ConfiguredTimeout(name string) time.Duration {
	if t, ok := ts.byName[name]; ok {
		return t.own
	}
	return 0
}

// Close closes every tool that implements io.Closer (an http_request tool's idle
// connections, for instance) and returns their errors joined. Call it when the
// agent's configuration is replaced or the server stops, after the last Run.
func (ts *Toolset) Close() error {
	var errs []error
	for _, t := range ts.order {
		if err := closeTool(t.inner); err != nil {
			errs = append(errs, fmt.Errorf("closing tool %q: %w", t.spec.Name, err))
		}
	}
	return errors.Join(errs...)
}

func closeTool(t Tool) error {
	if c, ok := t.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// namedTool is a built tool under the name, description and deadline its ref
// gives it.
type namedTool struct {
	inner   Tool
	spec    pipeline.ToolSpec
	timeout time.Duration
	own     time.Duration // timeout from the ref or the tool, 0 if defaulted
}

func (t *namedTool) Spec() pipeline.ToolSpec {
	s := t.spec
	s.Parameters = bytes.Clone(s.Parameters)
	return s
}

func (t *namedTool) Timeout() time.Duration { return t.timeout }

func (t *namedTool) Call(ctx context.Context, args json.RawMessage) (Result, error) {
	res, err := t.inner.Call(ctx, args)
	return res, toolError(t.spec.Name, err)
}

var (
	_ Tool      = (*namedTool)(nil)
	_ Timeouter = (*namedTool)(nil)
)
