//go:build !cgo

package espeak

import (
	"fmt"

	"github.com/parley-voice/parley/pipeline"
)

var errNoCgo = fmt.Errorf("espeak: this parley binary was built without cgo; the offline espeak-ng synthesiser needs a cgo build: %w", pipeline.ErrUnavailable)

// New fails in a binary built without cgo: libespeak-ng is a C library.
func New(cfg Config) (*TTS, error) { return nil, errNoCgo }

// Available reports that this build cannot synthesise speech.
func Available() error { return errNoCgo }

func synthesize(*job) error { return errNoCgo }
