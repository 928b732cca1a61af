package agents

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"

	"github.com/parley-voice/parley/agents/internal/docmap"
)

const schemaFile = "../docs/agent-config.schema.json"

func TestSchemaIsUpToDate(t *testing.T) {
	got, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, Schema()) {
		t.Errorf("%s is stale: run go generate ./agents", schemaFile)
	}
}

func TestSchemaDocsAreUpToDate(t *testing.T) {
	docs, err := docmap.Extract(".")
	if err != nil {
		t.Fatal(err)
	}
	want, err := docmap.Render("agents", "schemaDocs", "go run ./internal/schemadocs", docs)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("schema_docs.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("schema_docs.go is stale: run go generate ./agents")
	}
}

// Every property of every config type is described, and the key facts (required
// fields, enums, defaults, the duration pattern) are in the schema.
func TestSchemaContent(t *testing.T) {
	var s struct {
		Ref  string `json:"$ref"`
		Defs map[string]struct {
			Properties map[string]struct {
				Description string `json:"description"`
				Enum        []any  `json:"enum"`
				Default     any    `json:"default"`
			} `json:"properties"`
			Required []string `json:"required"`
			Pattern  string   `json:"pattern"`
			Then     *struct {
				Required []string `json:"required"`
			} `json:"then"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(Schema(), &s); err != nil {
		t.Fatal(err)
	}
	if s.Ref != "#/$defs/Config" {
		t.Errorf("$ref = %q", s.Ref)
	}
	for name, def := range s.Defs {
		for prop, p := range def.Properties {
			if p.Description == "" {
				t.Errorf("%s.%s has no description", name, prop)
			}
		}
	}
	cfg := s.Defs["Config"]
	if len(cfg.Required) != 1 || cfg.Required[0] != "id" {
		t.Errorf("Config required = %v, want [id]", cfg.Required)
	}
	if cfg.Then == nil || cfg.Then.Required[0] != "flow" {
		t.Error("Config does not require flow for the flow provider")
	}
	if got := s.Defs["STTConfig"].Properties["provider"]; len(got.Enum) != len(sttProviders) || got.Default != "pocketsphinx" {
		t.Errorf("stt.provider = %+v", got)
	}
	if got := s.Defs["TurnConfig"].Properties["endpointing"].Default; got != "600ms" {
		t.Errorf("turn.endpointing default = %v", got)
	}
	if got := s.Defs["TurnConfig"].Properties["allow_interruptions"].Default; got != true {
		t.Errorf("turn.allow_interruptions default = %v", got)
	}
	if s.Defs["Duration"].Pattern != durationPattern {
		t.Errorf("Duration pattern = %q", s.Defs["Duration"].Pattern)
	}
	if got := s.Defs["FlowConfig"].Required; len(got) != 2 {
		t.Errorf("FlowConfig required = %v, want start and nodes", got)
	}
}
