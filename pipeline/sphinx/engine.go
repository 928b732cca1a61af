package sphinx

// engine is one PocketSphinx decoder loaded with one grammar. It is used by one
// goroutine at a time: whoever borrowed it from the pool.
type engine interface {
	// startUtterance begins a new utterance.
	startUtterance() error
	// process feeds 16 kHz PCM16 audio of the current utterance.
	process(pcm []int16) error
	// partial returns the current best hypothesis, "" if there is none yet.
	partial() string
	// endUtterance ends the utterance and returns its best hypothesis ("" when
	// no phrase of the grammar matched) and a confidence in [0, 1].
	endUtterance() (text string, confidence float64, err error)
	// free releases the decoder's memory. The engine is not used afterwards.
	free()
}

// engineFactory creates an engine for a grammar.
type engineFactory func(g *grammar) (engine, error)
