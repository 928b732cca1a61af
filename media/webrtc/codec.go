package webrtc

import (
	"fmt"
	"strings"

	pion "github.com/pion/webrtc/v4"

	"github.com/parley-voice/parley/media/codec"
	"github.com/parley-voice/parley/media/resample"
)

// wireRate is the RTP clock of PCMU.
const wireRate = 8000

// audioEncoder turns one 20 ms frame of the call's PCM (16 kHz) into one RTP
// payload. It is used by one goroutine (the call's player).
type audioEncoder interface {
	encode(dst []byte, pcm []int16) ([]byte, error)
}

// audioDecoder turns the caller's RTP payloads into PCM at 16 kHz. It is used
// by one goroutine (the track's reader).
type audioDecoder interface {
	// decode appends the PCM of one payload to dst.
	decode(dst []int16, payload []byte) ([]int16, error)
	// conceal appends what stands in for lost packets that came just before
	// next, the payload that arrived after the gap.
	conceal(dst []int16, lost int, next []byte) []int16
}

// wireCodec is an audio codec this transport speaks.
type wireCodec struct {
	params pion.RTPCodecParameters
	// newEncoder and newDecoder make one call's codec state.
	newEncoder func() (audioEncoder, error)
	newDecoder func() (audioDecoder, error)
}

// name is the codec as SDP writes it in a=rtpmap, e.g. "opus/48000".
func (w *wireCodec) name() string {
	return fmt.Sprintf("%s/%d", strings.TrimPrefix(w.params.MimeType, "audio/"), w.params.ClockRate)
}

// offeredIn reports whether an audio section with these formats (payload
// types) and rtpmap values ("111 opus/48000/2") offers the codec.
func (w *wireCodec) offeredIn(formats, rtpmaps []string) bool {
	for _, f := range formats {
		if w.params.PayloadType < 96 && f == fmt.Sprint(w.params.PayloadType) {
			return true // a static payload type needs no rtpmap
		}
	}
	want := strings.ToLower(w.name())
	for _, v := range rtpmaps {
		_, enc, ok := strings.Cut(strings.TrimSpace(v), " ")
		if !ok {
			continue
		}
		enc = strings.ToLower(enc)
		if enc == want || strings.HasPrefix(enc, want+"/") {
			return true
		}
	}
	return false
}

var (
	// opusWire is Opus as WebRTC negotiates it: always 48000/2 in the SDP
	// (RFC 7587), whatever the audio's real rate and channel count.
	opusWire = &wireCodec{
		params: pion.RTPCodecParameters{
			RTPCodecCapability: pion.RTPCodecCapability{MimeType: pion.MimeTypeOpus, ClockRate: 48000, Channels: 2,
				SDPFmtpLine: "minptime=10;useinbandfec=1"},
			PayloadType: 111,
		},
		newEncoder: newOpusEncoder,
		newDecoder: newOpusDecoder,
	}
	pcmuWire = &wireCodec{
		params: pion.RTPCodecParameters{
			RTPCodecCapability: pion.RTPCodecCapability{MimeType: pion.MimeTypePCMU, ClockRate: wireRate},
			PayloadType:        0,
		},
		newEncoder: func() (audioEncoder, error) { return newPCMUEncoder(), nil },
		newDecoder: func() (audioDecoder, error) { return newPCMUDecoder(), nil },
	}
)

// wireCodecs lists the codecs this build speaks, most preferred first: Opus
// when the binary has libopus, then PCMU, which every browser has.
func wireCodecs() []*wireCodec {
	if OpusAvailable() == nil {
		return []*wireCodec{opusWire, pcmuWire}
	}
	return []*wireCodec{pcmuWire}
}

// codecFor finds the wire codec of a negotiated track, or nil.
func codecFor(mimeType string) *wireCodec {
	for _, w := range wireCodecs() {
		if strings.EqualFold(w.params.MimeType, mimeType) {
			return w
		}
	}
	return nil
}

// pcmuEncoder resamples 16 kHz to 8 kHz and encodes μ-law.
type pcmuEncoder struct {
	down    *resample.Resampler
	pcm8k   []int16
	started bool
}

func newPCMUEncoder() *pcmuEncoder {
	down, _ := resample.New(SampleRate, wireRate) // fixed, valid rates
	return &pcmuEncoder{down: down}
}

func (e *pcmuEncoder) encode(dst []byte, pcm []int16) ([]byte, error) {
	e.pcm8k = e.down.Process(e.pcm8k[:0], pcm)
	if want := len(pcm) * wireRate / SampleRate; len(e.pcm8k) < want && !e.started {
		// The filter holds back its first few samples: start with that much
		// silence, so every packet carries a full frame.
		e.pcm8k = append(make([]int16, want-len(e.pcm8k), want), e.pcm8k...)
	}
	e.started = true
	return codec.EncodeMulaw(dst, e.pcm8k), nil
}

// pcmuDecoder decodes μ-law and resamples 8 kHz to 16 kHz. Lost packets
// become silence.
type pcmuDecoder struct {
	up   *resample.Resampler
	pcm8 []int16
}

func newPCMUDecoder() *pcmuDecoder {
	up, _ := resample.New(wireRate, SampleRate) // fixed, valid rates
	return &pcmuDecoder{up: up}
}

func (d *pcmuDecoder) decode(dst []int16, payload []byte) ([]int16, error) {
	d.pcm8 = codec.DecodeMulaw(d.pcm8[:0], payload)
	return d.up.Process(dst, d.pcm8), nil
}

func (d *pcmuDecoder) conceal(dst []int16, lost int, next []byte) []int16 {
	return d.up.Process(dst, make([]int16, lost*len(next)))
}
