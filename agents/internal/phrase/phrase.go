// Package phrase turns what callers say (and what flow authors write) into the
// plain words the flow engine matches and grammar-based recognisers listen for:
// lowercase, contractions expanded, numbers spelled out, punctuation removed.
package phrase

import (
	"strings"
	"unicode"
)

// Words returns the normalised words of s. Config phrases and transcripts go
// through the same function, so "I'd like 2 slots" and "i would like two slots"
// compare equal.
func Words(s string) []string {
	rs := []rune(strings.ToLower(apostrophes.Replace(s)))
	var out []string
	for i := 0; i < len(rs); {
		r := rs[i]
		switch {
		case isDigit(r):
			j := i + 1
			for j < len(rs) && (isDigit(rs[j]) || isNumberSep(rs[j]) && j+1 < len(rs) && isDigit(rs[j+1])) {
				j++
			}
			num := string(rs[i:j])
			k := j
			for k < len(rs) && unicode.IsLetter(rs[k]) {
				k++
			}
			if suffix := string(rs[j:k]); isOrdinalSuffix(suffix) && !strings.ContainsAny(num, ".:,") {
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
			// A word starts at a letter: drop leading apostrophes and stray
			// combining marks, and trailing apostrophes.
			w := strings.TrimRight(strings.TrimLeftFunc(string(rs[i:j]), func(r rune) bool {
				return r == '\'' || unicode.Is(unicode.Mn, r)
			}), "'")
			if exp, ok := contractions[w]; ok {
				out = append(out, strings.Fields(exp)...)
			} else if w != "" {
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
	return out
}

// Normalize returns the normalised words of s joined by single spaces.
func Normalize(s string) string { return strings.Join(Words(s), " ") }

var apostrophes = strings.NewReplacer("’", "'", "‘", "'", "ʼ", "'", "`", "'")

var symbolWords = map[rune]string{'%': "percent", '&': "and", '+': "plus", '@': "at", '=': "equals"}

// contractions are expanded so that "I'd" from a hosted recogniser matches "i
// would" written in a flow, and so that grammars hold only dictionary words.
var contractions = map[string]string{
	"i'm": "i am", "i'd": "i would", "i'll": "i will", "i've": "i have",
	"you're": "you are", "you'd": "you would", "you'll": "you will", "you've": "you have",
	"he's": "he is", "she's": "she is", "it's": "it is", "that's": "that is",
	"what's": "what is", "where's": "where is", "when's": "when is", "who's": "who is",
	"how's": "how is", "there's": "there is", "here's": "here is", "let's": "let us",
	"we're": "we are", "we'd": "we would", "we'll": "we will", "we've": "we have",
	"they're": "they are", "they'd": "they would", "they'll": "they will", "they've": "they have",
	"don't": "do not", "doesn't": "does not", "didn't": "did not", "can't": "can not",
	"cannot": "can not", "won't": "will not", "wouldn't": "would not", "shouldn't": "should not",
	"couldn't": "could not", "isn't": "is not", "aren't": "are not", "wasn't": "was not",
	"weren't": "were not", "haven't": "have not", "hasn't": "has not", "hadn't": "had not",
	"wanna": "want to", "gonna": "going to", "o'clock": "o clock",
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

// isNumberSep reports separators that stay inside a number when a digit follows:
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
// points or the colons of a time of day.
func spellNumber(num string) []string {
	if strings.Contains(num, ":") {
		parts := strings.Split(num, ":")
		out := spellInteger(strings.ReplaceAll(parts[0], ",", ""))
		for _, p := range parts[1:] {
			p = strings.ReplaceAll(p, ",", "")
			switch {
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
	num = strings.ReplaceAll(num, ",", "")
	parts := strings.Split(num, ".")
	out := spellInteger(parts[0])
	for _, p := range parts[1:] {
		out = append(out, "point")
		out = append(out, SpellDigits(p)...)
	}
	return out
}

// spellInteger says numbers below 100 as words ("42" → "forty two") and longer
// ones digit by digit ("12345" → "one two three four five"), which is how
// callers read out order, account and phone numbers.
func spellInteger(digits string) []string {
	if digits == "" {
		return nil
	}
	if len(digits) > 2 || len(digits) == 2 && digits[0] == '0' {
		return SpellDigits(digits)
	}
	n := 0
	for _, d := range digits {
		n = n*10 + int(d-'0')
	}
	return Cardinal(n)
}

// SpellDigits spells every digit of s ("907" → "nine zero seven"); other
// characters are skipped.
func SpellDigits(s string) []string {
	out := make([]string, 0, len(s))
	for _, d := range s {
		if isDigit(d) {
			out = append(out, ones[d-'0'])
		}
	}
	return out
}

var (
	ones = []string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
		"ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"}
	tens = []string{"", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"}
)

// Cardinal spells 0 ≤ n < 100 in words; other values are spelled digit by digit.
func Cardinal(n int) []string {
	switch {
	case n < 0 || n >= 100:
		return SpellDigits(itoa(n))
	case n < 20:
		return []string{ones[n]}
	case n%10 == 0:
		return []string{tens[n/10]}
	}
	return []string{tens[n/10], ones[n%10]}
}

func itoa(n int) string {
	if n < 0 {
		n = -n
	}
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

var irregularOrdinals = map[string]string{"one": "first", "two": "second", "three": "third",
	"five": "fifth", "eight": "eighth", "nine": "ninth", "twelve": "twelfth"}

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

// DigitValue reads a spoken digit group at the start of words and returns its
// digits and how many words it used: "seven" → "7", "oh" → "0", "twelve" →
// "12", "thirty four" → "34", "thirty" → "30". ok is false when words[0] is not
// a number word.
func DigitValue(words []string) (digits string, used int, ok bool) {
	if len(words) == 0 {
		return "", 0, false
	}
	w := words[0]
	if w == "oh" {
		return "0", 1, true
	}
	for i, o := range ones {
		if w == o {
			return itoa(i), 1, true
		}
	}
	for i := 2; i < len(tens); i++ {
		if w != tens[i] {
			continue
		}
		if len(words) > 1 {
			for j := 1; j <= 9; j++ {
				if words[1] == ones[j] {
					return itoa(i*10 + j), 2, true
				}
			}
		}
		return itoa(i * 10), 1, true
	}
	return "", 0, false
}

// DigitWords are the words a caller uses to say single digits.
var DigitWords = []string{"zero", "oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"}
