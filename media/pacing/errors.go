package pacing

import "errors"

// ErrInvalidConfig is wrapped by the errors NewPlayer returns for a bad Config.
var ErrInvalidConfig = errors.New("pacing: invalid config")
