package plugins

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

func noArgs(name string) Tool {
	return MustFunc(name, "Test tool "+name+".", func(context.Context, struct{}) (any, error) { return name, nil })
}

func TestEnvironmentRegister(t *testing.T) {
	env := NewEnvironment()
	if err := env.RegisterTool(noArgs("alpha")); err != nil {
		t.Fatal(err)
	}
	if err := env.Register("beta", func(json.RawMessage) (Tool, error) { return noArgs("beta"), nil }); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		err  error
		do   func() error
	}{
		{"duplicate factory", ErrDuplicateTool, func() error { return env.Register("alpha", func(json.RawMessage) (Tool, error) { return nil, nil }) }},
		{"duplicate tool", ErrDuplicateTool, func() error { return env.RegisterTool(noArgs("beta")) }},
		{"bad name", ErrInvalidName, func() error {
			return env.Register("no spaces", func(json.RawMessage) (Tool, error) { return nil, nil })
		}},
		{"nil factory", nil, func() error { return env.Register("gamma", nil) }},
		{"nil tool", nil, func() error { return env.RegisterTool(nil) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			if err == nil || (tt.err != nil && !errors.Is(err, tt.err)) {
				t.Errorf("err = %v, want %v", err, tt.err)
			}
		})
	}
	if got := env.Names(); !slices.Equal(got, []string{"alpha", "beta"}) {
		t.Errorf("Names = %v", got)
	}
	if _, ok := env.Lookup("gamma"); ok {
		t.Error("failed registration left a factory behind")
	}
}

func TestRegisterToolOptions(t *testing.T) {
	env := NewEnvironment()
	if err := env.RegisterTool(noArgs("alpha")); err != nil {
		t.Fatal(err)
	}
	f, ok := env.Lookup("alpha")
	if !ok {
		t.Fatal("alpha not found")
	}
	for _, opts := range []string{``, `null`, `{}`, ` { } `} {
		if _, err := f(json.RawMessage(opts)); err != nil {
			t.Errorf("options %q: %v", opts, err)
		}
	}
	for _, opts := range []string{`{"a":1}`, `[]`, `"x"`, `{`} {
		if _, err := f(json.RawMessage(opts)); !errors.Is(err, ErrBadOptions) {
			t.Errorf("options %q: err = %v, want ErrBadOptions", opts, err)
		}
	}
}

func TestEnvironmentCloneWithWithout(t *testing.T) {
	env := NewEnvironment()
	for _, n := range []string{"a", "b", "c"} {
		if err := env.RegisterTool(noArgs(n)); err != nil {
			t.Fatal(err)
		}
	}
	clone := env.Clone()
	if err := clone.RegisterTool(noArgs("d")); err != nil {
		t.Fatal(err)
	}
	if err := env.RegisterTool(noArgs("e")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  *Environment
		want []string
	}{
		{"original", env, []string{"a", "b", "c", "e"}},
		{"clone is independent", clone, []string{"a", "b", "c", "d"}},
		{"with", env.With("c", "a", "missing"), []string{"a", "c"}},
		{"with nothing", env.With(), []string{}},
		{"without", env.Without("b", "missing"), []string{"a", "c", "e"}},
		{"without leaves original alone", env, []string{"a", "b", "c", "e"}},
		{"zero value", &Environment{}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.env.Names(); !slices.Equal(got, tt.want) {
				t.Errorf("Names = %v, want %v", got, tt.want)
			}
		})
	}
	var zero Environment
	if err := zero.RegisterTool(noArgs("z")); err != nil {
		t.Errorf("zero Environment: %v", err)
	}
}

func TestEnvironmentConcurrent(t *testing.T) {
	env := NewEnvironment()
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			name := fmt.Sprintf("t%d", i)
			if err := env.RegisterTool(noArgs(name)); err != nil {
				t.Error(err)
			}
			_ = env.Names()
			_, _ = env.Lookup(name)
			_ = env.Clone().Without(name).With("t0")
			if _, err := env.Build([]Ref{{Name: name}}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := len(env.Names()); n != 16 {
		t.Errorf("%d names, want 16", n)
	}
}

var defaultRuns atomic.Int32

func TestDefaultEnvironment(t *testing.T) {
	if Default() != Default() {
		t.Fatal("Default is not one environment")
	}
	// Default lives as long as the process: use a fresh name on each -count run.
	name := fmt.Sprintf("plugins_test_default_%d", defaultRuns.Add(1))
	if err := RegisterTool(noArgs(name)); err != nil {
		t.Fatal(err)
	}
	if _, ok := Default().Lookup(name); !ok {
		t.Error("RegisterTool did not add to Default")
	}
	if err := Register(name, func(json.RawMessage) (Tool, error) { return nil, nil }); !errors.Is(err, ErrDuplicateTool) {
		t.Errorf("err = %v, want ErrDuplicateTool", err)
	}
}
