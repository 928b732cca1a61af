package bm25

import (
	"strings"
	"unicode"
)

// stopwords are common English words that carry no topic: matching them would
// rank every chunk by how chatty it is. The list is short on purpose; words
// like "not" or "open" stay because questions turn on them.
var stopwords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`a about am an and any are as at be been but by can could
		did do does for from had has have how i if in into is it its me my of on or our
		so than that the their them then there these they this those to us was we were
		what when where which who why will with would you your`) {
		stopwords[w] = true
	}
}

// Tokenize lower-cases s, splits it on anything that is not a letter or a
// digit, drops stopwords and reduces simple English plurals to their singular
// ("prices" → "price", "policies" → "policy"), so that queries and documents
// meet on the same terms.
func Tokenize(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) {
		if stopwords[f] {
			continue
		}
		out = append(out, Stem(f))
	}
	return out
}

// Stem strips a plural ending from a lower-case word. It handles only the
// regular cases (-ies, -ses/-xes/-ches/-shes, -s) and leaves words such as
// "glass", "bonus" or "analysis" alone; stemming both the query and the
// documents the same way is what matters, not linguistic accuracy.
func Stem(w string) string {
	n := len(w)
	switch {
	case n > 4 && strings.HasSuffix(w, "ies"):
		return w[:n-3] + "y"
	case n > 4 && (strings.HasSuffix(w, "sses") || strings.HasSuffix(w, "xes") ||
		strings.HasSuffix(w, "ches") || strings.HasSuffix(w, "shes")):
		return w[:n-2]
	case n > 3 && strings.HasSuffix(w, "s") &&
		!strings.HasSuffix(w, "ss") && !strings.HasSuffix(w, "us") && !strings.HasSuffix(w, "is"):
		return w[:n-1]
	}
	return w
}
