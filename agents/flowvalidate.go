package agents

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/parley-voice/parley/agents/internal/phrase"
	"github.com/parley-voice/parley/agents/internal/tmpl"
)

var (
	nodeNameRE   = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_-]*$`)
	intentNameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_-]*$`)
	// Slot and variable names are template references, so identifiers.
	identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	phoneRE = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
)

// maxDigits is the longest digits slot.
const maxDigits = 20

// Validate checks the flow on its own, without the agent's tool list, and
// returns every problem joined; paths start with "flow.".
func (f *FlowConfig) Validate() error {
	p := &problems{}
	f.validate(p, "flow", nil)
	return p.err()
}

// flowCheck holds what validating one flow needs across its parts.
type flowCheck struct {
	f     *FlowConfig
	p     *problems
	base  string
	tools map[string]bool // nil: the agent's tools are unknown
	// slotsOf lists the slots an intent's examples use as {{placeholders}}.
	slotsOf map[string][]string
	// resultNodes see a tool result: on_result/on_error targets and the nodes
	// they lead to through next.
	resultNodes map[string]bool
	usedIntents map[string]bool
	usedSlots   map[string]bool
}

func (f *FlowConfig) validate(p *problems, base string, tools map[string]bool) {
	c := &flowCheck{f: f, p: p, base: base, tools: tools, slotsOf: map[string][]string{},
		resultNodes: map[string]bool{}, usedIntents: map[string]bool{}, usedSlots: map[string]bool{}}
	if !(f.Threshold > 0 && f.Threshold <= 1) {
		p.addf(base+".threshold", "must be above 0 and at most 1")
	}
	if strings.TrimSpace(f.Fallback) == "" {
		p.addf(base+".fallback", "must not be empty")
	}
	c.vars()
	c.slots()
	c.intents()
	c.findResultNodes()
	c.text(base+".fallback", f.Fallback, false)

	if len(f.Nodes) == 0 {
		p.addf(base+".nodes", "must hold at least one node")
	}
	switch _, ok := f.Nodes[f.Start]; {
	case f.Start == "":
		p.addf(base+".start", "is required: the node spoken first")
	case !ok:
		c.unknownNode(base+".start", f.Start)
	}
	for _, name := range sortedKeys(f.Nodes) {
		c.node(name, f.Nodes[name])
	}
	for i, t := range f.Global {
		path := indexPath(base+".global", i)
		if t.Intent == "" {
			p.addf(path+".intent", "is required for a global transition")
		}
		c.transition(path, t, nil, true)
	}
	c.reachability()
	c.nextCycles()
	for _, name := range sortedKeys(f.Intents) {
		if !c.usedIntents[name] {
			p.addf(joinPath(base+".intents", name), "is never used by a transition; remove it or add a transition")
		}
	}
	for _, name := range sortedKeys(f.Slots) {
		if !c.usedSlots[name] {
			p.addf(joinPath(base+".slots", name), "is never captured; list it in a node's capture or use it in an intent example")
		}
	}
}

func (c *flowCheck) vars() {
	for _, name := range sortedKeys(c.f.Vars) {
		path := joinPath(c.base+".vars", name)
		switch {
		case !identRE.MatchString(name):
			c.p.addf(path, "%q is not a valid variable name: letters, digits and _, not starting with a digit", name)
		case name == "result":
			c.p.addf(path, "the name \"result\" is reserved for tool results")
		case slices.Contains(builtinVars, name):
			c.p.addf(path, "%q is a built-in variable that every call sets (%s); remove it", name, strings.Join(builtinVars, ", "))
		case hasKey(c.f.Slots, name):
			c.p.addf(path, "%q is also a slot; give the variable another name", name)
		}
	}
}

func (c *flowCheck) slots() {
	for _, name := range sortedKeys(c.f.Slots) {
		s := c.f.Slots[name]
		path := joinPath(c.base+".slots", name)
		switch {
		case !identRE.MatchString(name):
			c.p.addf(path, "%q is not a valid slot name: letters, digits and _, not starting with a digit", name)
		case name == "result":
			c.p.addf(path, "the name \"result\" is reserved for tool results")
		}
		switch s.Type {
		case "", SlotText:
			if len(s.Values) == 0 && s.Pattern == "" {
				c.p.addf(path, "needs values or a pattern")
			}
			if s.Length != 0 {
				c.p.addf(path+".length", "is only for digits slots")
			}
			c.slotPhrases(path, s)
		case SlotDigits:
			if len(s.Values) > 0 || len(s.Synonyms) > 0 || s.Pattern != "" {
				c.p.addf(path, "a digits slot takes no values, synonyms or pattern: it captures any spoken digits")
			}
			if s.Length < 0 || s.Length > maxDigits {
				c.p.addf(path+".length", "must be between 0 (any) and %d", maxDigits)
			}
		default:
			c.p.addf(path+".type", "must be %q or %q", SlotText, SlotDigits)
		}
		if s.Pattern != "" {
			if _, err := regexp.Compile(s.Pattern); err != nil {
				c.p.addf(path+".pattern", "does not compile: %v", err)
			}
		}
	}
}

// slotPhrases checks that values and synonyms are words and that no phrase
// stands for two values.
func (c *flowCheck) slotPhrases(path string, s FlowSlot) {
	owner := map[string]string{}
	add := func(at, phr, value string) {
		n := phrase.Normalize(phr)
		if n == "" {
			c.p.addf(at, "must hold at least one word")
			return
		}
		if prev, ok := owner[n]; ok && prev != value {
			c.p.addf(at, "%q already stands for %q", n, prev)
			return
		}
		owner[n] = value
	}
	for i, v := range s.Values {
		add(indexPath(path+".values", i), v, v)
	}
	for _, v := range sortedKeys(s.Synonyms) {
		at := joinPath(path+".synonyms", v)
		if !slices.Contains(s.Values, v) {
			c.p.addf(at, "%q is not one of the slot's values", v)
			continue
		}
		for i, syn := range s.Synonyms[v] {
			add(indexPath(at, i), syn, v)
		}
	}
}

func (c *flowCheck) intents() {
	for _, name := range sortedKeys(c.f.Intents) {
		in := c.f.Intents[name]
		path := joinPath(c.base+".intents", name)
		if !intentNameRE.MatchString(name) {
			c.p.addf(path, "%q is not a valid intent name: letters, digits, _ and -", name)
		}
		if len(in.Examples) == 0 && len(in.Keywords) == 0 {
			c.p.addf(path, "needs examples or keywords")
		}
		for i, ex := range in.Examples {
			at := indexPath(path+".examples", i)
			t, err := tmpl.Parse(ex)
			if err != nil {
				templateSyntax(c.p, at, ex, err)
				continue
			}
			words := 0
			for _, part := range t {
				words += len(phrase.Words(part.Text))
			}
			for _, ref := range t.Refs() {
				if !hasKey(c.f.Slots, ref) {
					c.unknownRef(at, ref, "slot", sortedKeys(c.f.Slots))
					continue
				}
				words++
				c.usedSlots[ref] = true
				if !slices.Contains(c.slotsOf[name], ref) {
					c.slotsOf[name] = append(c.slotsOf[name], ref)
				}
			}
			if words == 0 {
				c.p.addf(at, "must hold at least one word")
			}
		}
		for i, k := range in.Keywords {
			if phrase.Normalize(k) == "" {
				c.p.addf(indexPath(path+".keywords", i), "must hold at least one word")
			}
		}
	}
}

func (c *flowCheck) findResultNodes() {
	for _, name := range sortedKeys(c.f.Nodes) {
		n := c.f.Nodes[name]
		if n.Tool == nil {
			continue
		}
		for _, target := range []string{n.OnResult, n.OnError} {
			for seen := 0; target != "" && !c.resultNodes[target] && seen <= len(c.f.Nodes); seen++ {
				c.resultNodes[target] = true
				target = c.f.Nodes[target].Next
			}
		}
	}
}

func (c *flowCheck) node(name string, n FlowNode) {
	path := joinPath(c.base+".nodes", name)
	if !nodeNameRE.MatchString(name) {
		c.p.addf(path, "%q is not a valid node name: letters, digits, _ and -", name)
	}
	withResult := c.resultNodes[name]
	c.text(path+".say", n.Say, withResult)
	c.text(path+".reprompt", n.Reprompt, withResult)
	for i, s := range n.Capture {
		at := indexPath(path+".capture", i)
		switch {
		case !hasKey(c.f.Slots, s):
			c.unknownRef(at, s, "slot", sortedKeys(c.f.Slots))
		case slices.Index(n.Capture, s) != i:
			c.p.addf(at, "slot %q is listed twice", s)
		default:
			c.usedSlots[s] = true
		}
	}
	for i, t := range n.Transitions {
		c.transition(indexPath(path+".transitions", i), t, n.Capture, false)
	}
	if n.Next != "" {
		c.nodeRef(path+".next", n.Next)
		for _, other := range []struct {
			set  bool
			what string
		}{{len(n.Transitions) > 0, "transitions"}, {n.Tool != nil, "a tool (use on_result)"}, {n.Action != "", "an action"}} {
			if other.set {
				c.p.addf(path+".next", "moves on without waiting for the caller, so the node cannot also have %s", other.what)
			}
		}
	}
	c.tool(path, n, withResult)
	c.action(path, n)
	if len(n.Transitions) == 0 && n.Next == "" && n.Action == "" && (n.Tool == nil || n.OnResult == "" && n.OnError == "") {
		c.p.addf(path, "has no way forward: add transitions, next, a tool with on_result, or an action (end_call, transfer)")
	}
	if strings.TrimSpace(n.Say) == "" && n.Tool == nil && n.Action == "" {
		c.p.addf(path+".say", "is required unless the node calls a tool or ends the call")
	}
}

func (c *flowCheck) tool(path string, n FlowNode, withResult bool) {
	if n.Tool == nil {
		for _, f := range []struct{ name, v string }{{"on_result", n.OnResult}, {"on_error", n.OnError}} {
			if f.v != "" {
				c.p.addf(path+"."+f.name, "needs a tool: it names the node to go to when the tool returns")
			}
		}
		return
	}
	tp := path + ".tool"
	switch {
	case n.Tool.Name == "":
		c.p.addf(tp+".name", "is required")
	case c.tools != nil && !c.tools[n.Tool.Name]:
		c.p.addf(tp+".name", "the agent has no tool %s; add it to tools (- name: %s)", c.p.src.show(n.Tool.Name), c.p.src.show(n.Tool.Name))
	}
	c.args(tp+".args", n.Tool.Args, withResult, 0)
	if n.OnResult != "" {
		c.nodeRef(path+".on_result", n.OnResult)
	}
	if n.OnError != "" {
		c.nodeRef(path+".on_error", n.OnError)
	}
}

// args checks the templates in tool arguments, however deeply nested.
func (c *flowCheck) args(path string, v any, withResult bool, depth int) {
	if depth > 32 {
		c.p.addf(path, "is nested too deeply")
		return
	}
	switch v := v.(type) {
	case string:
		c.text(path, v, withResult)
	case map[string]any:
		for _, k := range sortedKeys(v) {
			c.args(joinPath(path, k), v[k], withResult, depth+1)
		}
	case map[any]any:
		c.p.addf(path, "argument keys must be strings")
	case []any:
		for i, e := range v {
			c.args(indexPath(path, i), e, withResult, depth+1)
		}
	}
}

func (c *flowCheck) action(path string, n FlowNode) {
	show := c.p.src.show
	switch n.Action {
	case "":
	case ActionEndCall:
		c.needTool(path+".action", EndCallTool)
	case ActionTransfer:
		c.needTool(path+".action", TransferCallTool)
		if n.TransferTo == "" {
			c.p.addf(path+".transfer_to", "is required for action %q", ActionTransfer)
		} else if !validDestination(n.TransferTo) {
			c.p.addf(path+".transfer_to", "%s is not a phone number in E.164 form (+15550100) or a sip: URI", show(n.TransferTo))
		}
	default:
		c.p.addf(path+".action", "must be %q or %q", ActionEndCall, ActionTransfer)
	}
	if n.TransferTo != "" && n.Action != ActionTransfer {
		c.p.addf(path+".transfer_to", "is only used with action %q", ActionTransfer)
	}
	if n.Reason != "" && n.Action == "" {
		c.p.addf(path+".reason", "is only used with an action")
	}
}

func (c *flowCheck) needTool(path, tool string) {
	if c.tools != nil && !c.tools[tool] {
		c.p.addf(path, "needs the built-in %s tool; add it to tools (- name: %s)", tool, tool)
	}
}

// validDestination accepts what the transfer_call tool does: an E.164 number
// (spaces, dashes, dots and parentheses ignored) or a sip:/sips: URI.
func validDestination(s string) bool {
	lower := strings.ToLower(s)
	if rest, ok := strings.CutPrefix(lower, "sip:"); ok {
		return strings.TrimSpace(rest) != "" && !strings.ContainsAny(rest, " \t\r\n")
	}
	if rest, ok := strings.CutPrefix(lower, "sips:"); ok {
		return strings.TrimSpace(rest) != "" && !strings.ContainsAny(rest, " \t\r\n")
	}
	return phoneRE.MatchString(strings.NewReplacer(" ", "", "-", "", ".", "", "(", "", ")", "").Replace(s))
}

// transition checks one transition; capture is the node's capture list.
func (c *flowCheck) transition(path string, t FlowTransition, capture []string, global bool) {
	if t.Intent == "" && t.WhenSlot == "" {
		c.p.addf(path, "needs an intent, a when_slot, or both")
	}
	if t.Intent != "" {
		if hasKey(c.f.Intents, t.Intent) {
			c.usedIntents[t.Intent] = true
		} else {
			c.unknownRef(path+".intent", t.Intent, "intent", sortedKeys(c.f.Intents))
		}
	}
	if t.WhenSlot != "" {
		switch {
		case !hasKey(c.f.Slots, t.WhenSlot):
			c.unknownRef(path+".when_slot", t.WhenSlot, "slot", sortedKeys(c.f.Slots))
		case !slices.Contains(capture, t.WhenSlot) && !slices.Contains(c.slotsOf[t.Intent], t.WhenSlot):
			if global {
				c.p.addf(path+".when_slot", "slot %q is never captured by a global transition: use it as {{%s}} in an example of its intent", t.WhenSlot, t.WhenSlot)
			} else {
				c.p.addf(path+".when_slot", "slot %q is never captured at this node: add it to the node's capture", t.WhenSlot)
			}
		}
	}
	if t.Next == "" {
		c.p.addf(path+".next", "is required")
	} else {
		c.nodeRef(path+".next", t.Next)
	}
}

// text checks the {{references}} of a spoken text or tool argument.
func (c *flowCheck) text(path, s string, withResult bool) {
	t, err := tmpl.Parse(s)
	if err != nil {
		templateSyntax(c.p, path, s, err)
		return
	}
	for _, ref := range t.Refs() {
		head, _, nested := strings.Cut(ref, ".")
		switch {
		case head == "result":
			if !withResult {
				c.p.addf(path, "{{%s}}: only nodes reached through a tool's on_result or on_error (or next from them) see a tool result", ref)
			}
		case nested:
			c.p.addf(path, "{{%s}}: only result has fields; slots and variables are plain names", ref)
		case hasKey(c.f.Slots, ref):
			c.usedSlots[ref] = true
		case hasKey(c.f.Vars, ref), slices.Contains(c.f.agentVars, ref), slices.Contains(builtinVars, ref):
		default:
			known := append(sortedKeys(c.f.Slots), sortedKeys(c.f.Vars)...)
			known = append(append(known, c.f.agentVars...), builtinVars...)
			msg := fmt.Sprintf("{{%s}} is not a slot or a variable (declare variables under vars)", ref)
			if s := suggest(ref, known); s != "" {
				msg = fmt.Sprintf("{{%s}} is not a slot or a variable (did you mean {{%s}}?)", ref, s)
			}
			c.p.addf(path, "%s", msg)
		}
	}
}

func (c *flowCheck) nodeRef(path, name string) {
	if !hasKey(c.f.Nodes, name) {
		c.unknownNode(path, name)
	}
}

func (c *flowCheck) unknownNode(path, name string) {
	c.unknownRef(path, name, "node", sortedKeys(c.f.Nodes))
}

func (c *flowCheck) unknownRef(path, name, what string, known []string) {
	msg := fmt.Sprintf("unknown %s %s", what, c.p.src.show(name))
	if s := suggest(name, known); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	c.p.addf(path, "%s", msg)
}

// reachability reports nodes that no path from the start (or a global
// transition) leads to: usually a typo in a next.
func (c *flowCheck) reachability() {
	seen := map[string]bool{}
	var queue []string
	visit := func(name string) {
		if name != "" && hasKey(c.f.Nodes, name) && !seen[name] {
			seen[name] = true
			queue = append(queue, name)
		}
	}
	visit(c.f.Start)
	for _, t := range c.f.Global {
		visit(t.Next)
	}
	for len(queue) > 0 {
		n := c.f.Nodes[queue[0]]
		queue = queue[1:]
		for _, t := range n.Transitions {
			visit(t.Next)
		}
		visit(n.Next)
		visit(n.OnResult)
		visit(n.OnError)
	}
	for _, name := range sortedKeys(c.f.Nodes) {
		if !seen[name] {
			c.p.addf(joinPath(c.base+".nodes", name), "is never reached from the start node or a global transition")
		}
	}
}

// nextCycles reports loops made only of next, which would never wait for the
// caller.
func (c *flowCheck) nextCycles() {
	reported := map[string]bool{}
	for _, start := range sortedKeys(c.f.Nodes) {
		onPath := map[string]bool{}
		for name := start; name != "" && hasKey(c.f.Nodes, name); name = c.f.Nodes[name].Next {
			if onPath[name] {
				loop := []string{name}
				for m := c.f.Nodes[name].Next; m != name; m = c.f.Nodes[m].Next {
					loop = append(loop, m)
				}
				first := slices.Min(loop)
				if !reported[first] {
					reported[first] = true
					c.p.addf(joinPath(c.base+".nodes", first)+".next", "forms a loop of next (%s) that never waits for the caller", strings.Join(loop, " → "))
				}
				break
			}
			onPath[name] = true
		}
	}
}

func hasKey[V any](m map[string]V, k string) bool {
	_, ok := m[k]
	return ok
}
