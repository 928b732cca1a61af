// Package agents defines the agent config — the YAML file that describes one
// voice agent — as Go types, and loads it strictly: unknown keys, duplicate keys
// and mistyped values are errors with file, line and column; ${ENV} references
// are substituted in values; defaults fill what the file leaves out; and Validate
// reports every remaining problem with its YAML path. The flow engine that runs
// a config's conversation graph lives in agents/flow; the field reference is
// docs/AGENTS.md and the JSON Schema (Schema, docs/agent-config.schema.json) is
// generated from these types by go generate.
package agents
