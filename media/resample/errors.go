package resample

import "errors"

// ErrInvalidRate is returned when a sample rate is outside [MinRate, MaxRate].
var ErrInvalidRate = errors.New("resample: invalid sample rate")

// MinRate and MaxRate bound the sample rates a Resampler accepts, in Hz.
const (
	MinRate = 1000
	MaxRate = 384000
)
