// Package pcmstream turns little-endian PCM16 bytes arriving in pieces of any
// length (HTTP reads, WebSocket messages) into samples at the rate a call
// wants, for the TTS providers that stream raw PCM.
package pcmstream

import (
	"github.com/parley-voice/parley/media/codec"
	"github.com/parley-voice/parley/media/resample"
)

// Stream decodes one synthesis. A piece may end in the middle of a sample;
// the odd byte is kept for the next piece. Not safe for concurrent use.
type Stream struct {
	rs        *resample.Resampler // nil when the rates are equal
	carry     [1]byte
	haveCarry bool
	joined    []byte
	pcm, out  []int16
}

// New returns a stream from inRate to outRate.
func New(inRate, outRate int) (*Stream, error) {
	s := &Stream{}
	if inRate != outRate {
		rs, err := resample.New(inRate, outRate)
		if err != nil {
			return nil, err
		}
		s.rs = rs
	}
	return s, nil
}

// Write decodes b and passes the samples (resampled) to sink; the slice is
// reused after sink returns. A sink error is returned as it is.
func (s *Stream) Write(b []byte, sink func([]int16) error) error {
	if s.haveCarry && len(b) > 0 {
		s.joined = append(append(s.joined[:0], s.carry[0]), b...)
		b, s.haveCarry = s.joined, false
	}
	if len(b)%2 == 1 {
		s.carry[0], s.haveCarry = b[len(b)-1], true
		b = b[:len(b)-1]
	}
	s.pcm = codec.DecodeL16LE(s.pcm[:0], b)
	out := s.pcm
	if s.rs != nil {
		s.out = s.rs.Process(s.out[:0], s.pcm)
		out = s.out
	}
	if len(out) == 0 {
		return nil
	}
	return sink(out)
}

// Flush passes on what the resampler still holds, at the end of the audio.
func (s *Stream) Flush(sink func([]int16) error) error {
	if s.rs == nil {
		return nil
	}
	if out := s.rs.Flush(nil); len(out) > 0 {
		return sink(out)
	}
	return nil
}
