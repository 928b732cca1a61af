// Command schemagen writes the agent config's JSON Schema (agents.Schema) to
// docs/agent-config.schema.json. Run it through go generate in the agents
// directory, after schemadocs.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/agents/internal/docmap"
)

func main() {
	out := filepath.Join("..", "docs", "agent-config.schema.json")
	if len(os.Args) > 1 {
		out = os.Args[1]
	}
	if err := docmap.WriteIfChanged(out, agents.Schema()); err != nil {
		fmt.Fprintln(os.Stderr, "schemagen:", err)
		os.Exit(1)
	}
}
