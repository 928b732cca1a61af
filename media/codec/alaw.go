package codec

import "slices"

// A-law encodes the top 13 bits of a sample, so the encoder table has one entry per
// 13-bit value; the decoder table has one entry per code.
var (
	alawDecodeTable = buildAlawDecode()
	alawEncodeTable = buildAlawEncode()
)

// DecodeAlaw appends the PCM16 samples for the G.711 A-law bytes in src to dst and
// returns the extended slice.
func DecodeAlaw(dst []int16, src []byte) []int16 {
	n := len(dst)
	dst = slices.Grow(dst, len(src))[:n+len(src)]
	out := dst[n:]
	for i, b := range src {
		out[i] = alawDecodeTable[b]
	}
	return dst
}

// EncodeAlaw appends the G.711 A-law encoding of the PCM16 samples in src to dst and
// returns the extended slice.
func EncodeAlaw(dst []byte, src []int16) []byte {
	n := len(dst)
	dst = slices.Grow(dst, len(src))[:n+len(src)]
	out := dst[n:]
	for i, s := range src {
		out[i] = alawEncodeTable[uint16(s)>>3]
	}
	return dst
}

// AlawToPCM decodes one G.711 A-law byte.
func AlawToPCM(b byte) int16 { return alawDecodeTable[b] }

// PCMToAlaw encodes one PCM16 sample as G.711 A-law.
func PCMToAlaw(s int16) byte { return alawEncodeTable[uint16(s)>>3] }

func buildAlawDecode() *[256]int16 {
	var t [256]int16
	for i := range t {
		t[i] = alaw2linear(byte(i))
	}
	return &t
}

func buildAlawEncode() *[1 << 13]byte {
	var t [1 << 13]byte
	for i := range t {
		t[i] = linear2alaw(int16(uint16(i) << 3))
	}
	return &t
}

var alawSegEnd = [8]int16{0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF}

// linear2alaw is the reference A-law encoder (Sun g711.c), used to fill the table.
// The 0x55 in the masks is G.711's inversion of the even bits.
func linear2alaw(pcm int16) byte {
	v := pcm >> 3
	mask := byte(0xD5) // sign bit set for non-negative samples
	if v < 0 {
		mask = 0x55
		v = -v - 1
	}
	seg := segment(v, &alawSegEnd)
	if seg >= 8 {
		return 0x7F ^ mask
	}
	a := byte(seg << 4)
	if seg < 2 {
		a |= byte(v>>1) & 0xF
	} else {
		a |= byte(v>>seg) & 0xF
	}
	return a ^ mask
}

// alaw2linear is the reference A-law decoder (Sun g711.c), used to fill the table.
func alaw2linear(a byte) int16 {
	a ^= 0x55
	t := int16(a&0xF) << 4
	switch seg := (a & 0x70) >> 4; seg {
	case 0:
		t += 8
	case 1:
		t += 0x108
	default:
		t += 0x108
		t <<= seg - 1
	}
	if a&0x80 != 0 {
		return t
	}
	return -t
}
