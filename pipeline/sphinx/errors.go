package sphinx

import (
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrNoPhrases is returned by NewStream when STTConfig.Phrases holds no
	// words: the recogniser only listens for the phrases it is given.
	ErrNoPhrases = errors.New("sphinx: no phrases to listen for; the offline recogniser is grammar-constrained and needs STTConfig.Phrases")
	// ErrClosed is returned by NewStream after the STT was closed.
	ErrClosed = errors.New("sphinx: recogniser closed")
	// ErrLanguage is returned by NewStream for a language other than English:
	// the model is American English, and would hear any other language as
	// English words.
	ErrLanguage = errors.New("sphinx: the offline recogniser knows only English (its model is en-US); use another speech-to-text provider for other languages")
)

// UnknownWordsError reports phrase words that the pronunciation dictionary
// lacks. The recogniser cannot listen for a word it cannot pronounce, so the
// agent author has to rephrase or add the word to the dictionary.
type UnknownWordsError struct {
	// Words are the missing words after normalisation, sorted, without repeats.
	Words []string
	// Phrases are the normalised phrases that use them.
	Phrases []string
	// Dict is the dictionary that was searched.
	Dict string
}

func (e *UnknownWordsError) Error() string {
	return fmt.Sprintf("sphinx: %d word(s) not in the pronunciation dictionary %s: %s (in %q); rephrase them or add them to the dictionary",
		len(e.Words), e.Dict, strings.Join(e.Words, ", "), e.Phrases)
}
