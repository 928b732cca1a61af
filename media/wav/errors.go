package wav

import "errors"

// Sentinel errors wrapped by Decode; test them with errors.Is.
var (
	// ErrNotWAV means the input does not start with a RIFF/WAVE header.
	ErrNotWAV = errors.New("wav: not a RIFF WAVE file")
	// ErrUnsupportedFormat means the audio is not 16-bit integer PCM (for example
	// 8-bit, 24-bit, float, μ-law or compressed).
	ErrUnsupportedFormat = errors.New("wav: unsupported audio format, want 16-bit PCM")
	// ErrMalformed means the chunks are inconsistent: a missing or short fmt chunk,
	// no data chunk, or data before fmt.
	ErrMalformed = errors.New("wav: malformed file")
	// ErrTruncated means the file ends before the size its headers declare.
	ErrTruncated = errors.New("wav: truncated file")
	// ErrTooLarge means the audio does not fit in a WAV file (4 GiB).
	ErrTooLarge = errors.New("wav: audio too large for a WAV file")
)
