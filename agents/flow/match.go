package flow

import (
	"math"
	"slices"
	"strings"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/agents/internal/phrase"
)

// intent is a compiled intent: its examples and keywords as words. A {{slot}}
// placeholder in an example is one word, "{{slot}}", which matches any value of
// the slot in the caller's words.
type intent struct {
	name     string
	examples [][]string
	keywords [][]string
	// slots are the slots the examples use as placeholders; a match of the
	// intent captures them.
	slots []string
}

func compileIntent(name string, in agents.FlowIntent) *intent {
	ci := &intent{name: name}
	for _, ex := range in.Examples {
		var words []string
		for _, part := range mustParse(ex) {
			if part.Ref != "" {
				words = append(words, placeholder(part.Ref))
				if !slices.Contains(ci.slots, part.Ref) {
					ci.slots = append(ci.slots, part.Ref)
				}
				continue
			}
			words = append(words, phrase.Words(part.Text)...)
		}
		ci.examples = append(ci.examples, words)
	}
	for _, k := range in.Keywords {
		ci.keywords = append(ci.keywords, phrase.Words(k))
	}
	return ci
}

func placeholder(slot string) string { return "{{" + slot + "}}" }

func placeholderName(w string) (string, bool) {
	if strings.HasPrefix(w, "{{") && strings.HasSuffix(w, "}}") {
		return w[2 : len(w)-2], true
	}
	return "", false
}

// Scoring weights. Filler and function words count a quarter of a content word,
// so "i would like to book" is about "book". A near miss of a longer word ("apointment")
// counts most of a hit.
const (
	stopWeight   = 0.25
	fuzzyCredit  = 0.8
	recallWeight = 0.6 // how much of the example the caller said …
	// … and 1-recallWeight: how much of what the caller said the example explains.
	keywordScore = 0.7 // one keyword hit; each further hit adds keywordStep
	keywordStep  = 0.1
	keywordMax   = 0.9
)

var stopWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`a an the i me my we us our you your it its this that these those
		to of for in on at by with from and or so but just please would could can will shall should may
		might do does did be am is are was were been have has had like want wanna need some any
		um uh er ah hmm well okay ok really maybe then there here about also very get`) {
		stopWords[w] = true
	}
}

func weight(w string) float64 {
	if stopWords[w] {
		return stopWeight
	}
	return 1
}

// similarity scores how well the caller's words match one example, in [0, 1].
// Each example word is matched to at most one caller word, exactly or (for words
// of five letters or more) within a small edit distance. The score blends recall
// (the share of the example said) and precision (the share of the caller's words
// the example explains), both weighted; an example whose content words were all
// missed scores 0 however many filler words match.
func similarity(said, example []string) float64 {
	if len(said) == 0 || len(example) == 0 {
		return 0
	}
	used := make([]bool, len(said))
	credit := make([]float64, len(example))
	// Exact hits first, so that a fuzzy pass never takes a word an exact
	// match needs.
	for i, e := range example {
		for j, s := range said {
			if !used[j] && s == e {
				used[j], credit[i] = true, 1
				break
			}
		}
	}
	for i, e := range example {
		if credit[i] > 0 || len(e) < 5 {
			continue
		}
		if _, ok := placeholderName(e); ok {
			continue
		}
		for j, s := range said {
			if !used[j] && closeEnough(s, e) {
				used[j], credit[i] = true, fuzzyCredit
				break
			}
		}
	}
	var matched, total, saidWeight float64
	contentTotal, contentMatched := 0.0, 0.0
	for i, e := range example {
		w := weight(e)
		total += w
		matched += w * credit[i]
		if w == 1 {
			contentTotal += 1
			contentMatched += credit[i]
		}
	}
	for _, s := range said {
		saidWeight += weight(s)
	}
	if contentTotal > 0 && contentMatched == 0 {
		return 0
	}
	recall := matched / total
	precision := min(1, matched/saidWeight)
	return recallWeight*recall + (1-recallWeight)*precision
}

// closeEnough allows one edit in words of 5 to 7 letters and two from 8 on.
func closeEnough(a, b string) bool {
	limit := 1
	if len(b) >= 8 {
		limit = 2
	}
	if d := len(a) - len(b); d > limit || -d > limit {
		return false
	}
	return editDistance(a, b) <= limit
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// keywordHits counts the keywords that occur, as whole words in order, in said.
func keywordHits(said []string, keywords [][]string) int {
	hits := 0
	for _, k := range keywords {
		for i := range said {
			if hasPrefix(said[i:], k) {
				hits++
				break
			}
		}
	}
	return hits
}

// scored is an intent's score for one utterance.
type scored struct {
	name       string
	score, sim float64
}

// score rates the intent for one utterance: the best example similarity, raised
// to the keyword score when a keyword was said. words are the caller's words;
// withSlots has each slot value found replaced by its {{slot}} placeholder.
func (in *intent) score(words, withSlots []string) scored {
	best := 0.0
	for _, ex := range in.examples {
		src := words
		if slices.ContainsFunc(ex, func(w string) bool { _, ok := placeholderName(w); return ok }) {
			src = withSlots
		}
		best = max(best, similarity(src, ex))
	}
	s := best
	if hits := keywordHits(words, in.keywords); hits > 0 {
		s = max(s, min(keywordMax, keywordScore+keywordStep*float64(hits-1)))
	}
	return scored{name: in.name, score: round3(s), sim: best}
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// utterance is one caller turn, analysed.
type utterance struct {
	words []string
	// found holds the slot values that occur in the words, by slot name.
	found map[string]match
	// withSlots is words with every found value replaced by its placeholder.
	withSlots []string
}

func (f *Flow) analyse(text string) *utterance {
	u := &utterance{words: phrase.Words(text), found: map[string]match{}}
	type span struct {
		slot string
		match
	}
	var spans []span
	for _, name := range f.slotOrder {
		if m, ok := f.slots[name].find(u.words); ok {
			u.found[name] = m
			spans = append(spans, span{name, m})
		}
	}
	// Where values overlap ("ten" as a digit inside "ten in the morning"), the
	// longer one becomes the placeholder.
	slices.SortStableFunc(spans, func(a, b span) int {
		if d := (b.end - b.start) - (a.end - a.start); d != 0 {
			return d
		}
		return a.start - b.start
	})
	taken := make([]bool, len(u.words))
	kept := spans[:0]
	for _, sp := range spans {
		if slices.Contains(taken[sp.start:sp.end], true) {
			continue
		}
		for i := sp.start; i < sp.end; i++ {
			taken[i] = true
		}
		kept = append(kept, sp)
	}
	slices.SortFunc(kept, func(a, b span) int { return a.start - b.start })
	pos := 0
	for _, sp := range kept {
		u.withSlots = append(u.withSlots, u.words[pos:sp.start]...)
		u.withSlots = append(u.withSlots, placeholder(sp.slot))
		pos = sp.end
	}
	u.withSlots = append(u.withSlots, u.words[pos:]...)
	return u
}

// bestIntent scores the candidate intents (in the order the transitions list
// them) and returns the best at or above the threshold, with every score. Ties
// go to the higher example similarity, then to the earlier candidate.
func (f *Flow) bestIntent(u *utterance, candidates []string) (scored, bool) {
	var best scored
	found := false
	for _, name := range candidates {
		sc := f.intents[name].score(u.words, u.withSlots)
		if sc.score < f.threshold {
			continue
		}
		if !found || sc.score > best.score || sc.score == best.score && sc.sim > best.sim {
			best, found = sc, true
		}
	}
	return best, found
}
