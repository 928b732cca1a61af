// Package codec converts between Parley's PCM16 samples and the sample encodings
// transports carry: G.711 μ-law (PCMU) and A-law (PCMA), and 16-bit linear PCM (L16)
// in either byte order.
//
// Every function appends to dst and returns it, in the style of strconv.Append*, so
// a caller that reuses a buffer with enough capacity converts without allocating.
// G.711 conversions are table lookups, bit-exact with ITU-T G.711 as implemented by
// the classic Sun Microsystems reference code (g711.c).
package codec
