package plugins

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/invopop/jsonschema"
)

// emptyObjectSchema is the parameters schema of a tool that takes no arguments.
var emptyObjectSchema = json.RawMessage(`{"type":"object","properties":{}}`)

// SchemaFor derives the JSON Schema of a tool's arguments from the Go type A with
// github.com/invopop/jsonschema, in the shape LLM tool APIs expect: a plain object
// schema, with nested types inlined rather than referenced (only recursive types
// keep a "$defs" section), no "$schema" or "$id", and unknown properties refused.
//
// Field names come from `json` tags. A field is required unless its json tag says
// omitempty or omitzero, or its jsonschema tag says required. Descriptions, enums
// and the other keywords come from `jsonschema` tags (see the invopop/jsonschema
// documentation), e.g.
//
//	Unit string `json:"unit,omitempty" jsonschema:"enum=celsius,enum=fahrenheit,description=Temperature unit"`
//
// Commas separate keywords in a jsonschema tag, so a description containing
// commas goes in a `jsonschema_description` tag (or escapes them as \,).
//
// A must describe a JSON object (a struct or a map); types that cannot be encoded
// as JSON (channels, functions) are errors.
func SchemaFor[A any]() (json.RawMessage, error) {
	return schemaOf(reflect.TypeFor[A]())
}

func schemaOf(t reflect.Type) (raw json.RawMessage, err error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	defer func() {
		// invopop/jsonschema panics on types it cannot describe.
		if p := recover(); p != nil {
			raw, err = nil, fmt.Errorf("%w: deriving schema of %s: %v", ErrBadSchema, t, p)
		}
	}()
	var s *jsonschema.Schema
	if !isRecursive(t, map[reflect.Type]bool{}) {
		r := &jsonschema.Reflector{Anonymous: true, ExpandedStruct: true, DoNotReference: true}
		s = r.ReflectFromType(t)
		s.Definitions = nil
	} else {
		// A type that contains itself cannot be inlined. Keep "$defs", and make
		// the root a copy of its own definition so that it is still a plain
		// object schema that references in "$defs" can point back to.
		r := &jsonschema.Reflector{Anonymous: true}
		ref := r.ReflectFromType(t)
		s = ref
		if name, ok := strings.CutPrefix(ref.Ref, "#/$defs/"); ok && ref.Definitions[name] != nil {
			root := *ref.Definitions[name]
			root.Definitions = ref.Definitions
			s = &root
		}
	}
	s.Version = ""
	if s.Type != "object" {
		return nil, fmt.Errorf("%w: arguments type %s must be a struct or map (a JSON object), not %q", ErrBadSchema, t, s.Type)
	}
	openEmptySchemas(s, map[*jsonschema.Schema]bool{})
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("%w: encoding schema of %s: %v", ErrBadSchema, t, err)
	}
	return b, nil
}

// openEmptySchemas makes the schemas of `any` fields encode as {} rather than the
// boolean schema true, which some LLM APIs reject inside "properties". An empty
// but non-nil Extras map is what makes invopop/jsonschema encode an object.
func openEmptySchemas(s *jsonschema.Schema, seen map[*jsonschema.Schema]bool) {
	if s == nil || seen[s] || s == jsonschema.TrueSchema || s == jsonschema.FalseSchema {
		return
	}
	seen[s] = true
	visit := func(c *jsonschema.Schema) {
		if c == nil || c == jsonschema.TrueSchema || c == jsonschema.FalseSchema {
			return
		}
		if reflect.DeepEqual(c, &jsonschema.Schema{}) {
			c.Extras = map[string]any{}
			return
		}
		openEmptySchemas(c, seen)
	}
	if s.Properties != nil {
		for _, c := range s.Properties.FromOldest() {
			visit(c)
		}
	}
	visit(s.Items)
	visit(s.AdditionalProperties)
	for _, list := range [][]*jsonschema.Schema{s.AnyOf, s.OneOf, s.AllOf, s.PrefixItems} {
		for _, c := range list {
			visit(c)
		}
	}
	for _, c := range s.PatternProperties {
		visit(c)
	}
	for _, c := range s.Definitions {
		visit(c)
	}
}

// isRecursive reports whether t can contain a value of its own type, which a
// fully inlined schema cannot express.
func isRecursive(t reflect.Type, onPath map[reflect.Type]bool) bool {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
		t = t.Elem()
	}
	if t.Kind() == reflect.Map {
		return isRecursive(t.Elem(), onPath)
	}
	if t.Kind() != reflect.Struct {
		return false
	}
	if onPath[t] {
		return true
	}
	onPath[t] = true
	defer delete(onPath, t)
	for i := range t.NumField() {
		if isRecursive(t.Field(i).Type, onPath) {
			return true
		}
	}
	return false
}
