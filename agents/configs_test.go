package agents_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/agents/flow"
)

const configsDir = "../configs"

// Every config that ships must load, validate and compile, with only the
// environment variables it gives defaults for.
func TestShippedConfigs(t *testing.T) {
	entries, err := os.ReadDir(configsDir)
	if err != nil {
		t.Fatal(err)
	}
	noEnv := func(string) (string, bool) { return "", false }
	var n int
	for _, e := range entries {
		path := filepath.Join(configsDir, e.Name())
		if e.IsDir() || filepath.Ext(path) != ".yaml" {
			// configs/embed.go ships the *.yaml files in the binary.
			if filepath.Ext(path) == ".yml" {
				t.Errorf("%s: name agent configs *.yaml so that configs.FS embeds them", path)
			}
			continue
		}
		n++
		t.Run(e.Name(), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := agents.Parse(path, data, noEnv)
			if err != nil {
				t.Fatalf("invalid config:\n%v", err)
			}
			if err := cfg.Validate(); err != nil {
				t.Fatalf("Validate after Parse: %v", err)
			}
			if cfg.LLM.Provider != agents.ProviderFlow {
				return
			}
			f, err := flow.New(cfg.Flow)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range f.Phrases() {
				if strings.Trim(p, "abcdefghijklmnopqrstuvwxyz ") != "" {
					t.Errorf("phrase %q is not plain lowercase words", p)
				}
			}
		})
	}
	if n < 2 {
		t.Errorf("found %d configs, want at least demo.yaml and support-flow.yaml", n)
	}
	cfgs, err := agents.LoadDir(configsDir)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range cfgs {
		ids = append(ids, c.ID)
	}
	if !slices.Contains(ids, "demo") {
		t.Errorf("LoadDir ids = %v, want demo among them", ids)
	}
}

func TestDemoConfig(t *testing.T) {
	cfg, err := agents.Load(filepath.Join(configsDir, "demo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.STT.Provider != "pocketsphinx" || cfg.TTS.Provider != "espeak" || cfg.LLM.Provider != "flow" {
		t.Errorf("demo must run offline: stt %q tts %q llm %q", cfg.STT.Provider, cfg.TTS.Provider, cfg.LLM.Provider)
	}
	var tools []string
	for _, tr := range cfg.Tools {
		tools = append(tools, tr.As)
	}
	for _, want := range []string{"book_appointment", "end_call", "transfer_call"} {
		if !slices.Contains(tools, want) {
			t.Errorf("demo tools %v lack %s", tools, want)
		}
	}
	if got := cfg.Flow.Nodes["front_desk"].TransferTo; got != "+15550100" {
		t.Errorf("front desk number = %q, want the default +15550100", got)
	}
}
