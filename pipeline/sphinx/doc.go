// Package sphinx is Parley's offline speech-to-text provider: grammar-constrained
// recognition with PocketSphinx (the 5prealpha C library, through cgo).
//
// Each stream listens only for the phrases in its STTConfig. The phrases are
// normalised (see NormalizePhrase), turned into a JSGF grammar, and recognised
// with the en-us acoustic model at 16 kHz. Decoders are expensive, so they are
// pooled per grammar: a stream borrows one for an utterance (from its first
// Write to its Finalize) and returns it afterwards, and audio written while no
// decoder is free is buffered up to Config.MaxBuffered.
//
// Each decoder is loaded with a dictionary holding only its grammar's words,
// which makes it about 6 MB and 20 ms to create instead of about 28 MB and
// 170 ms with the full 135,000-word dictionary.
//
// Phrases whose words the dictionary lacks are an error, not a warning: NewStream
// and CheckPhrases return an *UnknownWordsError listing every missing word, so
// the agent author can rephrase or extend the dictionary. Dropping the words
// would silently make the agent listen for something other than what its
// config says.
//
// Final results carry the recognised phrase in normalised form ("" when the
// audio matched no phrase) and a confidence derived from the acoustic score;
// partial results carry no confidence. The lattice posterior (ps_get_prob) of
// this PocketSphinx version is always 1 for a grammar search, so it is not used.
//
// A binary built with CGO_ENABLED=0 still compiles this package; New and
// Available then return an error wrapping pipeline.ErrUnavailable.
package sphinx
