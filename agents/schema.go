package agents

//go:generate go run ./internal/schemadocs
//go:generate go run ./internal/schemagen

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/invopop/jsonschema"

	"github.com/parley-voice/parley/pipeline"
)

// SchemaID is the $id of the agent config JSON Schema.
const SchemaID = "https://github.com/parley-voice/parley/docs/agent-config.schema.json"

// Schema returns the JSON Schema (draft 2020-12) of an agent config file,
// generated from the Go types and their doc comments, with defaults and allowed
// values. docs/agent-config.schema.json holds the same text for editors.
func Schema() []byte { return slices.Clone(schemaOnce()) }

var schemaOnce = sync.OnceValue(func() []byte {
	b, err := json.MarshalIndent(buildSchema(), "", "  ")
	if err != nil {
		// The schema is built from fixed Go types; failing here is a bug.
		panic("agents: encoding the config schema: " + err.Error())
	}
	return append(b, '\n')
})

func buildSchema() *jsonschema.Schema {
	pkg := reflect.TypeOf(Config{}).PkgPath()
	r := &jsonschema.Reflector{
		FieldNameTag:               "yaml",
		RequiredFromJSONSchemaTags: true,
		Anonymous:                  true,
		LookupComment: func(t reflect.Type, field string) string {
			if t.PkgPath() != pkg {
				return ""
			}
			if field == "" {
				return schemaDocs[t.Name()]
			}
			return schemaDocs[t.Name()+"."+field]
		},
	}
	s := r.Reflect(&Config{})
	s.ID = SchemaID
	s.Title = "Parley agent config"

	defs := s.Definitions
	d := Default()
	for name, v := range map[string]any{
		"Config": d, "STTConfig": d.STT, "TTSConfig": d.TTS, "LLMConfig": d.LLM,
		"TurnConfig": d.Turn, "VADConfig": d.VAD, "BudgetConfig": d.Budgets,
		"BudgetAction": d.Budgets.OnExceeded, "TimeoutConfig": d.Timeouts, "FlowConfig": DefaultFlow(),
	} {
		setDefaults(defs[name], v)
	}
	setEnum(defs["STTConfig"], "provider", sttProviders)
	setEnum(defs["TTSConfig"], "provider", ttsProviders)
	setEnum(defs["LLMConfig"], "provider", llmProviders)
	setEnum(defs["STTFallback"], "provider", sttProviders)
	setEnum(defs["TTSFallback"], "provider", ttsProviders)
	setEnum(defs["LLMFallback"], "provider", fallbackLLMProviders())
	setEnum(defs["BudgetAction"], "action", budgetActions)
	setEnum(defs["BudgetAction"], "stage", pipeline.Stages)
	setEnum(defs["FlowSlot"], "type", []string{SlotText, SlotDigits})
	setEnum(defs["FlowNode"], "action", []string{ActionEndCall, ActionTransfer})
	if p := prop(defs["BudgetConfig"], "stages"); p != nil {
		p.PropertyNames = &jsonschema.Schema{Enum: anySlice(pipeline.Stages)}
	}
	if p := prop(defs["Config"], "id"); p != nil {
		p.Pattern = idRE.String()
	}
	if p := prop(defs["Config"], "language"); p != nil {
		p.Pattern = languageRE.String()
	}
	// llm.provider defaults to flow, so a config without llm needs a flow too.
	if c := defs["Config"]; c != nil {
		c.If = &jsonschema.Schema{Properties: jsonschema.NewProperties()}
		llm := &jsonschema.Schema{Properties: jsonschema.NewProperties()}
		llm.Properties.Set("provider", &jsonschema.Schema{Const: ProviderFlow})
		c.If.Properties.Set("llm", llm)
		c.Then = &jsonschema.Schema{Required: []string{"flow"}}
	}
	return s
}

func prop(s *jsonschema.Schema, name string) *jsonschema.Schema {
	if s == nil || s.Properties == nil {
		return nil
	}
	p, _ := s.Properties.Get(name)
	return p
}

func setEnum(s *jsonschema.Schema, name string, values []string) {
	if p := prop(s, name); p != nil {
		p.Enum = anySlice(values)
	}
}

func anySlice(values []string) []any {
	out := make([]any, len(values))
	for i, v := range values {
		out[i] = v
	}
	return out
}

// setDefaults records the non-zero scalar and list fields of v (a struct or a
// pointer to one) as the defaults of the matching properties of s.
func setDefaults(s *jsonschema.Schema, v any) {
	rv := reflect.Indirect(reflect.ValueOf(v))
	t := rv.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		fv := rv.Field(i)
		k := fv.Kind()
		if fv.IsZero() || k == reflect.Struct || k == reflect.Pointer || k == reflect.Map {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		p := prop(s, name)
		if p == nil {
			continue
		}
		if d, ok := fv.Interface().(Duration); ok {
			p.Default = d.String()
			continue
		}
		p.Default = fv.Interface()
	}
}
