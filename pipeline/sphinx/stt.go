package sphinx

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/parley-voice/parley/pipeline"
)

// STT recognises the phrases of each stream's STTConfig with pooled
// PocketSphinx decoders. It is safe for concurrent use.
type STT struct {
	cfg  Config
	log  *slog.Logger
	pool *pool
}

// newSTT builds an STT around an engine factory; New supplies the PocketSphinx one.
func newSTT(cfg Config, newEngine engineFactory) (*STT, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &STT{
		cfg:  cfg,
		log:  cfg.Logger,
		pool: newPool(newEngine, cfg.PoolSize, cfg.MaxDecoders, cfg.Logger),
	}, nil
}

// NewStream opens a recognition stream listening for cfg.Phrases in 16 kHz
// audio. It fails with an error wrapping pipeline.ErrUnsupportedRate for any
// other rate, with ErrNoPhrases when there is nothing to listen for, and with
// an *UnknownWordsError when phrases use words the dictionary lacks. ctx bounds
// only the opening; the stream lives until Close.
func (s *STT) NewStream(ctx context.Context, cfg pipeline.STTConfig, sink func(pipeline.STTResult)) (pipeline.STTStream, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if cfg.SampleRate != SampleRate {
		return nil, fmt.Errorf("sphinx: %d Hz input: the offline recogniser needs 16 kHz input (16000 Hz); resample the audio to 16 kHz first: %w",
			cfg.SampleRate, pipeline.ErrUnsupportedRate)
	}
	if sink == nil {
		return nil, fmt.Errorf("sphinx: NewStream needs a result sink")
	}
	if lang, _, _ := strings.Cut(cfg.Language, "-"); lang != "" && !strings.EqualFold(lang, "en") {
		return nil, fmt.Errorf("%w (asked for %q)", ErrLanguage, cfg.Language)
	}
	g, err := s.grammarFor(cfg.Phrases, cfg.Bandwidth > 0 && cfg.Bandwidth < narrowBand)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		s.pool.unref(g)
		return nil, err
	}
	return newStream(s, g, sink), nil
}

// CheckPhrases reports whether the recogniser can listen for phrases: it
// returns ErrNoPhrases or an *UnknownWordsError like NewStream would, so that
// agent configs can be validated before a call needs them.
func (s *STT) CheckPhrases(phrases []string) error {
	g, err := s.grammarFor(phrases, false)
	if err != nil {
		return err
	}
	s.pool.unref(g)
	return nil
}

// narrowBand: audio whose bandwidth is below this many Hz is telephone band.
const narrowBand = 6000

// grammarFor returns the pooled grammar of phrases; narrow ones (telephone
// audio) have their own decoders, primed with telephone-band speech.
func (s *STT) grammarFor(phrases []string, narrow bool) (*grammar, error) {
	norm := normalizePhrases(phrases)
	if len(norm) == 0 {
		return nil, ErrNoPhrases
	}
	key := grammarKey(norm)
	if narrow {
		key += "|narrowband"
	}
	return s.pool.grammar(key, func() (*grammar, error) {
		g, err := buildGrammar(norm, s.cfg.Dict, s.cfg.Sequences)
		if g != nil {
			g.narrow = narrow
			g.key = key
		}
		return g, err
	})
}

// Close frees the idle decoders and refuses new streams. Close open streams
// first; decoders they still hold are freed when those streams end.
func (s *STT) Close() error {
	s.pool.close()
	return nil
}

var _ pipeline.STT = (*STT)(nil)
