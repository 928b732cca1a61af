// Package flow is the deterministic conversation engine: it runs an agent's flow
// (agents.FlowConfig) in place of a language model, so that agents work without
// any API key or network. It implements pipeline.LLM: each caller turn is matched
// against the intents and slots possible at the current node, the flow moves
// along the first matching transition, and the reply is the new node's text plus
// any tool call or call action.
//
// Matching is deterministic: the same flow, state and words always give the same
// reply. Intents are scored by weighted word overlap with their examples (close
// misspellings count partly, filler words little) and by keywords; slots are
// found by their listed values, a pattern, or spoken digits.
package flow

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/agents/internal/tmpl"
	"github.com/parley-voice/parley/pipeline"
)

// InformIntent names the intent reported when a transition fires on a captured
// slot alone (the caller gave a value, such as a day, rather than asking for
// something).
const InformIntent = "inform"

// maxChain bounds how many nodes one reply may pass through with next;
// validation already rejects loops of next.
const maxChain = 32

// Flow is a compiled, validated flow. It is immutable and safe for concurrent
// use; each call gets its own session from NewSession.
type Flow struct {
	start     string
	fallback  tmpl.Template
	threshold float64
	vars      map[string]string
	nodes     map[string]*node
	intents   map[string]*intent
	slots     map[string]*slot
	slotOrder []string
	global    []transition
	phrases   []string
}

type node struct {
	name        string
	say         tmpl.Template
	reprompt    tmpl.Template
	capture     []string
	transitions []transition
	next        string
	tool        *toolCall
	onResult    string
	onError     string
	action      string
	transferTo  string
	reason      string
}

type transition struct {
	intent, whenSlot, next string
}

type toolCall struct {
	name string
	args any // strings in it are templates, filled per call
}

// New validates cfg and compiles it. cfg is copied: later changes to it do not
// affect the Flow.
func New(cfg *agents.FlowConfig) (*Flow, error) {
	if cfg == nil {
		return nil, fmt.Errorf("flow: no flow config")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("flow: invalid flow config:\n%w", err)
	}
	f := &Flow{
		start:     cfg.Start,
		threshold: cfg.Threshold,
		vars:      maps.Clone(cfg.Vars),
		nodes:     make(map[string]*node, len(cfg.Nodes)),
		intents:   make(map[string]*intent, len(cfg.Intents)),
		slots:     make(map[string]*slot, len(cfg.Slots)),
	}
	f.fallback = mustParse(cfg.Fallback)
	for name, s := range cfg.Slots {
		f.slots[name] = compileSlot(name, s)
		f.slotOrder = append(f.slotOrder, name)
	}
	sort.Strings(f.slotOrder)
	for name, in := range cfg.Intents {
		f.intents[name] = compileIntent(name, in)
	}
	for name, n := range cfg.Nodes {
		cn := &node{
			name: name, say: mustParse(n.Say), reprompt: mustParse(n.Reprompt),
			capture: slices.Clone(n.Capture), next: n.Next, onResult: n.OnResult, onError: n.OnError,
			action: n.Action, transferTo: n.TransferTo, reason: n.Reason,
		}
		if len(n.Reprompt) == 0 {
			cn.reprompt = cn.say
		}
		for _, t := range n.Transitions {
			cn.transitions = append(cn.transitions, transition{t.Intent, t.WhenSlot, t.Next})
		}
		if n.Tool != nil {
			cn.tool = &toolCall{name: n.Tool.Name, args: copyArgs(n.Tool.Args)}
		}
		f.nodes[name] = cn
	}
	for _, t := range cfg.Global {
		f.global = append(f.global, transition{t.Intent, t.WhenSlot, t.Next})
	}
	f.phrases = f.buildPhrases()
	return f, nil
}

// mustParse parses a template that validation has already accepted.
func mustParse(s string) tmpl.Template {
	t, err := tmpl.Parse(s)
	if err != nil {
		panic("flow: template passed validation but does not parse: " + err.Error())
	}
	return t
}

// copyArgs deep-copies tool arguments as decoded from YAML, turning any map
// with non-string keys into one with string keys so that it encodes as JSON.
func copyArgs(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = copyArgs(e)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[fmt.Sprint(k)] = copyArgs(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = copyArgs(e)
		}
		return out
	}
	return v
}

// NewSession starts the flow for one call. vars override the flow's declared
// variables for this call; LLMRequest.Vars override both.
func (f *Flow) NewSession(vars map[string]string) pipeline.LLM {
	s := &Session{f: f, node: f.start, vars: maps.Clone(f.vars), slots: map[string]string{}, pending: map[string]string{}}
	if s.vars == nil {
		s.vars = map[string]string{}
	}
	maps.Copy(s.vars, vars)
	return s
}

// Phrases returns every phrase a caller may say anywhere in the flow, normalised
// (lowercase words, numbers spelled out, no punctuation), distinct and sorted:
// intent examples with their {{slot}} placeholders filled with each slot value
// (while the combinations stay few), keywords, slot values and synonyms, and
// every sequence of a digits slot of up to three digits. A grammar-based
// recogniser built from them hears what the flow understands.
func (f *Flow) Phrases() []string { return slices.Clone(f.phrases) }

// maxExpansion bounds the phrases one intent example expands to; beyond it the
// example is listed with its placeholders left out.
const maxExpansion = 200

// maxDigitPhrases bounds the digit sequences listed for a digits slot: every
// sequence of up to three digits. Longer numbers would need a grammar that
// repeats a digit rule; listing them all makes recognisers slow and large (a
// four-digit list took PocketSphinx 200 MB and seconds per utterance).
const maxDigitPhrases = 1000

func (f *Flow) buildPhrases() []string {
	set := map[string]bool{}
	add := func(words []string) {
		if len(words) > 0 {
			set[joinWords(words)] = true
		}
	}
	for _, name := range f.slotOrder {
		for _, alt := range f.slots[name].alternatives() {
			add(alt)
		}
	}
	for _, in := range f.intents {
		for _, k := range in.keywords {
			add(k)
		}
		for _, ex := range in.examples {
			for _, p := range f.expand(ex) {
				add(p)
			}
		}
	}
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// expand fills the {{slot}} placeholders of an example with every alternative of
// each slot, or drops them when that would make too many phrases.
func (f *Flow) expand(ex []string) [][]string {
	out := [][]string{nil}
	for _, w := range ex {
		name, ok := placeholderName(w)
		if !ok {
			for i := range out {
				out[i] = append(out[i], w)
			}
			continue
		}
		alts := f.slots[name].alternatives()
		if len(alts) == 0 || len(out)*len(alts) > maxExpansion {
			return [][]string{withoutPlaceholders(ex)}
		}
		next := make([][]string, 0, len(out)*len(alts))
		for _, prefix := range out {
			for _, alt := range alts {
				next = append(next, append(slices.Clone(prefix), alt...))
			}
		}
		out = next
	}
	return out
}

func withoutPlaceholders(ex []string) []string {
	var out []string
	for _, w := range ex {
		if _, ok := placeholderName(w); !ok {
			out = append(out, w)
		}
	}
	return out
}

func joinWords(words []string) string {
	n := 0
	for _, w := range words {
		n += len(w) + 1
	}
	b := make([]byte, 0, n)
	for i, w := range words {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, w...)
	}
	return string(b)
}

// compilePattern compiles a slot pattern that validation has already accepted.
func compilePattern(p string) *regexp.Regexp {
	if p == "" {
		return nil
	}
	return regexp.MustCompile(p)
}
