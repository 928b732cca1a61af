package agents

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary bytes to Parse: errors are expected, panics and
// hangs are bugs. The seeds are the shipped configs and the test fixtures.
func FuzzParse(f *testing.F) {
	paths, _ := filepath.Glob("../configs/*.yaml")
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		minimalYAML, richYAML,
		minimalYAML + "turn: {endpointng: 1s}\n",
		"id: x\nllm: {api_key: ${KEY}, base_url: ${URL:-http://x}}\n",
		"a: &a [*a]\n",
		"id: x\nflow: {nodes: {a: {<<: {say: hi}}}}\n",
		"id: x\n---\nid: y\n",
		"",
	} {
		f.Add([]byte(s))
	}
	env := func(k string) (string, bool) {
		if strings.HasPrefix(k, "U") {
			return "", false
		}
		return "v$" + k, true
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.yaml", data, env)
		if err != nil {
			if cfg != nil {
				t.Fatal("Parse returned a config with an error")
			}
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("Parse accepted a config that Validate rejects: %v", err)
		}
	})
}
