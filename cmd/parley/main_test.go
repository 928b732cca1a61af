package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	code := run(ctx, args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestHelpOnEveryCommand(t *testing.T) {
	if code, out, _ := runCLI(t, "--help"); code != 0 || !strings.Contains(out, "Commands:") {
		t.Fatalf("parley --help: code %d, %q", code, out)
	}
	for _, c := range commands {
		code, _, errOut := runCLI(t, c.name, "--help")
		if code != 0 || !strings.Contains(errOut, "Usage: parley "+c.name) || !strings.Contains(errOut, "Flags:") {
			t.Errorf("parley %s --help: code %d, %q", c.name, code, errOut)
		}
	}
	if code, _, errOut := runCLI(t, "frobnicate"); code != 2 || !strings.Contains(errOut, "unknown command") {
		t.Errorf("unknown command: code %d, %q", code, errOut)
	}
	if code, _, _ := runCLI(t, "serve", "--no-such-flag"); code != 2 {
		t.Errorf("bad flag: code %d, want 2", code)
	}
}

func TestValidate(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("id: x\nturn:\n  endpointng: 5ms\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runCLI(t, "validate", "../../configs/demo.yaml", bad)
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	if !strings.Contains(out, "✓ ../../configs/demo.yaml") || !strings.Contains(out, `bad.yaml:3:3: unknown field "endpointng"`) {
		t.Errorf("output:\n%s", out)
	}
	if code, _, _ := runCLI(t, "validate"); code != 2 {
		t.Errorf("validate without files: code %d, want 2", code)
	}
}

func TestEmbeddedConfigsMatchTheFolder(t *testing.T) {
	cfgs, err := embeddedAgents()
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("../../configs/*.yaml")
	if len(cfgs) != len(files) || len(cfgs) == 0 {
		t.Fatalf("%d embedded configs, %d files", len(cfgs), len(files))
	}
}

// TestDemo runs `parley demo` as `make demo` does and checks that the whole
// scripted conversation happened.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo speaks for about 45 s")
	}
	code, out, errOut := runCLI(t, "demo")
	if code != 0 {
		t.Fatalf("parley demo exited %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, want := range []string{"caller: i would like to book an appointment", `recognised: "tuesday"`,
		"intent:     book", "You are booked for tuesday at ten a m", "call ended: agent_hangup",
		"call.started", "speech.transcribed", "intent.matched", "call.ended", "demo complete"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(out)
	}
}
