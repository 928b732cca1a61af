package main

import (
	"context"
	"fmt"
	"io"

	"github.com/parley-voice/parley/agents"
)

func runValidate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("validate", "FILE...", `
Check agent config files: strict YAML (unknown keys are errors), environment
interpolation, defaults and every validation rule. Each problem is reported with
its file and line. Exits 1 if any file is invalid.`, stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "parley validate: name at least one config file")
		fs.Usage()
		return errUsage
	}
	bad := 0
	for _, p := range fs.Args() {
		c, err := agents.Load(p)
		if err != nil {
			bad++
			fmt.Fprintf(stdout, "✗ %s\n%s\n", p, indent(err.Error()))
			continue
		}
		fmt.Fprintf(stdout, "✓ %s (agent %q, stt %s, tts %s, llm %s)\n", p, c.ID, c.STT.Provider, c.TTS.Provider, c.LLM.Provider)
	}
	if bad > 0 {
		return fmt.Errorf("%d of %d configs invalid", bad, fs.NArg())
	}
	return nil
}

func runSchema(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("schema", "", "Print the JSON Schema of agent config files (also in docs/agent-config.schema.json).", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	_, err := stdout.Write(agents.Schema())
	return err
}

func indent(s string) string {
	out := "  "
	for _, r := range s {
		out += string(r)
		if r == '\n' {
			out += "  "
		}
	}
	return out
}
