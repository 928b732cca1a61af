package agents

import (
	"strings"
	"testing"
)

// richYAML uses every flow feature; the flow tests change one thing in it.
const richYAML = `id: test
tools: [{name: end_call}, {name: transfer_call}, {name: lookup}]
flow:
  start: hello
  vars: {shop: Shop}
  intents:
    bye: {examples: [goodbye], keywords: [bye]}
    order: {examples: ["where is my order", "order {{num}}"], keywords: [order]}
    "yes": {examples: ["yes"]}
  slots:
    num: {type: digits, length: 3}
    day: {values: [monday, tuesday], synonyms: {monday: [start of the week]}}
  global:
    - {intent: bye, next: end}
  nodes:
    hello:
      say: Hi from {{shop}}
      capture: [day]
      transitions:
        - {intent: order, when_slot: num, next: lookup}
        - {intent: order, next: ask}
        - {when_slot: day, next: ask}
    ask:
      say: Number?
      capture: [num]
      transitions: [{when_slot: num, next: lookup}]
    lookup:
      say: Looking up {{num}} for {{day}}
      tool: {name: lookup, args: {n: "{{num}}", nested: [{d: "{{day}}"}]}}
      on_result: status
      on_error: failed
    status:
      say: It is {{result.status}}.
      transitions: [{intent: "yes", next: hello}]
    failed:
      say: Not found, {{result.error}}.
      next: human
    human:
      say: Transferring.
      action: transfer
      transfer_to: "+1 (555) 010-0000"
    end:
      say: Bye
      action: end_call
`

// editNode changes one node of a flow in place.
func editNode(f *FlowConfig, name string, edit func(n *FlowNode)) {
	n := f.Nodes[name]
	edit(&n)
	f.Nodes[name] = n
}

func editSlot(f *FlowConfig, name string, edit func(s *FlowSlot)) {
	s := f.Slots[name]
	edit(&s)
	f.Slots[name] = s
}

func editIntent(f *FlowConfig, name string, edit func(in *FlowIntent)) {
	in := f.Intents[name]
	edit(&in)
	f.Intents[name] = in
}

func TestValidateFlowRules(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *Config)
		want   string
	}{
		{"threshold zero", func(c *Config) { c.Flow.Threshold = 0 }, "flow.threshold: must be above 0 and at most 1"},
		{"threshold above one", func(c *Config) { c.Flow.Threshold = 1.5 }, "flow.threshold: must be above 0 and at most 1"},
		{"fallback empty", func(c *Config) { c.Flow.Fallback = " " }, "flow.fallback: must not be empty"},
		{"fallback template", func(c *Config) { c.Flow.Fallback = "Sorry {{who}}" }, "flow.fallback: {{who}} is not a slot or a variable"},
		{"var name", func(c *Config) { c.Flow.Vars["1x"] = "" }, `flow.vars.1x: "1x" is not a valid variable name`},
		{"var named result", func(c *Config) { c.Flow.Vars["result"] = "" }, `flow.vars.result: the name "result" is reserved`},
		{"var is a slot", func(c *Config) { c.Flow.Vars["day"] = "" }, `flow.vars.day: "day" is also a slot`},
		{"slot name", func(c *Config) { c.Flow.Slots["my-slot"] = FlowSlot{Values: []string{"a"}} }, `flow.slots.my-slot: "my-slot" is not a valid slot name`},
		{"slot named result", func(c *Config) { c.Flow.Slots["result"] = FlowSlot{Values: []string{"a"}} }, `flow.slots.result: the name "result" is reserved`},
		{"slot type", func(c *Config) { editSlot(c.Flow, "day", func(s *FlowSlot) { s.Type = "date" }) }, `flow.slots.day.type: must be "text" or "digits"`},
		{"text slot needs values", func(c *Config) { editSlot(c.Flow, "day", func(s *FlowSlot) { s.Values, s.Synonyms = nil, nil }) }, "flow.slots.day: needs values or a pattern"},
		{"length only for digits", func(c *Config) { editSlot(c.Flow, "day", func(s *FlowSlot) { s.Length = 2 }) }, "flow.slots.day.length: is only for digits slots"},
		{"digits take no values", func(c *Config) { editSlot(c.Flow, "num", func(s *FlowSlot) { s.Values = []string{"one"} }) }, "flow.slots.num: a digits slot takes no values"},
		{"digits length", func(c *Config) { editSlot(c.Flow, "num", func(s *FlowSlot) { s.Length = 21 }) }, "flow.slots.num.length: must be between 0 (any) and 20"},
		{"pattern", func(c *Config) { editSlot(c.Flow, "day", func(s *FlowSlot) { s.Pattern = "(monday" }) }, "flow.slots.day.pattern: does not compile"},
		{"empty value", func(c *Config) { editSlot(c.Flow, "day", func(s *FlowSlot) { s.Values = append(s.Values, "?!") }) }, "flow.slots.day.values[2]: must hold at least one word"},
		{"synonym of no value", func(c *Config) { editSlot(c.Flow, "day", func(s *FlowSlot) { s.Synonyms["friday"] = []string{"fri"} }) }, `flow.slots.day.synonyms.friday: "friday" is not one of the slot's values`},
		{"phrase for two values", func(c *Config) {
			editSlot(c.Flow, "day", func(s *FlowSlot) { s.Synonyms["tuesday"] = []string{"Monday"} })
		}, `flow.slots.day.synonyms.tuesday[0]: "monday" already stands for "monday"`},
		{"intent name", func(c *Config) { c.Flow.Intents["a b"] = FlowIntent{Keywords: []string{"x"}} }, `flow.intents.a b: "a b" is not a valid intent name`},
		{"intent needs examples", func(c *Config) { c.Flow.Intents["bye"] = FlowIntent{} }, "flow.intents.bye: needs examples or keywords"},
		{"example template", func(c *Config) { editIntent(c.Flow, "bye", func(in *FlowIntent) { in.Examples = []string{"bye {{"} }) }, "flow.intents.bye.examples[0]: template syntax"},
		{"example slot", func(c *Config) {
			editIntent(c.Flow, "bye", func(in *FlowIntent) { in.Examples = []string{"bye {{dya}}"} })
		}, `flow.intents.bye.examples[0]: unknown slot "dya" (did you mean "day"?)`},
		{"example empty", func(c *Config) { editIntent(c.Flow, "bye", func(in *FlowIntent) { in.Examples = []string{"..."} }) }, "flow.intents.bye.examples[0]: must hold at least one word"},
		{"keyword empty", func(c *Config) { editIntent(c.Flow, "bye", func(in *FlowIntent) { in.Keywords = []string{""} }) }, "flow.intents.bye.keywords[0]: must hold at least one word"},
		{"no nodes", func(c *Config) { c.Flow.Nodes = nil }, "flow.nodes: must hold at least one node"},
		{"start required", func(c *Config) { c.Flow.Start = "" }, "flow.start: is required"},
		{"start unknown", func(c *Config) { c.Flow.Start = "helo" }, `flow.start: unknown node "helo" (did you mean "hello"?)`},
		{"node name", func(c *Config) { c.Flow.Nodes["a b"] = c.Flow.Nodes["end"] }, `flow.nodes.a b: "a b" is not a valid node name`},
		{"say template", func(c *Config) { editNode(c.Flow, "hello", func(n *FlowNode) { n.Say = "Hi {{ }}" }) }, "flow.nodes.hello.say: template syntax"},
		{"say reference", func(c *Config) { editNode(c.Flow, "hello", func(n *FlowNode) { n.Say = "Hi from {{shp}}" }) }, "flow.nodes.hello.say: {{shp}} is not a slot or a variable (did you mean {{shop}}?)"},
		{"reprompt reference", func(c *Config) { editNode(c.Flow, "hello", func(n *FlowNode) { n.Reprompt = "{{nope}}" }) }, "flow.nodes.hello.reprompt: {{nope}} is not a slot"},
		{"nested slot reference", func(c *Config) { editNode(c.Flow, "hello", func(n *FlowNode) { n.Say = "{{day.name}}" }) }, "{{day.name}}: only result has fields"},
		{"result outside result node", func(c *Config) { editNode(c.Flow, "hello", func(n *FlowNode) { n.Say = "{{result.x}}" }) }, "flow.nodes.hello.say: {{result.x}}: only nodes reached through a tool's on_result"},
		{"capture unknown", func(c *Config) { editNode(c.Flow, "hello", func(n *FlowNode) { n.Capture = []string{"dy"} }) }, `flow.nodes.hello.capture[0]: unknown slot "dy"`},
		{"capture twice", func(c *Config) { editNode(c.Flow, "hello", func(n *FlowNode) { n.Capture = []string{"day", "day"} }) }, `flow.nodes.hello.capture[1]: slot "day" is listed twice`},
		{"transition condition", func(c *Config) { editNode(c.Flow, "status", func(n *FlowNode) { n.Transitions[0].Intent = "" }) }, "flow.nodes.status.transitions[0]: needs an intent, a when_slot, or both"},
		{"transition intent", func(c *Config) { editNode(c.Flow, "status", func(n *FlowNode) { n.Transitions[0].Intent = "yess" }) }, `flow.nodes.status.transitions[0].intent: unknown intent "yess" (did you mean "yes"?)`},
		{"transition slot", func(c *Config) { editNode(c.Flow, "ask", func(n *FlowNode) { n.Transitions[0].WhenSlot = "nun" }) }, `flow.nodes.ask.transitions[0].when_slot: unknown slot "nun"`},
		{"transition slot not captured", func(c *Config) { editNode(c.Flow, "ask", func(n *FlowNode) { n.Capture = []string{"day"} }) }, `flow.nodes.ask.transitions[0].when_slot: slot "num" is never captured at this node`},
		{"transition next required", func(c *Config) { editNode(c.Flow, "ask", func(n *FlowNode) { n.Transitions[0].Next = "" }) }, "flow.nodes.ask.transitions[0].next: is required"},
		{"transition next unknown", func(c *Config) { editNode(c.Flow, "ask", func(n *FlowNode) { n.Transitions[0].Next = "lookpu" }) }, `flow.nodes.ask.transitions[0].next: unknown node "lookpu" (did you mean "lookup"?)`},
		{"next unknown", func(c *Config) { editNode(c.Flow, "failed", func(n *FlowNode) { n.Next = "nobody" }) }, `flow.nodes.failed.next: unknown node "nobody"`},
		{"next and transitions", func(c *Config) { editNode(c.Flow, "ask", func(n *FlowNode) { n.Next = "hello" }) }, "flow.nodes.ask.next: moves on without waiting for the caller, so the node cannot also have transitions"},
		{"next and tool", func(c *Config) { editNode(c.Flow, "lookup", func(n *FlowNode) { n.Next = "hello" }) }, "so the node cannot also have a tool (use on_result)"},
		{"next and action", func(c *Config) { editNode(c.Flow, "end", func(n *FlowNode) { n.Next = "hello" }) }, "so the node cannot also have an action"},
		{"tool name required", func(c *Config) { editNode(c.Flow, "lookup", func(n *FlowNode) { n.Tool = &FlowToolCall{} }) }, "flow.nodes.lookup.tool.name: is required"},
		{"tool not declared", func(c *Config) { c.Tools = c.Tools[:2] }, `flow.nodes.lookup.tool.name: the agent has no tool "lookup"; add it to tools`},
		{"tool args template", func(c *Config) {
			editNode(c.Flow, "lookup", func(n *FlowNode) { n.Tool.Args = map[string]any{"a": []any{"{{zzz}}"}} })
		}, "flow.nodes.lookup.tool.args.a[0]: {{zzz}} is not a slot"},
		{"on_result without tool", func(c *Config) { editNode(c.Flow, "status", func(n *FlowNode) { n.OnResult = "hello" }) }, "flow.nodes.status.on_result: needs a tool"},
		{"on_result unknown", func(c *Config) { editNode(c.Flow, "lookup", func(n *FlowNode) { n.OnResult = "stat" }) }, `flow.nodes.lookup.on_result: unknown node "stat"`},
		{"on_error unknown", func(c *Config) { editNode(c.Flow, "lookup", func(n *FlowNode) { n.OnError = "fail" }) }, `flow.nodes.lookup.on_error: unknown node "fail"`},
		{"action", func(c *Config) { editNode(c.Flow, "end", func(n *FlowNode) { n.Action = "hangup" }) }, `flow.nodes.end.action: must be "end_call" or "transfer"`},
		{"end_call tool", func(c *Config) { c.Tools = c.Tools[1:] }, "flow.nodes.end.action: needs the built-in end_call tool; add it to tools (- name: end_call)"},
		{"transfer_call tool", func(c *Config) { c.Tools = append(c.Tools[:1], c.Tools[2:]...) }, "flow.nodes.human.action: needs the built-in transfer_call tool"},
		{"transfer_to required", func(c *Config) { editNode(c.Flow, "human", func(n *FlowNode) { n.TransferTo = "" }) }, `flow.nodes.human.transfer_to: is required for action "transfer"`},
		{"transfer_to invalid", func(c *Config) { editNode(c.Flow, "human", func(n *FlowNode) { n.TransferTo = "5550100" }) }, `flow.nodes.human.transfer_to: "5550100" is not a phone number in E.164 form`},
		{"transfer_to without transfer", func(c *Config) { editNode(c.Flow, "end", func(n *FlowNode) { n.TransferTo = "+15550100" }) }, `flow.nodes.end.transfer_to: is only used with action "transfer"`},
		{"reason without action", func(c *Config) { editNode(c.Flow, "ask", func(n *FlowNode) { n.Reason = "x" }) }, "flow.nodes.ask.reason: is only used with an action"},
		{"no way forward", func(c *Config) { editNode(c.Flow, "status", func(n *FlowNode) { n.Transitions = nil }) }, "flow.nodes.status: has no way forward"},
		{"tool without on_result", func(c *Config) { editNode(c.Flow, "lookup", func(n *FlowNode) { n.OnResult, n.OnError = "", "" }) }, "flow.nodes.lookup: has no way forward"},
		{"say required", func(c *Config) { editNode(c.Flow, "ask", func(n *FlowNode) { n.Say = "" }) }, "flow.nodes.ask.say: is required unless the node calls a tool or ends the call"},
		{"global intent", func(c *Config) { c.Flow.Global = append(c.Flow.Global, FlowTransition{WhenSlot: "day", Next: "ask"}) }, "flow.global[1].intent: is required for a global transition"},
		{"global slot", func(c *Config) {
			c.Flow.Global = append(c.Flow.Global, FlowTransition{Intent: "bye", WhenSlot: "day", Next: "ask"})
		}, `flow.global[1].when_slot: slot "day" is never captured by a global transition`},
		{"unreachable", func(c *Config) { c.Flow.Nodes["orphan"] = FlowNode{Say: "x", Next: "hello"} }, "flow.nodes.orphan: is never reached from the start node or a global transition"},
		{"next loop", func(c *Config) {
			c.Flow.Nodes["a"] = FlowNode{Say: "a", Next: "b"}
			c.Flow.Nodes["b"] = FlowNode{Say: "b", Next: "a"}
			editNode(c.Flow, "failed", func(n *FlowNode) { n.Next = "a" })
		}, "flow.nodes.a.next: forms a loop of next (a → b) that never waits for the caller"},
		{"unused intent", func(c *Config) { c.Flow.Intents["spare"] = FlowIntent{Keywords: []string{"x"}} }, "flow.intents.spare: is never used by a transition"},
		{"unused slot", func(c *Config) { c.Flow.Slots["spare"] = FlowSlot{Values: []string{"x"}} }, "flow.slots.spare: is never captured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, richYAML)
			tt.mutate(c)
			wantErr(t, c.Validate(), tt.want)
		})
	}
}

func TestValidateFlowAccepts(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *Config)
	}{
		{"sip destination", func(c *Config) {
			editNode(c.Flow, "human", func(n *FlowNode) { n.TransferTo = "sip:desk@example.com" })
		}},
		{"result field through next", func(c *Config) {
			editNode(c.Flow, "human", func(n *FlowNode) { n.Say = "Transferring because {{result.error}}." })
		}},
		{"pattern-only slot", func(c *Config) {
			editSlot(c.Flow, "day", func(s *FlowSlot) { s.Values, s.Synonyms, s.Pattern = nil, nil, `\b(\w+day)\b` })
		}},
		{"goodbye node with transitions", func(c *Config) {
			editNode(c.Flow, "end", func(n *FlowNode) { n.Transitions = []FlowTransition{{Intent: "order", Next: "ask"}} })
		}},
		{"tool with only on_result", func(c *Config) {
			editNode(c.Flow, "lookup", func(n *FlowNode) { n.OnError = "" })
			editNode(c.Flow, "failed", func(n *FlowNode) { n.Say = "Not found." })
			c.Flow.Global = append(c.Flow.Global, FlowTransition{Intent: "bye", Next: "failed"})
		}},
		{"tool node without say", func(c *Config) { editNode(c.Flow, "lookup", func(n *FlowNode) { n.Say = "" }) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, richYAML)
			tt.mutate(c)
			if err := c.Validate(); err != nil {
				t.Errorf("unexpected error: %v", err)
			}
		})
	}
}

func TestFlowValidateStandalone(t *testing.T) {
	c := mustParse(t, richYAML)
	// Without the agent, tool declarations cannot be checked; the rest is.
	c.Tools = nil
	if err := c.Flow.Validate(); err != nil {
		t.Errorf("standalone flow: %v", err)
	}
	c.Flow.Start = "x"
	err := c.Flow.Validate()
	wantErr(t, err, `flow.start: unknown node "x"`)
	if strings.Contains(err.Error(), "tool") {
		t.Errorf("standalone validation checked tools: %v", err)
	}
}
