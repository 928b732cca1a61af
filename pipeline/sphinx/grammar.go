package sphinx

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"strings"
)

// grammar is one normalised phrase set with what a decoder needs to listen for
// it: the JSGF text and the pronunciations of its words. Its pool state (idle
// decoders, counts) belongs to the pool and is guarded by the pool's mutex.
type grammar struct {
	key string
	// narrow grammars' decoders are primed with telephone-band speech, so
	// that their cepstral mean starts where a phone call's audio is.
	narrow  bool
	phrases []string
	jsgf    string
	// prons lists every pronunciation of every word, base forms before their
	// alternates ("to", "to(2)", …) as the decoder requires.
	prons []pronunciation

	// Guarded by pool.mu.
	idle []*decoder
	live int // decoders that exist or are being created for this grammar
	refs int // open streams using this grammar
}

// pronunciation is one dictionary entry: a word (with "(n)" for alternates) and
// its phones separated by spaces.
type pronunciation struct {
	word, phones string
}

// grammarKey identifies a normalised, sorted phrase set.
func grammarKey(phrases []string) string {
	sum := sha256.Sum256([]byte(strings.Join(phrases, "\n")))
	return hex.EncodeToString(sum[:16])
}

// buildGrammar looks up the words of the normalised phrases in the dictionary
// and writes the JSGF grammar. Words the dictionary lacks make it fail with an
// *UnknownWordsError listing all of them.
func buildGrammar(phrases []string, dictPath string, sequence bool) (*grammar, error) {
	if len(phrases) == 0 {
		return nil, ErrNoPhrases
	}
	var words []string
	for _, p := range phrases {
		words = append(words, strings.Fields(p)...)
	}
	slices.Sort(words)
	words = slices.Compact(words)
	found, err := lookupWords(dictPath, words)
	if err != nil {
		return nil, err
	}
	var missing []string
	var prons []pronunciation
	for _, w := range words {
		alts := found[w]
		if len(alts) == 0 {
			missing = append(missing, w)
			continue
		}
		for i, phones := range alts {
			name := w
			if i > 0 {
				name = fmt.Sprintf("%s(%d)", w, i+1)
			}
			prons = append(prons, pronunciation{word: name, phones: phones})
		}
	}
	if len(missing) > 0 {
		var uses []string
		for _, p := range phrases {
			if slices.ContainsFunc(strings.Fields(p), func(w string) bool { _, ok := slices.BinarySearch(missing, w); return ok }) {
				uses = append(uses, p)
			}
		}
		return nil, &UnknownWordsError{Words: missing, Phrases: uses, Dict: dictPath}
	}
	return &grammar{key: grammarKey(phrases), phrases: phrases, jsgf: jsgfText(phrases, sequence), prons: prons}, nil
}

// jsgfText writes a grammar accepting exactly one of the phrases per utterance,
// or, with sequence, one or more of them in a row (for transcribing speech made
// of several known sentences). Normalised words hold only letters and
// apostrophes, which JSGF accepts as tokens; silence and noise around and
// between words are handled by the decoder's filler words.
func jsgfText(phrases []string, sequence bool) string {
	var b strings.Builder
	b.WriteString("#JSGF V1.0;\ngrammar parley;\n")
	if sequence {
		b.WriteString("public <utterance> = <phrase>+;\n<phrase> = ")
	} else {
		b.WriteString("public <utterance> = ")
	}
	for i, p := range phrases {
		if i > 0 {
			b.WriteString("\n    | ")
		}
		b.WriteString("( " + p + " )")
	}
	b.WriteString(";\n")
	return b.String()
}

// lookupWords scans a CMU-format dictionary ("word PH ONES", alternates written
// "word(2) …", optional "# comment") for the given words, matching without
// regard to case, and returns their pronunciations in file order. Scanning the
// 3 MB en-us dictionary takes a few milliseconds and happens once per grammar.
func lookupWords(dictPath string, words []string) (map[string][]string, error) {
	f, err := os.Open(dictPath)
	if err != nil {
		return nil, fmt.Errorf("sphinx: reading pronunciation dictionary: %w", err)
	}
	defer f.Close()
	want := make(map[string]bool, len(words))
	for _, w := range words {
		want[w] = true
	}
	found := make(map[string][]string, len(words))
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		head, phones, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok {
			head, phones, ok = strings.Cut(strings.TrimSpace(line), "\t")
		}
		if !ok {
			continue
		}
		word := strings.ToLower(head)
		if i := strings.IndexByte(word, '('); i > 0 && strings.HasSuffix(word, ")") {
			word = word[:i]
		}
		if !want[word] {
			continue
		}
		if phones = strings.Join(strings.Fields(phones), " "); phones != "" {
			found[word] = append(found[word], phones)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("sphinx: reading pronunciation dictionary %s: %w", dictPath, err)
	}
	return found, nil
}
