package main

import (
	"fmt"
	"io/fs"
	"os"
	"sort"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/configs"
)

// loadAgents loads configs from files and directories, or the embedded shipped
// configs when none are given.
func loadAgents(paths []string) ([]*agents.Config, error) {
	if len(paths) == 0 {
		return embeddedAgents()
	}
	var out []*agents.Config
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if st.IsDir() {
			cs, err := agents.LoadDir(p)
			if err != nil {
				return nil, err
			}
			out = append(out, cs...)
			continue
		}
		c, err := agents.Load(p)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func embeddedAgents() ([]*agents.Config, error) {
	names, err := fs.Glob(configs.FS, "*.yaml")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var out []*agents.Config
	for _, n := range names {
		data, err := configs.FS.ReadFile(n)
		if err != nil {
			return nil, err
		}
		c, err := agents.Parse("configs/"+n, data, os.LookupEnv)
		if err != nil {
			return nil, fmt.Errorf("embedded config: %w", err)
		}
		out = append(out, c)
	}
	return out, nil
}
