package main

import (
	"context"
	"fmt"
	"io"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/runtime/server"
	"github.com/parley-voice/parley/runtime/webhooks"
)

func runValidate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("validate", "FILE...", `
Check agent config files: strict YAML (unknown keys are errors), environment
interpolation, defaults and every validation rule. Each problem is reported with
its file and line. An agent's own webhook endpoints are checked too.
--server-config also checks a server config file (queue, admin, webhook
endpoints). Exits 1 if any file is invalid.`, stderr)
	serverConfig := fs.String("server-config", "", "also check this server config file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *serverConfig != "" {
		if _, err := server.LoadFile(*serverConfig); err != nil {
			fmt.Fprintf(stdout, "✗ %s\n%s\n", *serverConfig, indent(err.Error()))
			return fmt.Errorf("server config %s invalid", *serverConfig)
		}
		fmt.Fprintf(stdout, "✓ %s (server config)\n", *serverConfig)
		if fs.NArg() == 0 {
			return nil
		}
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "parley validate: name at least one config file")
		fs.Usage()
		return errUsage
	}
	bad := 0
	for _, p := range fs.Args() {
		c, err := agents.Load(p)
		if err == nil {
			_, err = webhooks.AgentEndpoints(c.ID, c.Webhooks)
		}
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
