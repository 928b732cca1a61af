package dispatch

import (
	"slices"
	"strconv"
	"strings"

	"github.com/parley-voice/parley/runtime/webhooks"
)

// An event is stored under
//
//	<prefix>.ev.<partition>.<agent_id or _>.<event_type>
//
// so that each endpoint's consumer asks JetStream for the events its filters
// can match: an endpoint subscribed to call.* for one agent is never handed
// the other agents' speech events only to skip them. The subject filter is a
// superset of the endpoint's globs; the glob match after it is exact.

// eventSubject is the subject an event is stored under.
func (n *names) eventSubject(partition uint64, agent, eventType string) string {
	var b strings.Builder
	b.Grow(len(n.evSubject) + 4 + len(agent) + len(eventType) + 2)
	b.WriteString(n.evSubject)
	b.WriteString(strconv.FormatUint(partition, 10))
	b.WriteByte('.')
	b.WriteString(subjectToken(agent))
	b.WriteByte('.')
	b.WriteString(typeTokens(eventType))
	return b.String()
}

// typeTokens makes an event type safe as subject tokens: its dots stay, so
// "call.ended" is two tokens; anything else that is not allowed becomes '_'.
func typeTokens(t string) string {
	if t == "" {
		return "_"
	}
	parts := strings.Split(t, ".")
	for i, p := range parts {
		parts[i] = subjectToken(p)
	}
	return strings.Join(parts, ".")
}

// filterSubjects are the subjects an endpoint's consumer reads: one per agent
// (plus "_", events of no agent) and type pattern. A glob that has no exact
// subject form (e.g. "*.started") reads every type of that agent; the
// endpoint's own match then decides.
func (n *names) filterSubjects(ep *webhooks.Endpoint) []string {
	agents := []string{"*"}
	if len(ep.Agents) > 0 {
		agents = append([]string{"_"}, ep.Agents...)
		for i, a := range agents {
			agents[i] = subjectToken(a)
		}
	}
	types := []string{">"}
	if len(ep.Events) > 0 {
		types = types[:0]
		for _, g := range ep.Events {
			types = append(types, typeFilter(g))
		}
		if slices.Contains(types, ">") {
			types = []string{">"}
		}
	}
	slices.Sort(types)
	types = slices.Compact(types)
	// Drop types another one of the list already covers ("call.>" covers
	// "call.ended"), as JetStream refuses overlapping filters.
	var kept []string
	for _, t := range types {
		covered := false
		for _, o := range types {
			if o != t && strings.HasSuffix(o, ".>") && strings.HasPrefix(t, strings.TrimSuffix(o, ">")) {
				covered = true
			}
		}
		if !covered {
			kept = append(kept, t)
		}
	}
	var out []string
	for _, a := range agents {
		for _, t := range kept {
			out = append(out, n.evSubject+"*."+a+"."+t)
		}
	}
	return out
}

// typeFilter turns an event type glob into a subject filter that matches at
// least every type the glob matches.
func typeFilter(glob string) string {
	if glob == "*" {
		return ">"
	}
	if !strings.ContainsAny(glob, `*?[\`) {
		return typeTokens(glob)
	}
	// "call.*" matches "call.ended" and, as * spans dots, "call.x.y".
	if p, ok := strings.CutSuffix(glob, ".*"); ok && !strings.ContainsAny(p, `*?[\`) {
		return typeTokens(p) + ".>"
	}
	return ">"
}
