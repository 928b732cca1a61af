package dispatch

import (
	"slices"
	"testing"

	"github.com/parley-voice/parley/runtime/events"
	"github.com/parley-voice/parley/runtime/webhooks"
)

func TestFilterSubjectsCoverTheirGlobs(t *testing.T) {
	n := newNames("PARLEY")
	cases := []struct {
		ep   webhooks.Endpoint
		want []string
	}{
		{webhooks.Endpoint{}, []string{"parley.ev.*.*.>"}},
		{webhooks.Endpoint{Events: []string{"call.*", "call.ended", "speech.transcribed"}},
			[]string{"parley.ev.*.*.call.>", "parley.ev.*.*.speech.transcribed"}},
		{webhooks.Endpoint{Events: []string{"*.started", "call.ended"}}, []string{"parley.ev.*.*.>"}},
		{webhooks.Endpoint{Agents: []string{"dental"}, Events: []string{"call.ended"}},
			[]string{"parley.ev.*._.call.ended", "parley.ev.*.dental.call.ended"}},
	}
	for _, c := range cases {
		if got := n.filterSubjects(&c.ep); !slices.Equal(got, c.want) {
			t.Errorf("%v/%v: %v, want %v", c.ep.Agents, c.ep.Events, got, c.want)
		}
	}
	// Every catalogue type a glob matches is under one of its subjects.
	for _, glob := range []string{"*", "call.*", "agent.*", "agent.speech.*", "tool.called", "*.ended", "turn.?ompleted"} {
		ep := webhooks.Endpoint{Events: []string{glob}}
		filters := n.filterSubjects(&ep)
		for _, typ := range events.Types {
			if !events.Match(glob, typ) {
				continue
			}
			subj := n.eventSubject(3, "dental", typ)
			if !slices.ContainsFunc(filters, func(f string) bool { return subjectMatches(f, subj) }) {
				t.Errorf("glob %q matches %s but %s is under none of %v", glob, typ, subj, filters)
			}
		}
	}
}

// subjectMatches is NATS subject matching, for the test.
func subjectMatches(filter, subj string) bool {
	f, s := splitDots(filter), splitDots(subj)
	for i, tok := range f {
		if tok == ">" {
			return len(s) > i
		}
		if i >= len(s) || (tok != "*" && tok != s[i]) {
			return false
		}
	}
	return len(f) == len(s)
}

func splitDots(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
