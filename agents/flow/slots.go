package flow

import (
	"regexp"
	"slices"
	"strings"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/agents/internal/phrase"
)

// slot finds one slot's value in the caller's words.
type slot struct {
	name    string
	digits  bool
	length  int
	pattern *regexp.Regexp
	// phrases are the values and synonyms as words, longest first, each with the
	// value it stands for.
	phrases []slotPhrase
}

type slotPhrase struct {
	words []string
	value string
}

// maxDigits bounds a digits slot without a length.
const maxDigits = 20

func compileSlot(name string, s agents.FlowSlot) *slot {
	sl := &slot{name: name, digits: s.Type == agents.SlotDigits, length: s.Length, pattern: compilePattern(s.Pattern)}
	for _, v := range s.Values {
		sl.phrases = append(sl.phrases, slotPhrase{phrase.Words(v), v})
		for _, syn := range s.Synonyms[v] {
			sl.phrases = append(sl.phrases, slotPhrase{phrase.Words(syn), v})
		}
	}
	// Longest first, so "ten thirty a m" wins over "ten"; stable keeps the
	// config's order among equals.
	slices.SortStableFunc(sl.phrases, func(a, b slotPhrase) int { return len(b.words) - len(a.words) })
	return sl
}

// match is a slot value found in the words, spanning words[start:end].
type match struct {
	value      string
	start, end int
}

// find returns the first place the slot's value occurs in words.
func (s *slot) find(words []string) (match, bool) {
	switch {
	case s.digits:
		return s.findDigits(words)
	case s.pattern != nil:
		return s.findPattern(words)
	}
	for i := range words {
		for _, p := range s.phrases {
			if hasPrefix(words[i:], p.words) {
				return match{p.value, i, i + len(p.words)}, true
			}
		}
	}
	return match{}, false
}

func hasPrefix(words, prefix []string) bool {
	if len(prefix) == 0 || len(prefix) > len(words) {
		return false
	}
	for i, w := range prefix {
		if words[i] != w {
			return false
		}
	}
	return true
}

// findPattern matches the pattern against the words joined by single spaces;
// the first group (or the whole match) is the value, mapped to a listed value
// when it is one of the slot's phrases.
func (s *slot) findPattern(words []string) (match, bool) {
	text := joinWords(words)
	loc := s.pattern.FindStringSubmatchIndex(text)
	if loc == nil {
		return match{}, false
	}
	from, to := loc[0], loc[1]
	if len(loc) >= 4 && loc[2] >= 0 {
		from, to = loc[2], loc[3]
	}
	raw := strings.TrimSpace(text[from:to])
	if raw == "" {
		return match{}, false
	}
	m := match{value: raw, start: wordIndex(text, from), end: wordIndex(text, to-1) + 1}
	got := phrase.Words(raw)
	for _, p := range s.phrases {
		if slices.Equal(p.words, got) {
			m.value = p.value
			break
		}
	}
	return m, true
}

// wordIndex returns which word of a space-joined text byte offset i falls in.
func wordIndex(text string, i int) int {
	if i < 0 {
		return 0
	}
	return strings.Count(text[:min(i, len(text))], " ")
}

// findDigits finds the first run of spoken digits ("four two oh seven",
// "twelve thirty four") with the slot's length.
func (s *slot) findDigits(words []string) (match, bool) {
	for i := 0; i < len(words); i++ {
		var b strings.Builder
		j := i
		for j < len(words) {
			d, used, ok := phrase.DigitValue(words[j:])
			if !ok {
				break
			}
			b.WriteString(d)
			j += used
		}
		if j == i {
			continue
		}
		n := b.Len()
		if (s.length == 0 && n <= maxDigits) || n == s.length {
			return match{b.String(), i, j}, true
		}
		i = j - 1
	}
	return match{}, false
}

// alternatives lists the ways of saying the slot's values, for grammars: its
// values and synonyms, or the digit sequences of a short digits slot.
func (s *slot) alternatives() [][]string {
	if !s.digits {
		out := make([][]string, 0, len(s.phrases))
		for _, p := range s.phrases {
			if len(p.words) > 0 {
				out = append(out, p.words)
			}
		}
		return out
	}
	digitWords := phrase.SpellDigits("0123456789")
	n := s.length
	if n == 0 || pow10(n) > maxDigitPhrases {
		// Too many sequences to list: offer the single digits.
		out := make([][]string, 0, len(phrase.DigitWords))
		for _, w := range phrase.DigitWords {
			out = append(out, []string{w})
		}
		return out
	}
	out := [][]string{nil}
	for range n {
		next := make([][]string, 0, len(out)*len(digitWords))
		for _, prefix := range out {
			for _, w := range digitWords {
				next = append(next, append(slices.Clone(prefix), w))
			}
		}
		out = next
	}
	return out
}

func pow10(n int) int {
	p := 1
	for range n {
		p *= 10
		if p > 1e9 {
			break
		}
	}
	return p
}
