// Package argcheck validates tool arguments against the subset of JSON Schema that
// tool parameter schemas use, so that a model's mistakes come back as errors that
// name the field (missing, unknown, wrong type, not one of the allowed values).
//
// It is deliberately not a full JSON Schema validator: numeric and string bounds,
// patterns and formats are left to the tool.
package argcheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Error is a validation failure at one place in the arguments.
type Error struct {
	// Path locates the value: "" for the whole object, "customer.address.zip",
	// "items[2].sku".
	Path string
	// Problem says what is wrong, e.g. "missing required field".
	Problem string
}

func (e *Error) Error() string {
	if e.Path == "" {
		return "arguments: " + e.Problem
	}
	return fmt.Sprintf("argument %q: %s", e.Path, e.Problem)
}

// Schema is a parsed JSON Schema, reduced to the keywords Check understands.
type Schema struct {
	boolean *bool

	types                []string
	properties           map[string]*Schema
	required             []string
	additionalProperties *Schema
	patternProperties    []patternSchema
	items                *Schema
	enum                 []string // canonical JSON of each allowed value
	anyOf                []*Schema
	allOf                []*Schema
	ref                  string
	defs                 map[string]*Schema
}

type patternSchema struct {
	re     *regexp.Regexp
	schema *Schema
}

// rawSchema mirrors the keywords Check understands, for decoding.
type rawSchema struct {
	Type                 json.RawMessage    `json:"type"`
	Properties           map[string]*Schema `json:"properties"`
	Required             []string           `json:"required"`
	AdditionalProperties *Schema            `json:"additionalProperties"`
	PatternProperties    map[string]*Schema `json:"patternProperties"`
	Items                *Schema            `json:"items"`
	Enum                 []json.RawMessage  `json:"enum"`
	Const                json.RawMessage    `json:"const"`
	AnyOf                []*Schema          `json:"anyOf"`
	OneOf                []*Schema          `json:"oneOf"`
	AllOf                []*Schema          `json:"allOf"`
	Ref                  string             `json:"$ref"`
	Defs                 map[string]*Schema `json:"$defs"`
	Definitions          map[string]*Schema `json:"definitions"`
}

// Parse decodes a JSON Schema document. Keywords it does not understand are ignored.
func Parse(doc []byte) (*Schema, error) {
	s := new(Schema)
	if err := json.Unmarshal(doc, s); err != nil {
		return nil, err
	}
	return s, nil
}

// UnmarshalJSON decodes a schema object or a boolean schema.
func (s *Schema) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	switch string(data) {
	case "true", "false":
		b := string(data) == "true"
		*s = Schema{boolean: &b}
		return nil
	}
	var r rawSchema
	if err := json.Unmarshal(data, &r); err != nil {
		return err
	}
	*s = Schema{
		properties:           r.Properties,
		required:             r.Required,
		additionalProperties: r.AdditionalProperties,
		items:                r.Items,
		allOf:                r.AllOf,
		ref:                  r.Ref,
		defs:                 r.Defs,
	}
	if len(r.Definitions) > 0 {
		if s.defs == nil {
			s.defs = map[string]*Schema{}
		}
		for k, v := range r.Definitions {
			s.defs[k] = v
		}
	}
	if len(r.Type) > 0 {
		var one string
		if err := json.Unmarshal(r.Type, &one); err == nil {
			s.types = []string{one}
		} else if err := json.Unmarshal(r.Type, &s.types); err != nil {
			return fmt.Errorf("schema \"type\" must be a string or a list of strings")
		}
	}
	for _, e := range r.Enum {
		c, err := canonical(e)
		if err != nil {
			return fmt.Errorf("schema \"enum\": %w", err)
		}
		s.enum = append(s.enum, c)
	}
	if len(r.Const) > 0 {
		c, err := canonical(r.Const)
		if err != nil {
			return fmt.Errorf("schema \"const\": %w", err)
		}
		s.enum = []string{c}
	}
	// oneOf is checked like anyOf: tool schemas use it for "this or null", and
	// rejecting a value that matches two branches would only confuse the model.
	s.anyOf = append(r.AnyOf, r.OneOf...)
	keys := make([]string, 0, len(r.PatternProperties))
	for k := range r.PatternProperties {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		re, err := regexp.Compile(k)
		if err != nil {
			return fmt.Errorf("schema \"patternProperties\": %w", err)
		}
		s.patternProperties = append(s.patternProperties, patternSchema{re, r.PatternProperties[k]})
	}
	return nil
}

// Properties returns the names of the object properties the schema declares.
func (s *Schema) Properties() []string {
	names := make([]string, 0, len(s.properties))
	for k := range s.properties {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// IsObject reports whether the schema describes a JSON object.
func (s *Schema) IsObject() bool {
	return len(s.types) == 1 && s.types[0] == "object"
}

func canonical(raw json.RawMessage) (string, error) {
	v, err := Decode(raw)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(v)
	return string(b), err
}

// Decode parses JSON into generic values, keeping numbers as json.Number so that
// integers survive exactly. Trailing data after the value is an error.
func Decode(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("unexpected data after the JSON value")
	}
	return v, nil
}

// Check validates v (as produced by Decode) against the schema.
func Check(s *Schema, v any) error {
	c := checker{root: s}
	return c.check(s, v, "", 0)
}

type checker struct {
	root  *Schema
	steps int
}

// maxDepth bounds recursion through $ref cycles and deeply nested input, and
// maxSteps the total work, which alternatives over references could otherwise
// make exponential.
const (
	maxDepth = 64
	maxSteps = 100_000
)

func (c *checker) check(s *Schema, v any, path string, depth int) error {
	if s == nil {
		return nil
	}
	if depth > maxDepth {
		return &Error{Path: path, Problem: "nested too deeply"}
	}
	c.steps++
	if c.steps > maxSteps {
		return &Error{Path: path, Problem: "too complex to check"}
	}
	if s.boolean != nil {
		if !*s.boolean {
			return &Error{Path: path, Problem: "not allowed"}
		}
		return nil
	}
	if s.ref != "" {
		target := c.resolve(s.ref)
		if target == nil {
			return nil // unknown reference: nothing to check against
		}
		if err := c.check(target, v, path, depth+1); err != nil {
			return err
		}
	}
	if len(s.types) > 0 && !typeMatches(s.types, v) {
		return &Error{Path: path, Problem: fmt.Sprintf("must be %s, not %s", strings.Join(withArticles(s.types), " or "), article(kind(v)))}
	}
	if len(s.enum) > 0 {
		b, _ := json.Marshal(v)
		found := false
		for _, e := range s.enum {
			if e == string(b) {
				found = true
				break
			}
		}
		if !found {
			return &Error{Path: path, Problem: "must be one of " + strings.Join(s.enum, ", ")}
		}
	}
	for _, sub := range s.allOf {
		if err := c.check(sub, v, path, depth+1); err != nil {
			return err
		}
	}
	if len(s.anyOf) > 0 {
		var first error
		ok := false
		for _, sub := range s.anyOf {
			err := c.check(sub, v, path, depth+1)
			if err == nil {
				ok = true
				break
			}
			if first == nil {
				first = err
			}
		}
		if !ok {
			return first
		}
	}
	switch v := v.(type) {
	case map[string]any:
		return c.checkObject(s, v, path, depth)
	case []any:
		if s.items != nil {
			for i, item := range v {
				if err := c.check(s.items, item, path+"["+strconv.Itoa(i)+"]", depth+1); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (c *checker) checkObject(s *Schema, obj map[string]any, path string, depth int) error {
	for _, name := range s.required {
		if _, ok := obj[name]; !ok {
			return &Error{Path: join(path, name), Problem: "missing required field"}
		}
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		val := obj[k]
		p := join(path, k)
		if prop, ok := s.properties[k]; ok {
			if err := c.check(prop, val, p, depth+1); err != nil {
				return err
			}
			continue
		}
		matched := false
		for _, pp := range s.patternProperties {
			if pp.re.MatchString(k) {
				matched = true
				if err := c.check(pp.schema, val, p, depth+1); err != nil {
					return err
				}
			}
		}
		if matched || s.additionalProperties == nil {
			continue
		}
		if b := s.additionalProperties.boolean; b != nil && !*b {
			return &Error{Path: p, Problem: "unknown field"}
		}
		if err := c.check(s.additionalProperties, val, p, depth+1); err != nil {
			return err
		}
	}
	return nil
}

func (c *checker) resolve(ref string) *Schema {
	for _, prefix := range []string{"#/$defs/", "#/definitions/"} {
		if name, ok := strings.CutPrefix(ref, prefix); ok {
			return c.root.defs[name]
		}
	}
	if ref == "#" {
		return c.root
	}
	return nil
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func typeMatches(types []string, v any) bool {
	for _, t := range types {
		switch t {
		case "object":
			if _, ok := v.(map[string]any); ok {
				return true
			}
		case "array":
			if _, ok := v.([]any); ok {
				return true
			}
		case "string":
			if _, ok := v.(string); ok {
				return true
			}
		case "boolean":
			if _, ok := v.(bool); ok {
				return true
			}
		case "null":
			if v == nil {
				return true
			}
		case "number":
			if _, ok := v.(json.Number); ok {
				return true
			}
		case "integer":
			if n, ok := v.(json.Number); ok {
				if _, err := strconv.ParseInt(string(n), 10, 64); err == nil {
					return true
				}
				if _, err := strconv.ParseUint(string(n), 10, 64); err == nil {
					return true
				}
			}
		default:
			return true // unknown type keyword: do not second-guess it
		}
	}
	return false
}

func kind(v any) string {
	switch v := v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case bool:
		return "boolean"
	case nil:
		return "null"
	case json.Number:
		if _, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return "integer"
		}
		return "number"
	}
	return fmt.Sprintf("%T", v)
}

func withArticles(types []string) []string {
	out := make([]string, len(types))
	for i, t := range types {
		out[i] = article(t)
	}
	return out
}

func article(t string) string {
	switch t {
	case "null":
		return "null"
	case "object", "array", "integer":
		return "an " + t
	}
	return "a " + t
}
