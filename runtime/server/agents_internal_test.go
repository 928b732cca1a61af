package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-voice/parley/agents"
)

// TestNormalFormOfShippedConfigs: every shipped agent config has a normal
// form (the version hash is taken of it) that is stable across loads and
// differs when the config does.
func TestNormalFormOfShippedConfigs(t *testing.T) {
	paths, err := filepath.Glob("../../configs/*.yaml")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no shipped configs: %v", err)
	}
	env := func(name string) (string, bool) {
		if strings.HasSuffix(name, "_FILE") {
			return "", false
		}
		return "+15550100", true // a phone number fits every variable the shipped configs use
	}
	seen := map[string]string{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		a, err := agents.Parse(p, data, env)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		b, err := agents.Parse(p, data, env)
		if err != nil {
			t.Fatal(err)
		}
		na, err := normalForm(a)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		nb, _ := normalForm(b)
		if string(na) != string(nb) {
			t.Errorf("%s: two loads differ in normal form", p)
		}
		id := versionID(1, na)
		if other, dup := seen[id]; dup {
			t.Errorf("%s and %s have the same version %s", p, other, id)
		}
		seen[id] = p
		a.Greeting += " Changed."
		if nc, _ := normalForm(a); string(nc) == string(na) {
			t.Errorf("%s: a changed greeting has the same normal form", p)
		}
	}
}
