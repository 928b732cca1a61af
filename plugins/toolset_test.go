package plugins

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-voice/parley/pipeline"
)

// closer is a tool that records being closed and reports its name in errors.
type closer struct {
	Tool
	closed  *[]string
	timeout time.Duration
}

func (c *closer) Close() error {
	*c.closed = append(*c.closed, c.Spec().Name)
	return nil
}

func (c *closer) Timeout() time.Duration { return c.timeout }

func testEnv(t *testing.T, closed *[]string) *Environment {
	t.Helper()
	env := NewEnvironment()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(env.RegisterTool(noArgs("plain")))
	must(env.Register("configurable", func(opts json.RawMessage) (Tool, error) {
		var o struct {
			Greeting string `json:"greeting"`
		}
		dec := json.NewDecoder(strings.NewReader(string(opts)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&o); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadOptions, err)
		}
		tool := MustFunc("configurable", "Greets.", func(context.Context, struct{}) (any, error) {
			return nil, errors.New("says " + o.Greeting)
		})
		return &closer{Tool: tool, closed: closed, timeout: 3 * time.Second}, nil
	}))
	must(env.Register("bad_schema", func(json.RawMessage) (Tool, error) {
		return badSchemaTool{}, nil
	}))
	must(env.Register("panicky", func(json.RawMessage) (Tool, error) {
		panic("plugin bug")
	}))
	must(env.Register("nil_tool", func(json.RawMessage) (Tool, error) {
		return nil, nil
	}))
	return env
}

type badSchemaTool struct{}

func (badSchemaTool) Spec() pipeline.ToolSpec {
	return pipeline.ToolSpec{Name: "bad_schema", Parameters: json.RawMessage(`{"type":"string"}`)}
}

func (badSchemaTool) Call(context.Context, json.RawMessage) (Result, error) { return Result{}, nil }

func TestBuild(t *testing.T) {
	var closed []string
	env := testEnv(t, &closed)
	ts, err := env.Build([]Ref{
		{Name: "plain"},
		{Name: "configurable", As: "greet_en", Options: json.RawMessage(`{"greeting":"hello"}`), Description: "Greets in English."},
		{Name: "configurable", As: "greet_fr", Options: json.RawMessage(`{"greeting":"bonjour"}`), Timeout: time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	specs := ts.Specs()
	var names, descs []string
	for _, s := range specs {
		names = append(names, s.Name)
		descs = append(descs, s.Description)
		if !json.Valid(s.Parameters) {
			t.Errorf("%s: invalid parameters %s", s.Name, s.Parameters)
		}
	}
	if !slices.Equal(names, []string{"plain", "greet_en", "greet_fr"}) || !slices.Equal(names, ts.Names()) {
		t.Errorf("names = %v", names)
	}
	if !slices.Equal(descs, []string{"Test tool plain.", "Greets in English.", "Greets."}) {
		t.Errorf("descriptions = %q", descs)
	}
	for name, want := range map[string]time.Duration{"plain": DefaultTimeout, "greet_en": 3 * time.Second, "greet_fr": time.Second, "nope": DefaultTimeout} {
		if got := ts.Timeout(name); got != want {
			t.Errorf("Timeout(%s) = %v, want %v", name, got, want)
		}
	}
	fr, ok := ts.Lookup("greet_fr")
	if !ok {
		t.Fatal("greet_fr not found")
	}
	if fr.Spec().Name != "greet_fr" || fr.(Timeouter).Timeout() != time.Second {
		t.Errorf("looked-up tool spec %+v", fr.Spec())
	}
	_, err = fr.Call(context.Background(), nil)
	if err == nil || err.Error() != `tool "greet_fr": says bonjour` {
		t.Errorf("renamed tool error = %v", err)
	}
	if _, ok := ts.Lookup("configurable"); ok {
		t.Error("tool found under its registered name after As")
	}
	if err := ts.Close(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(closed, []string{"configurable", "configurable"}) {
		t.Errorf("closed %v", closed)
	}
}

func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name string
		refs []Ref
		err  error
		msg  string
	}{
		{"unknown", []Ref{{Name: "plain"}, {Name: "nope"}}, ErrUnknownTool, `tool ref 1 ("nope"): unknown tool`},
		{"bad options", []Ref{{Name: "configurable", Options: json.RawMessage(`{"colour":1}`)}}, ErrBadOptions, `tool ref 0 ("configurable"): bad tool options`},
		{"options to a plain tool", []Ref{{Name: "plain", Options: json.RawMessage(`{"x":1}`)}}, ErrBadOptions, `tool ref 0 ("plain")`},
		{"duplicate name", []Ref{{Name: "plain"}, {Name: "configurable", As: "plain", Options: json.RawMessage(`{}`)}}, ErrDuplicateTool, `tool ref 1 ("configurable")`},
		{"same tool twice", []Ref{{Name: "plain"}, {Name: "plain"}}, ErrDuplicateTool, `tool ref 1 ("plain")`},
		{"bad rename", []Ref{{Name: "plain", As: "not valid"}}, ErrInvalidName, `tool ref 0 ("plain"): as: invalid tool name`},
		{"negative timeout", []Ref{{Name: "plain", Timeout: -time.Second}}, nil, `tool ref 0 ("plain"): negative timeout`},
		{"non-object schema", []Ref{{Name: "bad_schema"}}, ErrBadSchema, `tool ref 0 ("bad_schema")`},
		{"factory panics", []Ref{{Name: "panicky"}}, nil, `tool ref 0 ("panicky"): factory panicked: plugin bug`},
		{"factory returns nothing", []Ref{{Name: "nil_tool"}}, nil, `tool ref 0 ("nil_tool"): factory returned no tool`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var closed []string
			env := testEnv(t, &closed)
			refs := append([]Ref{{Name: "configurable", As: "first", Options: json.RawMessage(`{}`)}}, tt.refs...)
			// Shift expected indexes by the extra first ref.
			msg := shiftIndex(tt.msg)
			_, err := env.Build(refs)
			if err == nil || (tt.err != nil && !errors.Is(err, tt.err)) || !strings.Contains(err.Error(), msg) {
				t.Fatalf("err = %v, want %v containing %q", err, tt.err, msg)
			}
			if !slices.Equal(closed, []string{"configurable"}) {
				t.Errorf("tools built before the error not closed: %v", closed)
			}
		})
	}
}

// shiftIndex turns "tool ref N" into "tool ref N+1".
func shiftIndex(msg string) string {
	var n int
	var rest string
	if _, err := fmt.Sscanf(msg, "tool ref %d", &n); err != nil {
		return msg
	}
	_, rest, _ = strings.Cut(msg, fmt.Sprintf("tool ref %d", n))
	return fmt.Sprintf("tool ref %d%s", n+1, rest)
}

func TestBuildSharedToolNotClosed(t *testing.T) {
	var closed []string
	env := NewEnvironment()
	shared := &closer{Tool: noArgs("shared"), closed: &closed, timeout: 2 * time.Second}
	if err := env.RegisterTool(shared); err != nil {
		t.Fatal(err)
	}
	ts, err := env.Build([]Ref{{Name: "shared"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := ts.Timeout("shared"); got != 2*time.Second {
		t.Errorf("Timeout = %v, want the tool's own 2s", got)
	}
	if err := ts.Close(); err != nil || len(closed) != 0 {
		t.Errorf("closing a toolset closed a registered tool: %v %v", err, closed)
	}
}
