package pipeline

import "errors"

var (
	// ErrBackpressure is returned by a stream that cannot accept more input right now.
	ErrBackpressure = errors.New("pipeline: stream is full, input dropped")
	// ErrClosed is returned by a stream used after Close.
	ErrClosed = errors.New("pipeline: stream closed")
	// ErrUnavailable is returned by a provider that this build or machine lacks.
	ErrUnavailable = errors.New("pipeline: provider unavailable")
	// ErrUnsupportedRate is returned when a provider cannot handle a sample rate.
	ErrUnsupportedRate = errors.New("pipeline: unsupported sample rate")
)
