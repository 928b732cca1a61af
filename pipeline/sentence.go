package pipeline

import (
	"strings"
	"unicode"
)

// Chunker cuts a streamed reply into sentences so each can go to TTS as soon as it
// is complete. It understands common abbreviations ("Dr.", "e.g."), decimals
// ("3.5") and trailing quotes, and never cuts inside them. Not safe for concurrent use.
type Chunker struct {
	buf strings.Builder
	// MinChars keeps very short fragments ("Hi.") joined with what follows, unless
	// it is the first sentence of the reply, which goes out at once for latency.
	MinChars int
	emitted  int
}

var abbreviations = map[string]bool{
	"mr": true, "mrs": true, "ms": true, "dr": true, "prof": true, "sr": true, "jr": true,
	"st": true, "vs": true, "etc": true, "e.g": true, "i.e": true, "a.m": true, "p.m": true,
	"no": true, "approx": true, "inc": true, "ltd": true, "co": true, "mt": true,
}

// Push adds a text fragment and returns the sentences it completed, if any.
func (c *Chunker) Push(fragment string) []string {
	c.buf.WriteString(fragment)
	s := c.buf.String()
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch != '.' && ch != '!' && ch != '?' && ch != '\n' {
			continue
		}
		end := i + 1
		// Swallow closing quotes/brackets and repeated terminators ("?!", "...").
		for end < len(s) && strings.IndexByte(".!?\"')]”’", s[end]) >= 0 {
			end++
		}
		if end >= len(s) {
			break // need to see what follows before deciding
		}
		if ch != '\n' && !unicode.IsSpace(rune(s[end])) {
			continue // "3.5", "example.com"
		}
		if ch == '.' && isAbbreviation(s[start:i]) {
			continue
		}
		sentence := strings.TrimSpace(s[start:end])
		if sentence == "" {
			start = end
			continue
		}
		if c.emitted > 0 && len(sentence) < c.MinChars {
			continue // keep short fragments with the next sentence
		}
		out = append(out, sentence)
		c.emitted++
		start = end
		i = end - 1
	}
	if start > 0 {
		rest := s[start:]
		c.buf.Reset()
		c.buf.WriteString(rest)
	}
	return out
}

// Flush returns whatever text remains as a final sentence ("" if none) and resets.
func (c *Chunker) Flush() string {
	s := strings.TrimSpace(c.buf.String())
	c.buf.Reset()
	c.emitted = 0
	return s
}

// Reset drops buffered text.
func (c *Chunker) Reset() { c.buf.Reset(); c.emitted = 0 }

func isAbbreviation(before string) bool {
	j := len(before)
	for j > 0 && !unicode.IsSpace(rune(before[j-1])) {
		j--
	}
	word := strings.ToLower(strings.TrimLeft(before[j:], "(\"'"))
	if abbreviations[word] {
		return true
	}
	// Single capital initial like "J." in "J. Smith".
	return len(word) == 1 && unicode.IsLetter(rune(before[len(before)-1])) && unicode.IsUpper(rune(before[len(before)-1]))
}
