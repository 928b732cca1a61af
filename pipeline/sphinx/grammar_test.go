package sphinx

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const testDict = `a AH
a(2) EY
i AY
I'D AY D
to T UW
to(2) T IH # weak form
to(3) T AH
yes Y EH S
please P L IY Z
`

func writeDict(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.dict")
	if err := os.WriteFile(path, []byte(testDict), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestBuildGrammar(t *testing.T) {
	dict := writeDict(t)
	g, err := buildGrammar([]string{"i'd to a", "yes please"}, dict, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []pronunciation{
		{"a", "AH"}, {"a(2)", "EY"}, {"i'd", "AY D"}, {"please", "P L IY Z"},
		{"to", "T UW"}, {"to(2)", "T IH"}, {"to(3)", "T AH"}, {"yes", "Y EH S"},
	}
	if !slices.Equal(g.prons, want) {
		t.Errorf("prons = %v, want %v", g.prons, want)
	}
	if !strings.Contains(g.jsgf, "public <utterance> = ( i'd to a )\n    | ( yes please );") {
		t.Errorf("jsgf:\n%s", g.jsgf)
	}
	if g.key != grammarKey([]string{"i'd to a", "yes please"}) || len(g.key) != 32 {
		t.Errorf("key %q", g.key)
	}
}

func TestBuildGrammarUnknownWords(t *testing.T) {
	dict := writeDict(t)
	_, err := buildGrammar([]string{"yes please", "zorb to glarp", "glarp"}, dict, false)
	var uw *UnknownWordsError
	if !errors.As(err, &uw) {
		t.Fatalf("err = %v, want *UnknownWordsError", err)
	}
	if !slices.Equal(uw.Words, []string{"glarp", "zorb"}) || !slices.Equal(uw.Phrases, []string{"zorb to glarp", "glarp"}) {
		t.Errorf("got words %q phrases %q", uw.Words, uw.Phrases)
	}
	if !strings.Contains(err.Error(), "glarp, zorb") {
		t.Errorf("message %q does not list the words", err)
	}
}

func TestBuildGrammarErrors(t *testing.T) {
	if _, err := buildGrammar(nil, writeDict(t), false); !errors.Is(err, ErrNoPhrases) {
		t.Errorf("no phrases: err = %v", err)
	}
	if _, err := buildGrammar([]string{"yes"}, filepath.Join(t.TempDir(), "missing.dict"), false); err == nil || !strings.Contains(err.Error(), "dictionary") {
		t.Errorf("missing dict: err = %v", err)
	}
}

func TestJSGFSequence(t *testing.T) {
	one := jsgfText([]string{"yes", "no thanks"}, false)
	seq := jsgfText([]string{"yes", "no thanks"}, true)
	if !strings.Contains(one, "public <utterance> = ( yes )\n    | ( no thanks );") {
		t.Errorf("single-phrase grammar:\n%s", one)
	}
	if !strings.Contains(seq, "public <utterance> = <phrase>+;\n<phrase> = ( yes )\n    | ( no thanks );") {
		t.Errorf("sequence grammar:\n%s", seq)
	}
}
