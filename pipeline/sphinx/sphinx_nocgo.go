//go:build !cgo

package sphinx

import (
	"fmt"

	"github.com/parley-voice/parley/pipeline"
)

var errNoCgo = fmt.Errorf("sphinx: this parley binary was built without cgo; the offline PocketSphinx recogniser needs a cgo build: %w", pipeline.ErrUnavailable)

// New fails in a binary built without cgo: PocketSphinx is a C library.
func New(cfg Config) (*STT, error) { return nil, errNoCgo }

// Available reports that this build cannot run the recogniser.
func Available() error { return errNoCgo }
