package flow_test

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// cmuDict is where Debian's pocketsphinx-en-us puts the pronunciation
// dictionary that grammar words must come from.
const cmuDict = "/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict"

// The shipped flows run on PocketSphinx, which can only listen for words its
// dictionary knows.
func TestShippedPhrasesAreDictionaryWords(t *testing.T) {
	f, err := os.Open(cmuDict)
	if err != nil {
		t.Skipf("no pronunciation dictionary: %v", err)
	}
	defer f.Close()
	dict := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		word, _, _ := strings.Cut(sc.Text(), " ")
		word, _, _ = strings.Cut(strings.ToLower(word), "(")
		dict[word] = true
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"demo.yaml", "support-flow.yaml"} {
		for _, p := range loadFlow(t, name).Phrases() {
			for _, w := range strings.Fields(p) {
				if !dict[w] {
					t.Errorf("%s: %q in phrase %q is not in %s", name, w, p, cmuDict)
				}
			}
		}
	}
}
