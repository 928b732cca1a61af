package agents

import (
	"errors"
	"strings"
	"testing"
)

const llmYAML = `id: support
vars:
  customer_name: there
  plan: basic
greeting: "Hi {{customer_name}}, thanks for calling."
llm:
  provider: fake
  system_prompt: "You help {{ customer_name }} ({{plan}} plan) calling from {{from}} on call {{call_id}} to agent {{agent_id}}."
`

func TestParseVarsAndTemplates(t *testing.T) {
	c := mustParse(t, llmYAML)
	if c.Vars["customer_name"] != "there" || c.Vars["plan"] != "basic" {
		t.Fatalf("vars = %v", c.Vars)
	}
	vars := c.CallVars("CA1", "+15550100", "+15550199", map[string]string{"customer_name": "Ada", "crm_id": "42"})
	want := map[string]string{"customer_name": "Ada", "plan": "basic", "crm_id": "42", "from": "+15550100", "to": "+15550199", "call_id": "CA1", "agent_id": "support"}
	if len(vars) != len(want) {
		t.Errorf("CallVars = %v, want %v", vars, want)
	}
	for k, v := range want {
		if vars[k] != v {
			t.Errorf("CallVars[%s] = %q, want %q", k, vars[k], v)
		}
	}
	if got := c.RenderSystemPrompt(vars); got != "You help Ada (basic plan) calling from +15550100 on call CA1 to agent support." {
		t.Errorf("system prompt = %q", got)
	}
	if got := c.RenderGreeting(vars); got != "Hi Ada, thanks for calling." {
		t.Errorf("greeting = %q", got)
	}
	// Defaults apply when the call sets nothing.
	if got := c.RenderGreeting(c.CallVars("CA2", "", "", nil)); got != "Hi there, thanks for calling." {
		t.Errorf("greeting with defaults = %q", got)
	}
}

func TestCallVarsPrecedence(t *testing.T) {
	c := mustParse(t, strings.Replace(minimalYAML, "flow:\n", "vars: {shop: Top}\nflow:\n  vars: {clinic: Flow}\n", 1))
	got := c.CallVars("CA1", "+1", "+2", map[string]string{"from": "sip:alice@example.com", "call_id": "forged", "agent_id": "forged", "shop": "Given"})
	if got["shop"] != "Given" || got["clinic"] != "Flow" || got["from"] != "sip:alice@example.com" || got["to"] != "+2" ||
		got["call_id"] != "CA1" || got["agent_id"] != "test" {
		t.Errorf("CallVars = %v", got)
	}
}

// A variable's value is inserted as it is: braces in it are not a template.
func TestRenderDoesNotExpandValues(t *testing.T) {
	c := mustParse(t, llmYAML)
	vars := c.CallVars("CA1", "", "", map[string]string{"customer_name": "{{plan}} {{call_id}} }}{{", "plan": "gold"})
	if got := c.RenderGreeting(vars); got != "Hi {{plan}} {{call_id}} }}{{, thanks for calling." {
		t.Errorf("greeting = %q", got)
	}
}

func TestVarsValidation(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"undeclared in prompt", strings.Replace(llmYAML, "{{plan}}", "{{tier}}", 1),
			[]string{"test.yaml:8:18: llm.system_prompt: {{tier}} is not a variable: declare it under vars with a default value, or use a built-in (agent_id, call_id, from, to)"}},
		{"typo in greeting", strings.Replace(llmYAML, "Hi {{customer_name}}", "Hi {{custmer_name}}", 1),
			[]string{"test.yaml:5:11: greeting: {{custmer_name}} is not a variable (did you mean {{customer_name}}?)"}},
		{"nested", strings.Replace(llmYAML, "{{plan}}", "{{plan.name}}", 1), []string{"llm.system_prompt: {{plan.name}}: variables are plain names"}},
		{"syntax", strings.Replace(llmYAML, "{{agent_id}}", "{{agent_id", 1), []string{"llm.system_prompt: template syntax: \"{{agent_id.\" is not closed with }}"}},
		{"bad name", llmYAML + "  x: 1\n", nil}, // a key under llm, not vars: the strict checker's business
		{"invalid var name", strings.Replace(llmYAML, "  plan: basic", "  2plan: basic", 1), []string{`vars.2plan: "2plan" is not a valid variable name`}},
		{"builtin", strings.Replace(llmYAML, "  plan: basic", "  plan: basic\n  from: unknown", 1), []string{`vars.from: "from" is a built-in variable that every call sets`}},
		{"reserved", strings.Replace(llmYAML, "  plan: basic", "  plan: basic\n  result: x", 1), []string{`vars.result: the name "result" is reserved`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("test.yaml", []byte(tt.yaml), noEnv)
			if tt.want == nil {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			wantErr(t, err, tt.want...)
		})
	}
}

func TestFlowSeesAgentVars(t *testing.T) {
	doc := strings.Replace(minimalYAML, "flow:\n", "vars: {customer_name: there}\nflow:\n", 1)
	doc = strings.Replace(doc, "say: Hi", "say: Hi {{customer_name}}, you called {{to}} from {{from}}", 1)
	c := mustParse(t, doc)
	// The flow validates on its own too (flow.New does), knowing the agent's vars.
	if err := c.Flow.Validate(); err != nil {
		t.Errorf("flow.Validate: %v", err)
	}
	_, err := Parse("test.yaml", []byte(strings.Replace(doc, "{{customer_name}}", "{{custmer_name}}", 1)), noEnv)
	wantErr(t, err, "flow.nodes.hello.say: {{custmer_name}} is not a slot or a variable (did you mean {{customer_name}}?)")

	both := strings.Replace(minimalYAML, "flow:\n", "vars: {shop: A}\nflow:\n  vars: {shop: B}\n", 1)
	_, err = Parse("test.yaml", []byte(both), noEnv)
	wantErr(t, err, `vars.shop: "shop" is also declared in flow.vars; declare it in one place`)
	_, err = Parse("test.yaml", []byte(strings.Replace(minimalYAML, "flow:\n", "flow:\n  vars: {call_id: x}\n", 1)), noEnv)
	wantErr(t, err, `flow.vars.call_id: "call_id" is a built-in variable`)
}

// Template errors quote the text, except text that holds a value from the
// environment.
func TestTemplateErrorsHideSecrets(t *testing.T) {
	env := envMap(map[string]string{"PROMPT": "sk-live-{{oops"})
	_, err := Parse("test.yaml", []byte(minimalYAML+"llm: {system_prompt: \"${PROMPT}\"}\n"), env)
	wantErr(t, err, "llm.system_prompt: is not a valid template")
	if strings.Contains(err.Error(), "sk-live") {
		t.Errorf("error repeats the environment value: %v", err)
	}
}

func TestHistoryTokens(t *testing.T) {
	if c := mustParse(t, minimalYAML); c.LLM.HistoryTokens != DefaultHistoryTokens {
		t.Errorf("default history_tokens = %d", c.LLM.HistoryTokens)
	}
	if c := mustParse(t, minimalYAML+"llm: {history_tokens: 0}\n"); c.LLM.HistoryTokens != 0 {
		t.Errorf("history_tokens: 0 gives %d, want 0 (no limit)", c.LLM.HistoryTokens)
	}
	_, err := Parse("test.yaml", []byte(minimalYAML+"llm: {history_tokens: 100}\n"), noEnv)
	wantErr(t, err, "llm.history_tokens: must be 0 (no limit) or between 500 and 2000000")
}

func TestLanguages(t *testing.T) {
	c := mustParse(t, minimalYAML+"language: de-DE\nstt: {provider: deepgram}\n")
	if c.STTLanguage() != "de-DE" || c.TTSLanguage() != "de-DE" || c.TTS.Voice != "de-de" {
		t.Errorf("stt %q tts %q voice %q", c.STTLanguage(), c.TTSLanguage(), c.TTS.Voice)
	}
	c = mustParse(t, minimalYAML+"language: en-US\nstt: {provider: deepgram, language: es-MX}\ntts: {language: fr-FR}\n")
	if c.STTLanguage() != "es-MX" || c.TTSLanguage() != "fr-FR" || c.TTS.Voice != "fr-fr" {
		t.Errorf("stt %q tts %q voice %q", c.STTLanguage(), c.TTSLanguage(), c.TTS.Voice)
	}
	// A voice written in the file is kept; other providers keep the default.
	if c := mustParse(t, minimalYAML+"language: de-DE\nstt: {provider: fake}\ntts: {voice: en-gb}\n"); c.TTS.Voice != "en-gb" {
		t.Errorf("voice = %q", c.TTS.Voice)
	}
	if c := mustParse(t, minimalYAML+"language: de-DE\nstt: {provider: fake}\ntts: {provider: fake}\n"); c.TTS.Voice != "en-us" {
		t.Errorf("voice = %q", c.TTS.Voice)
	}
	_, err := Parse("test.yaml", []byte(minimalYAML+"language: fr-FR\n"), noEnv)
	wantErr(t, err, `test.yaml:17:11: language: "fr-FR": the pocketsphinx recogniser knows only English`)
	_, err = Parse("test.yaml", []byte(minimalYAML+"stt: {language: es}\n"), noEnv)
	wantErr(t, err, `stt.language: "es": the pocketsphinx recogniser knows only English`)
	if _, err := Parse("test.yaml", []byte(minimalYAML+"language: en-GB\n"), noEnv); err != nil {
		t.Errorf("en-GB with pocketsphinx: %v", err)
	}
	_, err = Parse("test.yaml", []byte(minimalYAML+"stt: {language: spanish}\ntts: {language: x}\n"), noEnv)
	wantErr(t, err, `stt.language: "spanish" is not a language tag`, `tts.language: "x" is not a language tag`)
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Error("no FieldError")
	}
}
