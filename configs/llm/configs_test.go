// Package llm_test checks the agent configs of configs/llm, which run on hosted
// or self-hosted models and so are not embedded in the binary: each must load
// with its environment variables set, fail clearly without them, and provision
// without touching the network.
package llm_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/plugins"
	_ "github.com/parley-voice/parley/plugins/all"
	_ "github.com/parley-voice/parley/plugins/demo"
	"github.com/parley-voice/parley/runtime/server"
)

// env returns a lookupEnv holding vars and nothing else.
func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

// noNetwork is a server that fails the test on any request: provisioning must
// not call a model.
func noNetwork(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("provisioning sent %s %s", r.Method, r.URL)
		http.Error(w, "no", http.StatusTeapot)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/v1"
}

func TestConfigs(t *testing.T) {
	for _, tc := range []struct {
		file     string
		vars     map[string]string
		required []string // variables without a default
		stt, llm string
		provider string // llm.provider; default openai
		tools    []string
	}{
		{
			file:     "openai-support.yaml",
			vars:     map[string]string{"OPENAI_API_KEY": "sk-test", "DEEPGRAM_API_KEY": "dg-test", "KB_DIR": "kb"},
			required: []string{"OPENAI_API_KEY", "DEEPGRAM_API_KEY"},
			stt:      "deepgram", llm: "gpt-4o-mini",
		},
		{
			file: "ollama-local.yaml",
			// Defaults cover everything; the URLs point at a server that
			// fails the test if anything calls it.
			vars: map[string]string{"OLLAMA_BASE_URL": noNetwork(t), "WHISPER_BASE_URL": noNetwork(t)},
			stt:  "openai", llm: "llama3.1",
		},
		{
			file: "server-driven.yaml",
			vars: map[string]string{"BRAIN_URL": "https://brain.example", "DEEPGRAM_API_KEY": "dg-test",
				"BRAIN_SECRET": "whsec_c2VydmVyLWRyaXZlbi1jb25maWctdGVzdC1zZWNyZXQ="},
			required: []string{"BRAIN_URL", "BRAIN_SECRET", "DEEPGRAM_API_KEY"},
			stt:      "deepgram", provider: "webhook",
			tools: []string{"end_call", "transfer_call", "lookup_order"},
		},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			name := filepath.Join("configs/llm", tc.file)
			cfg, err := agents.Parse(name, data, env(tc.vars))
			if err != nil {
				t.Fatalf("loading with its variables set: %v", err)
			}
			if tc.provider == "" {
				tc.provider = "openai"
			}
			if cfg.STT.Provider != tc.stt || cfg.LLM.Provider != tc.provider || cfg.LLM.Model != tc.llm {
				t.Errorf("stt %s, llm %s %s; want stt %s, llm %s %s", cfg.STT.Provider, cfg.LLM.Provider, cfg.LLM.Model, tc.stt, tc.provider, tc.llm)
			}
			a, err := server.Provision(cfg, plugins.Default(), &server.Providers{})
			if err != nil {
				t.Fatalf("provisioning: %v", err)
			}
			defer a.Tools.Close()
			if tc.tools == nil {
				tc.tools = []string{"end_call", "lookup_order"}
			}
			for _, n := range tc.tools {
				if _, ok := a.Tools.Lookup(n); !ok {
					t.Errorf("tool %s not provisioned (have %v)", n, a.Tools.Names())
				}
			}
			// The prompt names the caller when the call knows them.
			vars := cfg.CallVars("CA1", "+15550100", "+15550199", map[string]string{"customer_name": "Ada Lovelace"})
			if p := cfg.RenderSystemPrompt(vars); !strings.Contains(p, "name on file is Ada Lovelace; they are calling from\n+15550100.") {
				t.Errorf("system prompt does not name the caller:\n%s", p)
			}
			// A missing variable fails the load, naming it, without its value.
			for _, k := range tc.required {
				vars := map[string]string{}
				for kk, v := range tc.vars {
					if kk != k {
						vars[kk] = v
					}
				}
				_, err := agents.Parse(name, data, env(vars))
				if err == nil || !strings.Contains(err.Error(), k) {
					t.Errorf("without %s: err = %v; want an error naming it", k, err)
				}
			}
		})
	}
}
