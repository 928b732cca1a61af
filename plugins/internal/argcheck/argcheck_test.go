package argcheck

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	const schema = `{"type":"object","properties":{
		"id":{"type":"string"},
		"n":{"type":["integer","null"]},
		"kind":{"enum":["a","b",1]},
		"opt":{"oneOf":[{"type":"string"},{"type":"null"}]},
		"meta":{"type":"object","additionalProperties":{"type":"number"}},
		"ids":{"type":"object","patternProperties":{"^[0-9]+$":{"type":"string"}},"additionalProperties":false},
		"node":{"$ref":"#/$defs/node"},
		"fixed":{"const":"yes"}},
		"required":["id"],"additionalProperties":false,
		"$defs":{"node":{"type":"object","properties":{"kids":{"type":"array","items":{"$ref":"#/$defs/node"}}},"additionalProperties":false}}}`
	s, err := Parse([]byte(schema))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ args, want string }{
		{`{"id":"x"}`, ""},
		{`{"id":"x","n":null,"kind":1,"opt":null,"meta":{"a":1.5},"ids":{"12":"x"},"node":{"kids":[{"kids":[]}]},"fixed":"yes"}`, ""},
		{`{}`, `argument "id": missing required field`},
		{`{"id":1}`, `argument "id": must be a string, not an integer`},
		{`{"id":"x","n":1.5}`, `argument "n": must be an integer or null, not a number`},
		{`{"id":"x","kind":"c"}`, `argument "kind": must be one of "a", "b", 1`},
		{`{"id":"x","opt":3}`, `argument "opt": must be a string, not an integer`},
		{`{"id":"x","meta":{"a":"b"}}`, `argument "meta.a": must be a number, not a string`},
		{`{"id":"x","ids":{"x":"y"}}`, `argument "ids.x": unknown field`},
		{`{"id":"x","node":{"kids":[{"bad":1}]}}`, `argument "node.kids[0].bad": unknown field`},
		{`{"id":"x","fixed":"no"}`, `argument "fixed": must be one of "yes"`},
		{`"x"`, `arguments: must be an object, not a string`},
	}
	for _, tt := range tests {
		v, err := Decode([]byte(tt.args))
		if err != nil {
			t.Fatalf("%s: %v", tt.args, err)
		}
		err = Check(s, v)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("Check(%s) = %q, want %q", tt.args, got, tt.want)
		}
	}
}

func TestDecodeRejectsTrailingData(t *testing.T) {
	for _, in := range []string{`{} {}`, `{}]`, `1 2`, `{"a":`, ``} {
		if _, err := Decode([]byte(in)); err == nil {
			t.Errorf("Decode(%q) accepted", in)
		}
	}
	if _, err := Decode([]byte(" {} \n")); err != nil {
		t.Error(err)
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{`{"type":1}`, `{"patternProperties":{"(":{}}}`, `[`, `{"enum":[1,}`} {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("Parse(%s) accepted", in)
		}
	}
}

func TestDeepNestingStops(t *testing.T) {
	s, err := Parse([]byte(`{"$ref":"#"}`))
	if err != nil {
		t.Fatal(err)
	}
	err = Check(s, map[string]any{})
	if err == nil || !strings.Contains(err.Error(), "nested too deeply") {
		t.Errorf("self-referencing schema: %v", err)
	}
}

// FuzzCheck runs arbitrary arguments (model output) and schemas through the
// checker: it must not panic or loop, whatever it decides.
func FuzzCheck(f *testing.F) {
	f.Add(`{"type":"object","properties":{"a":{"type":"string"}},"required":["a"],"additionalProperties":false}`, `{"a":"x"}`)
	f.Add(`{"$ref":"#/$defs/n","$defs":{"n":{"type":"object","properties":{"k":{"type":"array","items":{"$ref":"#/$defs/n"}}}}}}`, `{"k":[{"k":[{}]}]}`)
	f.Add(`{"anyOf":[{"type":"integer"},{"enum":["a",null]}]}`, `null`)
	f.Add(`{"patternProperties":{"^x":{"const":1}},"additionalProperties":{"type":"boolean"}}`, `{"xa":1,"b":true}`)
	f.Fuzz(func(t *testing.T, schema, args string) {
		s, err := Parse([]byte(schema))
		if err != nil {
			return
		}
		v, err := Decode([]byte(args))
		if err != nil {
			return
		}
		_ = Check(s, v)
	})
}

func TestExponentialSchemaStops(t *testing.T) {
	s, err := Parse([]byte(`{"anyOf":[{"$ref":"#"},{"$ref":"#"},{"$ref":"#"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(s, map[string]any{}); err == nil {
		t.Error("accepted")
	}
}
