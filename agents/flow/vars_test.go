package flow_test

import (
	"context"
	"testing"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/agents/flow"
	"github.com/parley-voice/parley/pipeline"
)

// A flow's texts may use the agent's top-level vars and the built-ins; the
// runtime gives the session the call's variables (agents.Config.CallVars).
func TestFlowUsesAgentVars(t *testing.T) {
	const doc = `id: shop
vars: {customer_name: there}
tools: [{name: end_call}]
flow:
  start: hello
  vars: {shop: Parley Shop}
  nodes:
    hello:
      say: "Hi {{customer_name}}, this is {{shop}} on {{to}}."
      action: end_call
`
	cfg, err := agents.Parse("shop.yaml", []byte(doc), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	f, err := flow.New(cfg.Flow)
	if err != nil {
		t.Fatal(err)
	}
	for given, want := range map[string]string{
		"":    "Hi there, this is Parley Shop on +15550199.",
		"Ada": "Hi Ada, this is Parley Shop on +15550199.",
	} {
		vars := map[string]string{}
		if given != "" {
			vars["customer_name"] = given
		}
		all := cfg.CallVars("CA1", "+15550100", "+15550199", vars)
		var text string
		err := f.NewSession(all).Generate(context.Background(), &pipeline.LLMRequest{Vars: all}, func(ch pipeline.LLMChunk) { text += ch.Text })
		if err != nil || text != want {
			t.Errorf("greeting %q, %v; want %q", text, err, want)
		}
	}
}
