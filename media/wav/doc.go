// Package wav reads and writes RIFF WAVE files holding 16-bit PCM, the format
// Parley uses for test fixtures, recordings and the output of espeak-ng.
package wav
