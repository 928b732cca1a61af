package agents

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxVisits bounds the work of checking a document, so that a file of aliases
// that expand exponentially ("billion laughs") fails fast instead of hanging.
const maxVisits = 200_000

var durationType = reflect.TypeOf(Duration(0))

// checker walks a YAML tree alongside the Go type it will be decoded into and
// reports unknown keys, duplicate keys and values of the wrong kind, each with
// its line, column and YAML path. It gives the errors yaml.v3's KnownFields
// would, with positions, paths and suggestions; it also records where every path
// is so that Validate can point at lines.
type checker struct {
	src     *source
	changed map[*yaml.Node]bool // scalars rewritten by interpolation
	present map[string]bool     // paths with a non-null value
	errs    []error
	visits  int
	// open holds the mappings being checked, so that a merge of a mapping
	// into itself (a: &x {<<: *x}) is reported rather than followed forever.
	open map[*yaml.Node]bool
}

func (c *checker) errorf(n *yaml.Node, path, format string, args ...any) {
	c.errs = append(c.errs, &FieldError{File: c.src.name, Line: n.Line, Column: n.Column, Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (c *checker) record(n *yaml.Node, path string) {
	if _, ok := c.src.pos[path]; !ok {
		c.src.pos[path] = position{n.Line, n.Column}
	}
}

// budget counts one unit of work and reports whether the document is still
// within maxVisits.
func (c *checker) budget(n *yaml.Node) bool {
	c.visits++
	if c.visits == maxVisits {
		c.errorf(n, "", "document is too large or expands too many aliases")
	}
	return c.visits < maxVisits
}

func (c *checker) check(n *yaml.Node, t reflect.Type, path string) {
	if !c.budget(n) {
		return
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return
		}
		n = n.Alias
	}
	c.record(n, path)
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return
	}
	c.present[path] = true
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == durationType:
		c.duration(n, path)
	case t.Kind() == reflect.Struct:
		c.mapping(n, path, t)
	case t.Kind() == reflect.Map:
		c.mapping(n, path, t)
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			c.errorf(n, path, "expected a list, got %s", kindName(n))
			return
		}
		for i, item := range n.Content {
			c.check(item, t.Elem(), indexPath(path, i))
		}
	case t.Kind() == reflect.Interface:
		// Free-form (options, tool arguments): anything goes.
	default:
		c.scalar(n, path, t)
	}
}

func (c *checker) duration(n *yaml.Node, path string) {
	if n.Kind != yaml.ScalarNode {
		c.errorf(n, path, "expected a duration such as \"600ms\", got %s", kindName(n))
		return
	}
	if _, err := ParseDuration(n.Value); err != nil {
		if c.changed[n] {
			c.errorf(n, path, "invalid duration (%v)", err)
		} else {
			c.errorf(n, path, "invalid duration %q (%v)", clipRef(n.Value), err)
		}
	}
}

func (c *checker) scalar(n *yaml.Node, path string, t reflect.Type) {
	want := map[reflect.Kind]string{reflect.String: "a string", reflect.Int: "an integer",
		reflect.Float64: "a number", reflect.Bool: "true or false"}[t.Kind()]
	if n.Kind != yaml.ScalarNode {
		c.errorf(n, path, "expected %s, got %s", want, kindName(n))
		return
	}
	if t.Kind() == reflect.String {
		if n.ShortTag() == "!!binary" {
			c.errorf(n, path, "expected a string, got binary data")
		}
		return
	}
	// Decode the lone scalar with yaml.v3 so that what passes here is exactly
	// what the real decode accepts.
	if err := n.Decode(reflect.New(t).Interface()); err != nil {
		if c.changed[n] {
			c.errorf(n, path, "expected %s (the value comes from the environment)", want)
		} else {
			c.errorf(n, path, "expected %s, got %q", want, clipRef(n.Value))
		}
	}
}

// mapping checks a mapping decoded into a struct or a map.
func (c *checker) mapping(n *yaml.Node, path string, t reflect.Type) {
	if n.Kind != yaml.MappingNode {
		c.errorf(n, path, "expected a mapping of keys to values, got %s", kindName(n))
		return
	}
	if !c.budget(n) {
		return
	}
	if c.open == nil {
		c.open = map[*yaml.Node]bool{}
	}
	if c.open[n] {
		c.errorf(n, path, "a merge (<<) includes the mapping it is in")
		return
	}
	c.open[n] = true
	defer delete(c.open, n)
	var fields map[string]reflect.Type
	if t.Kind() == reflect.Struct {
		fields = yamlFields(t)
	}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			c.merge(v, path, t)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			c.errorf(k, path, "keys must be plain names, got %s", kindName(k))
			continue
		}
		key := k.Value
		if prev, dup := seen[key]; dup {
			c.errorf(k, path, "key %q appears twice (first on line %d)", key, prev.Line)
			continue
		}
		seen[key] = k
		if fields == nil {
			c.check(v, t.Elem(), joinPath(path, key))
			continue
		}
		ft, ok := fields[key]
		if !ok {
			c.unknownField(k, path, fields)
			continue
		}
		c.check(v, ft, joinPath(path, key))
	}
}

// merge checks the value of a "<<" merge key: a mapping or a list of mappings
// whose keys join the enclosing mapping.
func (c *checker) merge(v *yaml.Node, path string, t reflect.Type) {
	if v.Kind == yaml.AliasNode && v.Alias != nil {
		v = v.Alias
	}
	switch v.Kind {
	case yaml.MappingNode:
		c.mapping(v, path, t)
	case yaml.SequenceNode:
		for _, item := range v.Content {
			if item.Kind == yaml.AliasNode && item.Alias != nil {
				item = item.Alias
			}
			if item.Kind != yaml.MappingNode {
				c.errorf(item, path, "a merge (<<) takes a mapping or a list of mappings")
				continue
			}
			c.mapping(item, path, t)
		}
	default:
		c.errorf(v, path, "a merge (<<) takes a mapping or a list of mappings")
	}
}

func (c *checker) unknownField(k *yaml.Node, path string, fields map[string]reflect.Type) {
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names)
	where := ""
	if path != "" {
		where = " in " + path
	}
	msg := fmt.Sprintf("unknown field %q%s", clipRef(k.Value), where)
	if s := suggest(k.Value, names); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	} else {
		msg += " (known fields: " + strings.Join(names, ", ") + ")"
	}
	c.errs = append(c.errs, &FieldError{File: c.src.name, Line: k.Line, Column: k.Column, Msg: msg})
}

// yamlFields maps the YAML keys of a struct to their field types.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := make(map[string]reflect.Type, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.DocumentNode:
		return "a document"
	}
	switch n.ShortTag() {
	case "!!int":
		return "an integer"
	case "!!float":
		return "a number"
	case "!!bool":
		return "a boolean"
	case "!!null":
		return "nothing"
	}
	return "a string"
}
