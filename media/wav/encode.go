package wav

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/parley-voice/parley/media/codec"
)

// headerSize is the size of the canonical RIFF/fmt/data header Encode writes.
const headerSize = 44

// Encode writes pcm as a mono 16-bit PCM WAV file at rate Hz to w.
func Encode(w io.Writer, pcm []int16, rate int) error {
	if rate <= 0 || rate > MaxSampleRate {
		return fmt.Errorf("encoding WAV: sample rate %d Hz: %w", rate, ErrUnsupportedFormat)
	}
	dataSize := uint64(len(pcm)) * 2
	if dataSize > math.MaxUint32-(headerSize-8) {
		return fmt.Errorf("encoding WAV of %d samples: %w", len(pcm), ErrTooLarge)
	}
	var h [headerSize]byte
	le := binary.LittleEndian
	copy(h[0:], "RIFF")
	le.PutUint32(h[4:], uint32(dataSize)+headerSize-8)
	copy(h[8:], "WAVEfmt ")
	le.PutUint32(h[16:], 16)
	le.PutUint16(h[20:], formatPCM)
	le.PutUint16(h[22:], 1) // channels
	le.PutUint32(h[24:], uint32(rate))
	le.PutUint32(h[28:], uint32(rate)*2) // byte rate
	le.PutUint16(h[32:], 2)              // block align
	le.PutUint16(h[34:], 16)             // bits per sample
	copy(h[36:], "data")
	le.PutUint32(h[40:], uint32(dataSize))
	if _, err := w.Write(h[:]); err != nil {
		return fmt.Errorf("encoding WAV: writing header: %w", err)
	}
	buf := make([]byte, 0, 16*1024)
	for len(pcm) > 0 {
		n := min(len(pcm), cap(buf)/2)
		buf = codec.EncodeL16LE(buf[:0], pcm[:n])
		if _, err := w.Write(buf); err != nil {
			return fmt.Errorf("encoding WAV: writing samples: %w", err)
		}
		pcm = pcm[n:]
	}
	return nil
}

// WriteFile writes pcm as a mono 16-bit PCM WAV file at rate Hz to path,
// replacing any existing file.
func WriteFile(path string, pcm []int16, rate int) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("writing WAV file: %w", err)
	}
	bw := bufio.NewWriter(f)
	err = Encode(bw, pcm, rate)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing WAV file %s: %w", path, err)
	}
	return nil
}
