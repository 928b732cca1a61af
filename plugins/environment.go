package plugins

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"
)

// Factory builds a tool from its configuration options: the JSON form of the
// "options" an agent config gives a tool ref (absent options arrive as nil).
// Factories decode options strictly, refuse unknown keys, and wrap ErrBadOptions
// in their errors. They must not keep opts after returning.
type Factory func(opts json.RawMessage) (Tool, error)

// Environment is a registry of tool factories by name, the set of tools agents
// can refer to. Built-in tools register into Default from init functions; a
// program can Clone the default and narrow it With or Without some names, or
// start from NewEnvironment. An Environment is safe for concurrent use.
type Environment struct {
	mu        sync.RWMutex
	factories map[string]Factory
}

// NewEnvironment returns an empty Environment. The zero Environment is empty and
// ready to use too.
func NewEnvironment() *Environment {
	return &Environment{factories: map[string]Factory{}}
}

var defaultEnv = NewEnvironment()

// Default returns the process-wide Environment that built-in tools (imported via
// plugins/all or plugins/builtin) and the package-level Register functions add to.
func Default() *Environment { return defaultEnv }

// Register adds a tool factory to the Default environment.
func Register(name string, f Factory) error { return defaultEnv.Register(name, f) }

// RegisterTool adds a tool without options to the Default environment.
func RegisterTool(t Tool) error { return defaultEnv.RegisterTool(t) }

// Register adds a factory under name. The name must be a valid tool name (see
// ValidateName) and not yet registered (ErrDuplicateTool).
func (e *Environment) Register(name string, f Factory) error {
	if err := ValidateName(name); err != nil {
		return fmt.Errorf("registering tool: %w", err)
	}
	if f == nil {
		return fmt.Errorf("registering tool %q: nil factory", name)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.factories[name]; ok {
		return fmt.Errorf("registering tool %q: %w", name, ErrDuplicateTool)
	}
	if e.factories == nil {
		e.factories = map[string]Factory{}
	}
	e.factories[name] = f
	return nil
}

// RegisterTool adds a ready-made tool under its Spec name. Its factory returns t
// (hiding any Close method, since every Toolset shares it) and refuses options: refs to it must leave options empty (absent, null
// or {}), anything else is ErrBadOptions. The one value t serves every call, so
// it must be safe for concurrent use.
func (e *Environment) RegisterTool(t Tool) error {
	if t == nil {
		return fmt.Errorf("registering tool: nil tool")
	}
	name := t.Spec().Name
	return e.Register(name, func(opts json.RawMessage) (Tool, error) {
		if !emptyOptions(opts) {
			return nil, fmt.Errorf("%w: tool %q takes no options", ErrBadOptions, name)
		}
		return sharedTool{t}, nil
	})
}

// sharedTool hides the Close method of a tool registered with RegisterTool: one
// value serves every Toolset, so closing one agent's tools must not close it.
type sharedTool struct{ Tool }

func (s sharedTool) Timeout() time.Duration {
	if to, ok := s.Tool.(Timeouter); ok {
		return to.Timeout()
	}
	return 0
}

// emptyOptions reports whether opts is absent, null or an empty object.
func emptyOptions(opts json.RawMessage) bool {
	trimmed := bytes.TrimSpace(opts)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		return true
	}
	var m map[string]json.RawMessage
	return json.Unmarshal(trimmed, &m) == nil && m != nil && len(m) == 0
}

// Lookup returns the factory registered under name.
func (e *Environment) Lookup(name string) (Factory, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	f, ok := e.factories[name]
	return f, ok
}

// Names lists the registered names, sorted.
func (e *Environment) Names() []string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return slices.Sorted(maps.Keys(e.factories))
}

// Clone returns an independent copy: registering into either afterwards does not
// affect the other.
func (e *Environment) Clone() *Environment {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return &Environment{factories: maps.Clone(e.factories)}
}

// With returns a copy holding only the named tools. Names that are not
// registered are ignored, as in Benthos; check Names if that matters.
func (e *Environment) With(names ...string) *Environment {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := NewEnvironment()
	for _, n := range names {
		if f, ok := e.factories[n]; ok {
			out.factories[n] = f
		}
	}
	return out
}

// Without returns a copy holding every tool except the named ones.
func (e *Environment) Without(names ...string) *Environment {
	c := e.Clone()
	for _, n := range names {
		delete(c.factories, n)
	}
	return c
}
