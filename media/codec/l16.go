package codec

import (
	"encoding/binary"
	"slices"
)

// DecodeL16LE appends the samples of little-endian 16-bit linear PCM in src to dst
// and returns the extended slice. A trailing odd byte is ignored.
func DecodeL16LE(dst []int16, src []byte) []int16 {
	n, m := len(dst), len(src)/2
	dst = slices.Grow(dst, m)[:n+m]
	out := dst[n:]
	for i := range out {
		out[i] = int16(binary.LittleEndian.Uint16(src[2*i:]))
	}
	return dst
}

// EncodeL16LE appends the samples in src to dst as little-endian 16-bit linear PCM
// (the WAV and WebSocket byte order) and returns the extended slice.
func EncodeL16LE(dst []byte, src []int16) []byte {
	n := len(dst)
	dst = slices.Grow(dst, 2*len(src))[:n+2*len(src)]
	out := dst[n:]
	for i, s := range src {
		binary.LittleEndian.PutUint16(out[2*i:], uint16(s))
	}
	return dst
}

// DecodeL16BE appends the samples of big-endian (network order, RFC 3551 L16)
// 16-bit linear PCM in src to dst and returns the extended slice. A trailing odd
// byte is ignored.
func DecodeL16BE(dst []int16, src []byte) []int16 {
	n, m := len(dst), len(src)/2
	dst = slices.Grow(dst, m)[:n+m]
	out := dst[n:]
	for i := range out {
		out[i] = int16(binary.BigEndian.Uint16(src[2*i:]))
	}
	return dst
}

// EncodeL16BE appends the samples in src to dst as big-endian (network order, RFC
// 3551 L16) 16-bit linear PCM and returns the extended slice.
func EncodeL16BE(dst []byte, src []int16) []byte {
	n := len(dst)
	dst = slices.Grow(dst, 2*len(src))[:n+2*len(src)]
	out := dst[n:]
	for i, s := range src {
		binary.BigEndian.PutUint16(out[2*i:], uint16(s))
	}
	return dst
}
