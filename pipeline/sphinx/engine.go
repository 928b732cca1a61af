package sphinx

import "github.com/parley-voice/parley/media/resample"

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

// prime runs audio through a new decoder as one utterance and discards the
// result. PocketSphinx's live cepstral mean normalisation only settles after an
// utterance; without it a fresh decoder often misses the first utterance it
// hears. Speech at the level and channel of the real input primes it best.
func prime(e engine, pcm []int16) error {
	if len(pcm) == 0 {
		return nil
	}
	if err := e.startUtterance(); err != nil {
		return err
	}
	for off := 0; off < len(pcm); off += 320 {
		if err := e.process(pcm[off:min(off+320, len(pcm))]); err != nil {
			return err
		}
	}
	_, _, err := e.endUtterance()
	return err
}

// telephoneBand returns 16 kHz speech as a phone line carries it: through
// 8 kHz and back, so only its band below 4 kHz is left.
func telephoneBand(pcm []int16) ([]int16, error) {
	if len(pcm) == 0 {
		return nil, nil
	}
	p8, err := resample.Convert(pcm, SampleRate, 8000)
	if err != nil {
		return nil, err
	}
	return resample.Convert(p8, 8000, SampleRate)
}
