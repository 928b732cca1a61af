package bench

import (
	"fmt"
	"log/slog"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/plugins"
	"github.com/parley-voice/parley/runtime/call"
	"github.com/parley-voice/parley/runtime/server"
)

// fakeAgentYAML is the benchmark agent: zero-latency fake providers and the
// production defaults for everything else (VAD, 600 ms endpointing, budgets).
// The fake recogniser hears "hello"; the fake LLM answers "You said: hello."
// (about a second of audio) and greets with "Hello. How can I help?".
const fakeAgentYAML = `
id: bench
name: Benchmark agent
stt: {provider: fake}
tts: {provider: fake}
llm: {provider: fake}
`

// FakeAgent provisions the benchmark agent the way the server does: agents.Parse,
// then server.Provision with fresh fake providers.
func FakeAgent() (*call.Agent, error) {
	cfg, err := agents.Parse("bench.yaml", []byte(fakeAgentYAML), func(string) (string, bool) { return "", false })
	if err != nil {
		return nil, fmt.Errorf("parsing the benchmark agent: %w", err)
	}
	a, err := server.Provision(cfg, plugins.Default(), &server.Providers{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, fmt.Errorf("provisioning the benchmark agent: %w", err)
	}
	return a, nil
}
