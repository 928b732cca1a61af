package agents

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// MaxConfigSize is the largest config file Parse accepts.
const MaxConfigSize = 4 << 20

// Load reads, parses and validates the agent config in the YAML file at path,
// substituting environment variables from the process environment.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading agent config: %w", err)
	}
	return Parse(path, data, os.LookupEnv)
}

// Parse parses and validates one agent config. name is used in error messages
// (usually the file path). ${VAR} and ${VAR:-default} in values are replaced
// using lookupEnv (os.LookupEnv when nil). Unknown keys, values of the wrong type
// and every problem Validate finds are errors; the returned error joins all of
// them, each a *FieldError naming the file, line and column.
func Parse(name string, data []byte, lookupEnv func(string) (string, bool)) (*Config, error) {
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	src := &source{name: name, pos: map[string]position{}}
	fileErr := func(format string, args ...any) error {
		return &FieldError{File: name, Msg: fmt.Sprintf(format, args...)}
	}
	if len(data) > MaxConfigSize {
		return nil, fileErr("file is larger than %d bytes", MaxConfigSize)
	}

	root, err := parseYAML(name, data)
	if err != nil {
		return nil, err
	}
	if len(root.Content) == 0 || root.Content[0].Kind == yaml.ScalarNode && root.Content[0].ShortTag() == "!!null" {
		return nil, fileErr("file is empty; an agent config needs at least id and flow (or llm)")
	}

	in := &interpolator{lookup: lookupEnv, src: src, changed: map[*yaml.Node]bool{}}
	in.walk(root, "")
	if len(in.errs) > 0 {
		return nil, errors.Join(in.errs...)
	}

	ck := &checker{src: src, changed: in.changed, present: map[string]bool{}}
	ck.check(root.Content[0], reflect.TypeOf(Config{}), "")
	if len(ck.errs) > 0 {
		return nil, errors.Join(ck.errs...)
	}

	cfg := Default()
	if ck.present["flow"] {
		cfg.Flow = DefaultFlow()
	}
	if len(in.changed) == 0 {
		// Nothing was substituted: decode the file as written.
		root = nil
	}
	if err := decodeStrict(data, root, cfg); err != nil {
		// The checker reports everything this can reject; reaching here is a
		// bug, reported without the values yaml.v3 quotes.
		return nil, &FieldError{File: name, Msg: "decoding: " + sanitizeYAMLError(err)}
	}
	cfg.src = src
	cfg.applyDefaults()
	if !ck.present["tts.voice"] {
		cfg.defaultVoice()
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// parseYAML reads exactly one YAML document into a node tree.
func parseYAML(name string, data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &FieldError{File: name, Msg: "file is empty; an agent config needs at least id and flow (or llm)"}
		}
		return nil, yamlSyntaxError(name, err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, yamlSyntaxError(name, err)
	default:
		return nil, &FieldError{File: name, Line: extra.Line, Column: extra.Column, Msg: "the file holds more than one YAML document; put each agent in its own file"}
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) != 1 {
		return nil, &FieldError{File: name, Msg: "not a YAML document"}
	}
	if top := root.Content[0]; top.Kind != yaml.MappingNode && !(top.Kind == yaml.ScalarNode && top.ShortTag() == "!!null") {
		return nil, &FieldError{File: name, Line: top.Line, Column: top.Column, Msg: "an agent config is a mapping of keys to values (id: …, flow: …)"}
	}
	return &root, nil
}

// decodeStrict decodes into cfg with yaml.v3's KnownFields, as a final guard
// behind the checker, which has already reported anything this could reject,
// with better positions. It decodes data, or the interpolated tree root when
// not nil (re-encoded, as yaml.v3 offers KnownFields only when decoding text).
func decodeStrict(data []byte, root *yaml.Node, cfg *Config) error {
	if root != nil {
		var err error
		if data, err = yaml.Marshal(root); err != nil {
			return err
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	return dec.Decode(cfg)
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlSyntaxError turns a yaml.v3 parse error into a FieldError with its line.
// These come from the file as written, before interpolation, so they hold no
// secrets.
func yamlSyntaxError(name string, err error) error {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &FieldError{File: name, Line: line, Msg: "invalid YAML: " + m[2], Err: err}
	}
	return &FieldError{File: name, Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: "), Err: err}
}

var backquotedRE = regexp.MustCompile("`[^`]*`")

// sanitizeYAMLError drops the values yaml.v3 quotes in its type errors, which may
// come from the environment.
func sanitizeYAMLError(err error) string {
	return backquotedRE.ReplaceAllString(strings.TrimPrefix(err.Error(), "yaml: "), "value")
}

// LoadDir loads every *.yaml and *.yml file in dir (not its subdirectories), in
// name order. Agent ids must be unique. The error joins the problems of every
// file; on error no configs are returned.
func LoadDir(dir string) ([]*Config, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading agent config directory: %w", err)
	}
	var names []string
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if e.Type().IsRegular() && (ext == ".yaml" || ext == ".yml") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	var (
		cfgs []*Config
		errs []error
		byID = map[string]string{}
	)
	for _, n := range names {
		path := filepath.Join(dir, n)
		cfg, err := Load(path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if first, dup := byID[cfg.ID]; dup {
			line, col := cfg.src.position("id")
			errs = append(errs, &FieldError{File: path, Line: line, Column: col, Path: "id",
				Msg: fmt.Sprintf("agent id %s is also used by %s", cfg.src.show(cfg.ID), first), Err: ErrDuplicateID})
			continue
		}
		byID[cfg.ID] = path
		cfgs = append(cfgs, cfg)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return cfgs, nil
}
