package plugins

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func bookingTool(t *testing.T) (Tool, *testBooking) {
	t.Helper()
	got := new(testBooking)
	tool, err := NewFunc("book_table", "Books a table.", func(_ context.Context, a testBooking) (any, error) {
		*got = a
		return map[string]any{"confirmed": true, "party": a.Party}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return tool, got
}

func TestNewFuncDecodesArguments(t *testing.T) {
	tool, got := bookingTool(t)
	res, err := tool.Call(context.Background(), json.RawMessage(`{"name":"Ada","party":4,"seating":"outdoor",
		"address":{"street":"1 Main St"},"callback":false,"tags":["vip"]}`))
	if err != nil {
		t.Fatal(err)
	}
	if res.Content != `{"confirmed":true,"party":4}` {
		t.Errorf("content = %s", res.Content)
	}
	if got.Name != "Ada" || got.Party != 4 || got.Seating != "outdoor" || got.Address.Street != "1 Main St" || len(got.Tags) != 1 {
		t.Errorf("decoded %+v", got)
	}
	spec := tool.Spec()
	if spec.Name != "book_table" || spec.Description != "Books a table." || !json.Valid(spec.Parameters) {
		t.Errorf("spec = %+v", spec)
	}
}

func TestNewFuncStrictArguments(t *testing.T) {
	const valid = `"name":"Ada","party":2,"address":{"street":"x"},"callback":true`
	tests := []struct {
		name, args, want string
	}{
		{"invalid JSON", `{"name":`, `tool "book_table": arguments are not valid JSON`},
		{"trailing data", `{` + valid + `} {}`, `arguments are not valid JSON`},
		{"not an object", `[1,2]`, `arguments: must be an object, not an array`},
		{"missing required", `{"party":2,"address":{"street":"x"},"callback":true}`, `tool "book_table": argument "name": missing required field`},
		{"missing nested required", `{"name":"Ada","party":2,"address":{},"callback":true}`, `argument "address.street": missing required field`},
		{"unknown field", `{` + valid + `,"colour":"red"}`, `argument "colour": unknown field`},
		{"unknown nested field", `{"name":"Ada","party":2,"address":{"street":"x","city":"y"},"callback":true}`, `argument "address.city": unknown field`},
		{"wrong type", `{"name":"Ada","party":"two","address":{"street":"x"},"callback":true}`, `argument "party": must be an integer, not a string`},
		{"fraction for integer", `{"name":"Ada","party":2.5,"address":{"street":"x"},"callback":true}`, `argument "party": must be an integer, not a number`},
		{"not in enum", `{` + valid + `,"seating":"roof"}`, `argument "seating": must be one of "indoor", "outdoor"`},
		{"wrong item type", `{` + valid + `,"tags":["a",3]}`, `argument "tags[1]": must be a string, not an integer`},
		{"null for required string", `{"name":null,"party":2,"address":{"street":"x"},"callback":true}`, `argument "name": must be a string, not null`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tool, got := bookingTool(t)
			_, err := tool.Call(context.Background(), json.RawMessage(tt.args))
			if !errors.Is(err, ErrBadArguments) {
				t.Fatalf("err = %v, want ErrBadArguments", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want it to contain %q", err, tt.want)
			}
			if got.Name != "" {
				t.Error("function was called with bad arguments")
			}
		})
	}
}

func TestNewFuncEmptyArguments(t *testing.T) {
	called := 0
	tool := MustFunc("ping", "", func(context.Context, struct{}) (any, error) {
		called++
		return nil, nil
	})
	for _, args := range []string{``, `null`, ` {} `} {
		res, err := tool.Call(context.Background(), json.RawMessage(args))
		if err != nil {
			t.Fatalf("args %q: %v", args, err)
		}
		if res.Content != EmptyContent {
			t.Errorf("args %q: content = %q, want %q", args, res.Content, EmptyContent)
		}
	}
	if called != 3 {
		t.Errorf("called %d times", called)
	}
}

func TestNewFuncResults(t *testing.T) {
	boom := errors.New("crm down")
	tests := []struct {
		name    string
		ret     any
		err     error
		want    Result
		wantErr error
	}{
		{name: "string as is", ret: "It is sunny.", want: Result{Content: "It is sunny."}},
		{name: "struct as JSON", ret: struct {
			Temp int `json:"temp"`
		}{21}, want: Result{Content: `{"temp":21}`}},
		{name: "raw JSON", ret: json.RawMessage(`{"a":1}`), want: Result{Content: `{"a":1}`}},
		{name: "nil", ret: nil, want: Result{Content: EmptyContent}},
		{name: "empty string", ret: "", want: Result{Content: EmptyContent}},
		{name: "Result passes through", ret: Result{Content: "bye", Action: ActionEndCall, Reason: "done"},
			want: Result{Content: "bye", Action: ActionEndCall, Reason: "done"}},
		{name: "*Result passes through", ret: &Result{Action: ActionTransfer, TransferTo: "+15550100"},
			want: Result{Content: EmptyContent, Action: ActionTransfer, TransferTo: "+15550100"}},
		{name: "invalid raw JSON", ret: json.RawMessage(`{`), wantErr: ErrBadResult},
		{name: "unencodable", ret: func() {}, wantErr: ErrBadResult},
		{name: "function error", err: boom, wantErr: boom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tool := MustFunc("f", "", func(context.Context, struct{}) (any, error) { return tt.ret, tt.err })
			res, err := tool.Call(context.Background(), nil)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !strings.HasPrefix(err.Error(), `tool "f": `) {
					t.Fatalf("err = %v, want %v naming the tool", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res != tt.want {
				t.Errorf("result = %+v, want %+v", res, tt.want)
			}
		})
	}
}

func TestNewFuncValidation(t *testing.T) {
	fn := func(context.Context, struct{}) (any, error) { return nil, nil }
	for _, name := range []string{"", "has space", "dot.ted", strings.Repeat("a", 65), "ünïcode"} {
		if _, err := NewFunc(name, "", fn); !errors.Is(err, ErrInvalidName) {
			t.Errorf("name %q: err = %v, want ErrInvalidName", name, err)
		}
	}
	for _, name := range []string{"a", "get_weather", "Get-Weather-2", strings.Repeat("a", 64)} {
		if _, err := NewFunc(name, "", fn); err != nil {
			t.Errorf("name %q: %v", name, err)
		}
	}
	if _, err := NewFunc[struct{}]("nil_fn", "", nil); err == nil {
		t.Error("nil function accepted")
	}
	if _, err := NewFunc("str", "", func(context.Context, string) (any, error) { return nil, nil }); !errors.Is(err, ErrBadSchema) {
		t.Errorf("string arguments: err = %v, want ErrBadSchema", err)
	}
	defer func() {
		if recover() == nil {
			t.Error("MustFunc did not panic on a bad name")
		}
	}()
	MustFunc("bad name", "", fn)
}

func TestWithTimeout(t *testing.T) {
	fn := func(context.Context, struct{}) (any, error) { return nil, nil }
	tool := MustFunc("slow", "", fn, WithTimeout(30*time.Second))
	if to, ok := tool.(Timeouter); !ok || to.Timeout() != 30*time.Second {
		t.Errorf("Timeout = %v", tool)
	}
}
