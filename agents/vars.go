package agents

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/parley-voice/parley/agents/internal/tmpl"
)

// Built-in per-call variables: every call sets them, so templates may use them
// without declaring them.
const (
	// VarFrom is the caller's number or address, as the transport gives it.
	VarFrom = "from"
	// VarTo is the number or address that was called.
	VarTo = "to"
	// VarCallID is the call's id, as in its events.
	VarCallID = "call_id"
	// VarAgentID is the id of the agent serving the call.
	VarAgentID = "agent_id"
)

var builtinVars = []string{VarAgentID, VarCallID, VarFrom, VarTo}

// BuiltinVars lists the variables every call sets.
func BuiltinVars() []string { return slices.Clone(builtinVars) }

// CallVars returns the variables of one call: the declared defaults (vars and
// flow.vars), then from and to, then given (what the transport and the
// call-start hook set for the call) over them, and last call_id and agent_id,
// which nothing overrides. The result is a new map.
func (c *Config) CallVars(callID, from, to string, given map[string]string) map[string]string {
	out := make(map[string]string, len(c.Vars)+len(given)+len(builtinVars))
	if c.Flow != nil {
		maps.Copy(out, c.Flow.Vars)
	}
	maps.Copy(out, c.Vars)
	out[VarFrom], out[VarTo] = from, to
	maps.Copy(out, given)
	out[VarCallID], out[VarAgentID] = callID, c.ID
	return out
}

// RenderSystemPrompt returns llm.system_prompt with its {{variables}} replaced
// by their values in vars (see CallVars).
func (c *Config) RenderSystemPrompt(vars map[string]string) string {
	return render(c.LLM.SystemPrompt, vars)
}

// RenderGreeting returns greeting with its {{variables}} replaced by their
// values in vars (see CallVars).
func (c *Config) RenderGreeting(vars map[string]string) string {
	return render(c.Greeting, vars)
}

// render fills the template s. Values are inserted as they are: a value that
// holds "{{x}}" is not expanded again, so a caller's name from a CRM cannot
// pull other variables into the prompt. A template that does not parse (a
// config built in code and never validated) is returned unchanged.
func render(s string, vars map[string]string) string {
	if !strings.Contains(s, "{{") {
		return s
	}
	t, err := tmpl.Parse(s)
	if err != nil {
		return s
	}
	return t.Fill(func(ref string) string { return vars[ref] })
}

// validateVars checks the top-level vars and the templates that use them.
func (c *Config) validateVars(p *problems) {
	for _, name := range sortedKeys(c.Vars) {
		path := joinPath("vars", name)
		switch {
		case !identRE.MatchString(name):
			p.addf(path, "%q is not a valid variable name: letters, digits and _, not starting with a digit", name)
		case name == "result":
			p.addf(path, "the name \"result\" is reserved for tool results")
		case slices.Contains(builtinVars, name):
			p.addf(path, "%q is a built-in variable that every call sets (%s); remove it", name, strings.Join(builtinVars, ", "))
		case c.Flow != nil && hasKey(c.Flow.Vars, name):
			p.addf(path, "%q is also declared in flow.vars; declare it in one place", name)
		case c.Flow != nil && hasKey(c.Flow.Slots, name):
			p.addf(path, "%q is also a flow slot; give the variable another name", name)
		}
	}
	c.checkTemplate(p, "llm.system_prompt", c.LLM.SystemPrompt)
	c.checkTemplate(p, "greeting", c.Greeting)
}

// knownVars lists every variable a template may use: built-ins, vars and
// flow.vars.
func (c *Config) knownVars() []string {
	known := append(BuiltinVars(), sortedKeys(c.Vars)...)
	if c.Flow != nil {
		known = append(known, sortedKeys(c.Flow.Vars)...)
	}
	return known
}

// checkTemplate checks a prompt template: its syntax, and that it uses only
// variables that every call has.
func (c *Config) checkTemplate(p *problems, path, s string) {
	t, err := tmpl.Parse(s)
	if err != nil {
		templateSyntax(p, path, s, err)
		return
	}
	known := c.knownVars()
	for _, ref := range t.Refs() {
		if strings.Contains(ref, ".") {
			p.addf(path, "{{%s}}: variables are plain names", ref)
			continue
		}
		if slices.Contains(known, ref) {
			continue
		}
		msg := fmt.Sprintf("{{%s}} is not a variable: declare it under vars with a default value, or use a built-in (%s)", ref, strings.Join(builtinVars, ", "))
		if s := suggest(ref, known); s != "" {
			msg = fmt.Sprintf("{{%s}} is not a variable (did you mean {{%s}}?)", ref, s)
		}
		p.addf(path, "%s", msg)
	}
}

// templateSyntax reports a template that does not parse. The parser quotes the
// text around the error, which is left out when the text holds a value from
// the environment or a secret file.
func templateSyntax(p *problems, path, s string, err error) {
	if p.src.hasSecret(s) {
		p.addf(path, "is not a valid template: an unclosed {{ or an invalid name inside {{ }} (the text holds a value from the environment or a secret file, so it is not shown)")
		return
	}
	p.addf(path, "%v", err)
}

// hasSecret reports whether v contains a value taken from the environment or a
// secret file.
func (s *source) hasSecret(v string) bool {
	if s == nil {
		return false
	}
	for _, sec := range s.secrets {
		if sec != "" && strings.Contains(v, sec) {
			return true
		}
	}
	return false
}
