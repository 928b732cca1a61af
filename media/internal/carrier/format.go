package carrier

import (
	"fmt"

	"github.com/parley-voice/parley/media"
	"github.com/parley-voice/parley/media/codec"
	"github.com/parley-voice/parley/media/resample"
)

// CallRate is the sample rate calls run at: WriteFrame receives 20 ms frames at
// this rate and the CallHandle receives them at it too.
const CallRate = 16000

// Encoding is a carrier's sample encoding.
type Encoding int

// Encodings carriers use. The zero value is Unknown.
const (
	Unknown Encoding = iota
	Mulaw            // G.711 μ-law (PCMU)
	Alaw             // G.711 A-law (PCMA)
	L16LE            // 16-bit linear PCM, little-endian
)

// String names the encoding for logs.
func (e Encoding) String() string {
	switch e {
	case Mulaw:
		return "mulaw"
	case Alaw:
		return "alaw"
	case L16LE:
		return "l16le"
	}
	return "unknown"
}

// Format is an encoding at a sample rate, mono.
type Format struct {
	Encoding Encoding
	Rate     int
}

// String returns "encoding/rate" for logs and errors.
func (f Format) String() string { return fmt.Sprintf("%s/%d", f.Encoding, f.Rate) }

// BytesPerSample returns the size of one encoded sample.
func (f Format) BytesPerSample() int {
	if f.Encoding == L16LE {
		return 2
	}
	return 1
}

// ChunkBytes returns the size of 20 ms of audio in f.
func (f Format) ChunkBytes() int { return media.SamplesPerFrame(f.Rate) * f.BytesPerSample() }

// silence returns the encoded byte of a zero sample.
func (f Format) silence() byte {
	switch f.Encoding {
	case Mulaw:
		return 0xFF
	case Alaw:
		return 0xD5
	}
	return 0
}

// Validate reports whether f is a format this package converts.
func (f Format) Validate() error {
	if f.Encoding == Unknown {
		return fmt.Errorf("unknown audio encoding")
	}
	switch f.Rate {
	case 8000, 16000, 24000:
		return nil
	}
	return fmt.Errorf("unsupported sample rate %d Hz (want 8000, 16000 or 24000)", f.Rate)
}

func (f Format) decode(dst []int16, src []byte) []int16 {
	switch f.Encoding {
	case Mulaw:
		return codec.DecodeMulaw(dst, src)
	case Alaw:
		return codec.DecodeAlaw(dst, src)
	}
	return codec.DecodeL16LE(dst, src)
}

func (f Format) encode(dst []byte, src []int16) []byte {
	switch f.Encoding {
	case Mulaw:
		return codec.EncodeMulaw(dst, src)
	case Alaw:
		return codec.EncodeAlaw(dst, src)
	}
	return codec.EncodeL16LE(dst, src)
}

// Inbound turns a carrier's audio payloads into 20 ms frames at CallRate. It keeps
// state between payloads (resampler history, a partial frame, an odd L16 byte), so
// payloads of any size may arrive. Not safe for concurrent use.
type Inbound struct {
	f       Format
	rs      *resample.Resampler
	decoded []int16
	pending []int16
	odd     []byte
}

// NewInbound returns an Inbound for audio in f.
func NewInbound(f Format) (*Inbound, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	rs, err := resample.New(f.Rate, CallRate)
	if err != nil {
		return nil, err
	}
	return &Inbound{f: f, rs: rs}, nil
}

// Write decodes payload and calls emit with each whole frame it completes. emit
// owns the frame it is given.
func (in *Inbound) Write(payload []byte, emit func(frame []int16)) {
	if in.f.Encoding == L16LE {
		if len(in.odd) > 0 {
			payload = append(in.odd, payload...)
			in.odd = in.odd[:0]
		}
		if len(payload)%2 == 1 {
			in.odd = append(in.odd, payload[len(payload)-1])
			payload = payload[:len(payload)-1]
		}
	}
	in.decoded = in.f.decode(in.decoded[:0], payload)
	in.pending = in.rs.Process(in.pending, in.decoded)
	n := media.SamplesPerFrame(CallRate)
	i := 0
	for ; len(in.pending)-i >= n; i += n {
		frame := make([]int16, n)
		copy(frame, in.pending[i:i+n])
		emit(frame)
	}
	in.pending = append(in.pending[:0], in.pending[i:]...)
}

// Outbound turns frames at CallRate into 20 ms chunks of a carrier's format. A
// chunk is emitted once whole; Flush pads the last one with silence. Not safe for
// concurrent use.
type Outbound struct {
	f         Format
	rs        *resample.Resampler
	resampled []int16
	buf       []byte
}

// NewOutbound returns an Outbound producing audio in f.
func NewOutbound(f Format) (*Outbound, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	rs, err := resample.New(CallRate, f.Rate)
	if err != nil {
		return nil, err
	}
	return &Outbound{f: f, rs: rs, buf: make([]byte, 0, 4*f.ChunkBytes())}, nil
}

// Format returns the format chunks are produced in.
func (o *Outbound) Format() Format { return o.f }

// Write converts pcm and calls emit with every whole chunk, stopping at the
// first error. A chunk is only valid during the call to emit.
func (o *Outbound) Write(pcm []int16, emit func(chunk []byte) error) error {
	o.resampled = o.rs.Process(o.resampled[:0], pcm)
	o.buf = o.f.encode(o.buf, o.resampled)
	return o.drain(emit)
}

// Flush ends the current stretch of audio: it emits what the resampler held back
// and the last partial chunk, padded with silence. It reports whether it emitted
// anything.
func (o *Outbound) Flush(emit func(chunk []byte) error) (bool, error) {
	o.resampled = o.rs.Flush(o.resampled[:0])
	o.buf = o.f.encode(o.buf, o.resampled)
	if len(o.buf) == 0 {
		return false, nil
	}
	size := o.f.ChunkBytes()
	for len(o.buf)%size != 0 {
		o.buf = append(o.buf, o.f.silence())
	}
	return true, o.drain(emit)
}

// Reset drops buffered audio (after a clear) so none of it is sent later.
func (o *Outbound) Reset() {
	o.rs.Reset()
	o.buf = o.buf[:0]
}

func (o *Outbound) drain(emit func([]byte) error) error {
	size := o.f.ChunkBytes()
	i := 0
	var err error
	for ; len(o.buf)-i >= size; i += size {
		if err = emit(o.buf[i : i+size]); err != nil {
			i += size
			break
		}
	}
	o.buf = append(o.buf[:0], o.buf[i:]...)
	return err
}
