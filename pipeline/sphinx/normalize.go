package sphinx

import (
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// NormalizePhrase turns a phrase into the words the recogniser listens for and
// returns in its transcripts: lowercase, punctuation removed (apostrophes inside
// words are kept, as in "i'd"), and numbers spelled out in US English ("10" →
// "ten", "2nd" → "second", "10:30" → "ten thirty", "3.5" → "three point
// five", "007" → "zero zero seven"). Callers matching a transcript against
// their phrases should compare with NormalizePhrase of the phrase.
func NormalizePhrase(phrase string) string {
	rs := []rune(strings.ToLower(strings.NewReplacer("’", "'", "‘", "'", "ʼ", "'").Replace(phrase)))
	var out []string
	for i := 0; i < len(rs); {
		r := rs[i]
		switch {
		case isDigit(r):
			j := i + 1
			for j < len(rs) && (isDigit(rs[j]) || (isNumberSep(rs[j]) && j+1 < len(rs) && isDigit(rs[j+1]))) {
				j++
			}
			k := j
			for k < len(rs) && unicode.IsLetter(rs[k]) {
				k++
			}
			num := string(rs[i:j])
			if suffix := string(rs[j:k]); isOrdinalSuffix(suffix) && !strings.ContainsAny(num, ".:") {
				out = append(out, ordinal(spellNumber(num))...)
				i = k
				continue
			}
			out = append(out, spellNumber(num)...)
			i = j
		case unicode.IsLetter(r) || r == '\'':
			j := i + 1
			for j < len(rs) && (unicode.IsLetter(rs[j]) || unicode.Is(unicode.Mn, rs[j]) || rs[j] == '\'') {
				j++
			}
			// A word starts with a letter (not a quote or a combining mark) and
			// does not end with a quote.
			w := strings.TrimRight(strings.TrimLeftFunc(string(rs[i:j]), func(r rune) bool { return !unicode.IsLetter(r) }), "'")
			if w != "" {
				out = append(out, w)
			}
			i = j
		default:
			if w, ok := symbolWords[r]; ok {
				out = append(out, w)
			}
			i++
		}
	}
	return strings.Join(out, " ")
}

// normalizePhrases normalises every phrase and returns the distinct non-empty
// results, sorted, so that the same phrase set always yields the same grammar.
func normalizePhrases(phrases []string) []string {
	out := make([]string, 0, len(phrases))
	for _, p := range phrases {
		if n := NormalizePhrase(p); n != "" {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

var symbolWords = map[rune]string{'%': "percent", '&': "and", '+': "plus", '@': "at", '=': "equals"}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

// isNumberSep reports separators that stay inside a number when digits follow:
// thousands commas, decimal points and the colon of a time of day.
func isNumberSep(r rune) bool { return r == ',' || r == '.' || r == ':' }

func isOrdinalSuffix(s string) bool {
	switch s {
	case "st", "nd", "rd", "th":
		return true
	}
	return false
}

// spellNumber spells a digit string that may hold thousands commas, decimal
// points and time-of-day colons.
func spellNumber(num string) []string {
	parts := strings.Split(num, ":")
	out := spellDecimal(parts[0])
	for _, p := range parts[1:] {
		switch {
		case strings.ContainsAny(p, ".,"):
			out = append(out, spellDecimal(p)...)
		case strings.Trim(p, "0") == "":
			// "10:00" is said "ten".
		case len(p) == 2 && p[0] == '0':
			out = append(out, "oh", ones[p[1]-'0'])
		default:
			out = append(out, spellInteger(p)...)
		}
	}
	return out
}

// spellDecimal spells digits with thousands commas and decimal points.
func spellDecimal(num string) []string {
	parts := strings.Split(strings.ReplaceAll(num, ",", ""), ".")
	out := spellInteger(parts[0])
	for _, p := range parts[1:] {
		out = append(out, "point")
		out = append(out, spellDigits(p)...)
	}
	return out
}

// spellInteger spells a string of digits as a cardinal number, or digit by
// digit when it has a leading zero or is too long to be said as a number.
func spellInteger(digits string) []string {
	if digits == "" {
		return nil
	}
	if len(digits) > 1 && digits[0] == '0' || len(digits) > 15 {
		return spellDigits(digits)
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		return spellDigits(digits)
	}
	return cardinal(n)
}

func spellDigits(digits string) []string {
	out := make([]string, 0, len(digits))
	for _, d := range digits {
		if isDigit(d) {
			out = append(out, ones[d-'0'])
		}
	}
	return out
}

var (
	ones = []string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
		"ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"}
	tens   = []string{"", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"}
	scales = []struct {
		value uint64
		name  string
	}{{1e12, "trillion"}, {1e9, "billion"}, {1e6, "million"}, {1e3, "thousand"}, {100, "hundred"}}
)

// cardinal spells n in US English without "and": 1205 → one thousand two hundred five.
func cardinal(n uint64) []string {
	if n < 20 {
		return []string{ones[n]}
	}
	if n < 100 {
		if n%10 == 0 {
			return []string{tens[n/10]}
		}
		return []string{tens[n/10], ones[n%10]}
	}
	for _, s := range scales {
		if n >= s.value {
			out := append(cardinal(n/s.value), s.name)
			if rest := n % s.value; rest > 0 {
				out = append(out, cardinal(rest)...)
			}
			return out
		}
	}
	return nil // unreachable: n >= 100 matches a scale
}

var irregularOrdinals = map[string]string{"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth", "nine": "ninth", "twelve": "twelfth"}

// ordinal turns the last word of a spelled cardinal into its ordinal form.
func ordinal(words []string) []string {
	if len(words) == 0 {
		return words
	}
	last := words[len(words)-1]
	switch {
	case irregularOrdinals[last] != "":
		last = irregularOrdinals[last]
	case strings.HasSuffix(last, "y"):
		last = strings.TrimSuffix(last, "y") + "ieth"
	default:
		last += "th"
	}
	return append(words[:len(words)-1], last)
}
