package providertest

import (
	"math"
	"time"
	"unicode/utf8"
)

// DefaultMsPerChar is how much audio the speech fakes return per character of
// text: 60 ms, about the pace of natural speech.
const DefaultMsPerChar = 60

// Tone returns d of a 220 Hz tone at rate, shaped by a 4 Hz syllable envelope
// so that it is clearly audible (about -18 dBFS RMS) but not a steady beep.
func Tone(rate int, d time.Duration) []int16 {
	n := int(int64(d) * int64(rate) / int64(time.Second))
	pcm := make([]int16, n)
	for i := range pcm {
		t := float64(i) / float64(rate)
		env := 0.55 + 0.45*math.Sin(2*math.Pi*4*t)
		pcm[i] = int16(9000 * env * math.Sin(2*math.Pi*220*t))
	}
	return pcm
}

// speechLength is the length of the audio a speech fake returns for text.
func speechLength(text string, msPerChar float64, speed float64) time.Duration {
	if msPerChar <= 0 {
		msPerChar = DefaultMsPerChar
	}
	if speed <= 0 {
		speed = 1
	}
	return time.Duration(float64(utf8.RuneCountInString(text)) * msPerChar / speed * float64(time.Millisecond))
}

// levelDBFS is the RMS level of pcm in dB relative to full scale (-inf for
// digital silence).
func levelDBFS(pcm []int16) float64 {
	if len(pcm) == 0 {
		return math.Inf(-1)
	}
	var sum float64
	for _, s := range pcm {
		v := float64(s)
		sum += v * v
	}
	if sum == 0 {
		return math.Inf(-1)
	}
	return 20 * math.Log10(math.Sqrt(sum/float64(len(pcm)))/32768)
}

// le16 encodes pcm as little-endian 16-bit samples (linear16, s16le).
func le16(pcm []int16) []byte {
	b := make([]byte, 2*len(pcm))
	for i, v := range pcm {
		b[2*i] = byte(v)
		b[2*i+1] = byte(uint16(v) >> 8)
	}
	return b
}
