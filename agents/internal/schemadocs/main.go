// Command schemadocs regenerates agents/schema_docs.go from the doc comments of
// the config types. Run it through go generate in the agents directory.
package main

import (
	"fmt"
	"os"

	"github.com/parley-voice/parley/agents/internal/docmap"
)

// Generator names this program in the generated file's header.
const generator = "go run ./internal/schemadocs"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "schemadocs:", err)
		os.Exit(1)
	}
}

func run() error {
	docs, err := docmap.Extract(".")
	if err != nil {
		return err
	}
	src, err := docmap.Render("agents", "schemaDocs", generator, docs)
	if err != nil {
		return err
	}
	return docmap.WriteIfChanged("schema_docs.go", src)
}
