package sphinx

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// Default locations of the Debian pocketsphinx-en-us model.
const (
	DefaultModelDir = "/usr/share/pocketsphinx/model/en-us/en-us"
	DefaultDict     = "/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict"
)

// SampleRate is the only input rate the en-us acoustic model understands.
const SampleRate = 16000

// Config configures the recogniser. The zero value uses the defaults.
type Config struct {
	// ModelDir is the acoustic model directory (holding mdef, means, …).
	ModelDir string
	// Dict is the pronunciation dictionary in CMU format.
	Dict string
	// PoolSize bounds the decoders kept for one grammar, and so the utterances
	// of one phrase set recognised at once. Default 4.
	PoolSize int
	// MaxDecoders bounds the decoders alive across all grammars. Idle decoders
	// of other grammars are freed to make room. Default 16, or PoolSize if larger.
	MaxDecoders int
	// MaxBuffered bounds the audio a stream queues while it waits for a decoder
	// or falls behind; beyond it Write returns pipeline.ErrBackpressure.
	// Default 30 s.
	MaxBuffered time.Duration
	// Logger receives warnings and debug messages; nil means slog.Default().
	Logger *slog.Logger
	// Sequences makes the grammar accept one or more phrases in a row per
	// utterance instead of exactly one (for transcribing multi-sentence speech,
	// such as an agent's reply, against its known sentences).
	Sequences bool
	// Prime is 16 kHz speech run through every new decoder before its first
	// use, so the first real utterance is recognised as well as later ones.
	Prime []int16
}

// Defaults for Config fields left zero.
const (
	DefaultPoolSize    = 4
	DefaultMaxDecoders = 16
	DefaultMaxBuffered = 30 * time.Second
)

func (c Config) withDefaults() Config {
	if c.ModelDir == "" {
		c.ModelDir = DefaultModelDir
	}
	if c.Dict == "" {
		c.Dict = DefaultDict
	}
	if c.PoolSize == 0 {
		c.PoolSize = DefaultPoolSize
	}
	if c.MaxDecoders == 0 {
		c.MaxDecoders = max(DefaultMaxDecoders, c.PoolSize)
	}
	if c.MaxBuffered == 0 {
		c.MaxBuffered = DefaultMaxBuffered
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

func (c Config) validate() error {
	if c.PoolSize < 0 {
		return fmt.Errorf("sphinx: PoolSize %d is negative", c.PoolSize)
	}
	if c.MaxDecoders < 0 {
		return fmt.Errorf("sphinx: MaxDecoders %d is negative", c.MaxDecoders)
	}
	if c.MaxDecoders < c.PoolSize {
		return fmt.Errorf("sphinx: MaxDecoders %d is smaller than PoolSize %d", c.MaxDecoders, c.PoolSize)
	}
	if c.MaxBuffered < 0 {
		return fmt.Errorf("sphinx: MaxBuffered %v is negative", c.MaxBuffered)
	}
	return nil
}

// modelFiles are the acoustic model files PocketSphinx needs. They are checked
// before the library sees the directory because some of its loaders exit the
// process on a missing file instead of returning an error.
var modelFiles = []string{"mdef", "feat.params", "means", "variances", "transition_matrices", "noisedict"}

// checkFiles reports, with a message naming the path, a model directory or
// dictionary that is missing or unreadable.
func (c Config) checkFiles() error {
	st, err := os.Stat(c.ModelDir)
	if err != nil {
		return fmt.Errorf("sphinx: acoustic model directory: %w (install the pocketsphinx-en-us package or set ModelDir)", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("sphinx: acoustic model %s is not a directory", c.ModelDir)
	}
	for _, name := range modelFiles {
		if err := readable(filepath.Join(c.ModelDir, name)); err != nil {
			return fmt.Errorf("sphinx: acoustic model %s is incomplete: %w", c.ModelDir, err)
		}
	}
	if readable(filepath.Join(c.ModelDir, "sendump")) != nil && readable(filepath.Join(c.ModelDir, "mixture_weights")) != nil {
		return fmt.Errorf("sphinx: acoustic model %s has neither sendump nor mixture_weights", c.ModelDir)
	}
	if err := readable(c.Dict); err != nil {
		return fmt.Errorf("sphinx: pronunciation dictionary: %w (install the pocketsphinx-en-us package or set Dict)", err)
	}
	return nil
}

func readable(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	return f.Close()
}
