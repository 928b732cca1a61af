//go:build cgo

package webrtc

import (
	"fmt"

	"gopkg.in/hraban/opus.v2"

	"github.com/parley-voice/parley/media"
)

// maxOpusSamples is the longest Opus packet (120 ms) at the call's rate.
const maxOpusSamples = 120 * SampleRate / 1000

// OpusAvailable reports whether this build speaks Opus: nil when it was built
// with cgo and libopus.
func OpusAvailable() error { return nil }

// opusEncoder encodes the call's 16 kHz mono PCM directly (libopus takes 8,
// 12, 16, 24 and 48 kHz input), so no resampling is needed. In-band FEC lets
// the browser rebuild a lost packet from the next one.
type opusEncoder struct {
	enc *opus.Encoder
	buf []byte
}

func newOpusEncoder() (audioEncoder, error) {
	enc, err := opus.NewEncoder(SampleRate, 1, opus.AppVoIP)
	if err != nil {
		return nil, fmt.Errorf("creating Opus encoder: %w", err)
	}
	if err := enc.SetInBandFEC(true); err != nil {
		return nil, fmt.Errorf("enabling Opus FEC: %w", err)
	}
	if err := enc.SetPacketLossPerc(5); err != nil {
		return nil, fmt.Errorf("setting Opus expected loss: %w", err)
	}
	return &opusEncoder{enc: enc, buf: make([]byte, 1500)}, nil
}

func (e *opusEncoder) encode(dst []byte, pcm []int16) ([]byte, error) {
	n, err := e.enc.Encode(pcm, e.buf)
	if err != nil {
		return dst, fmt.Errorf("encoding Opus: %w", err)
	}
	return append(dst, e.buf[:n]...), nil
}

// opusDecoder decodes to 16 kHz mono whatever the sender encoded (libopus
// downmixes stereo and resamples). Lost packets are concealed by libopus: the
// last one from the next packet's in-band FEC when it has some, the others by
// packet loss concealment.
type opusDecoder struct {
	dec  *opus.Decoder
	buf  []int16
	last int // samples in the last decoded packet
}

func newOpusDecoder() (audioDecoder, error) {
	dec, err := opus.NewDecoder(SampleRate, 1)
	if err != nil {
		return nil, fmt.Errorf("creating Opus decoder: %w", err)
	}
	return &opusDecoder{dec: dec, buf: make([]int16, maxOpusSamples), last: media.SamplesPerFrame(SampleRate)}, nil
}

func (d *opusDecoder) decode(dst []int16, payload []byte) ([]int16, error) {
	n, err := d.dec.Decode(payload, d.buf)
	if err != nil {
		return dst, fmt.Errorf("decoding Opus: %w", err)
	}
	d.last = n
	return append(dst, d.buf[:n]...), nil
}

func (d *opusDecoder) conceal(dst []int16, lost int, next []byte) []int16 {
	// The binding takes the buffer's capacity as the duration to conceal.
	pcm := d.buf[:d.last:d.last]
	for i := range lost {
		var err error
		if i == lost-1 && len(next) > 0 {
			err = d.dec.DecodeFEC(next, pcm)
		} else {
			err = d.dec.DecodePLC(pcm)
		}
		if err != nil {
			clear(pcm)
		}
		dst = append(dst, pcm...)
	}
	return dst
}
