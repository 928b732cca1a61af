package codec

import "slices"

// μ-law encodes the top 14 bits of a sample, so the encoder table has one entry per
// 14-bit value; the decoder table has one entry per code.
var (
	mulawDecodeTable = buildMulawDecode()
	mulawEncodeTable = buildMulawEncode()
)

// DecodeMulaw appends the PCM16 samples for the G.711 μ-law bytes in src to dst and
// returns the extended slice.
func DecodeMulaw(dst []int16, src []byte) []int16 {
	n := len(dst)
	dst = slices.Grow(dst, len(src))[:n+len(src)]
	out := dst[n:]
	for i, b := range src {
		out[i] = mulawDecodeTable[b]
	}
	return dst
}

// EncodeMulaw appends the G.711 μ-law encoding of the PCM16 samples in src to dst and
// returns the extended slice.
func EncodeMulaw(dst []byte, src []int16) []byte {
	n := len(dst)
	dst = slices.Grow(dst, len(src))[:n+len(src)]
	out := dst[n:]
	for i, s := range src {
		out[i] = mulawEncodeTable[uint16(s)>>2]
	}
	return dst
}

// MulawToPCM decodes one G.711 μ-law byte.
func MulawToPCM(b byte) int16 { return mulawDecodeTable[b] }

// PCMToMulaw encodes one PCM16 sample as G.711 μ-law.
func PCMToMulaw(s int16) byte { return mulawEncodeTable[uint16(s)>>2] }

func buildMulawDecode() *[256]int16 {
	var t [256]int16
	for i := range t {
		t[i] = ulaw2linear(byte(i))
	}
	return &t
}

func buildMulawEncode() *[1 << 14]byte {
	var t [1 << 14]byte
	for i := range t {
		// Index i is the sample's top 14 bits; shifting them back up gives a
		// sample with the same sign and magnitude class.
		t[i] = linear2ulaw(int16(uint16(i) << 2))
	}
	return &t
}

// μ-law reference constants from g711.c.
const (
	ulawBias = 0x84 // added to the magnitude so every segment starts on a power of two
	ulawClip = 8159 // largest 14-bit magnitude before biasing
)

var ulawSegEnd = [8]int16{0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF}

// linear2ulaw is the reference μ-law encoder (Sun g711.c), used to fill the table.
func linear2ulaw(pcm int16) byte {
	v := pcm >> 2
	mask := byte(0xFF)
	if v < 0 {
		v = -v
		mask = 0x7F
	}
	if v > ulawClip {
		v = ulawClip
	}
	v += ulawBias >> 2
	seg := segment(v, &ulawSegEnd)
	if seg >= 8 {
		return 0x7F ^ mask
	}
	return (byte(seg<<4) | byte(v>>(seg+1))&0xF) ^ mask
}

// ulaw2linear is the reference μ-law decoder (Sun g711.c), used to fill the table.
func ulaw2linear(u byte) int16 {
	u = ^u
	t := int16(u&0xF)<<3 + ulawBias
	t <<= (u & 0x70) >> 4
	if u&0x80 != 0 {
		return ulawBias - t
	}
	return t - ulawBias
}

// segment returns the index of the first segment end >= v, or 8.
func segment(v int16, ends *[8]int16) int {
	for i, e := range ends {
		if v <= e {
			return i
		}
	}
	return len(ends)
}
