package wav

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// WAVE format tags this package understands.
const (
	formatPCM        = 0x0001
	formatExtensible = 0xFFFE
)

// MaxSampleRate is the highest sample rate Decode and Encode accept, in Hz.
const MaxSampleRate = 1_000_000

// streamingSize is the smallest declared data size treated as "unknown": writers
// that cannot seek back (espeak-ng and SoX write 0x7FFFF000, ffmpeg 0xFFFFFFFF)
// put a placeholder there, so such data runs to the end of the input.
const streamingSize = 0x7FFF0000

// Format describes the audio in a WAV file.
type Format struct {
	// SampleRate in Hz.
	SampleRate int
	// Channels in the file; Decode mixes them down to mono.
	Channels int
}

// Decode reads a WAV file of 16-bit PCM and returns its samples as mono at the
// file's sample rate. Multi-channel audio is mixed down by averaging the channels.
// Chunks other than fmt and data are skipped, and so is anything after the data
// chunk. A data chunk shorter than declared is ErrTruncated, except when the
// declared size is a streaming placeholder (0x7FFF0000 or more, as espeak-ng
// writes to a pipe): then the data runs to the end of the input.
func Decode(r io.Reader) (pcm []int16, rate int, err error) {
	pcm, f, err := DecodeFormat(r)
	return pcm, f.SampleRate, err
}

// ReadFile decodes the WAV file at path; see Decode.
func ReadFile(path string) (pcm []int16, rate int, err error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("reading WAV file: %w", err)
	}
	defer file.Close()
	pcm, rate, err = Decode(file)
	if err != nil {
		return nil, 0, fmt.Errorf("reading WAV file %s: %w", path, err)
	}
	return pcm, rate, nil
}

// DecodeFormat is Decode that also reports the file's original format.
func DecodeFormat(r io.Reader) ([]int16, Format, error) {
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, Format{}, fmt.Errorf("decoding WAV: reading RIFF header: %w", noEOF(err, ErrNotWAV))
	}
	if string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return nil, Format{}, fmt.Errorf("decoding WAV: header %q...%q: %w", hdr[0:4], hdr[8:12], ErrNotWAV)
	}
	var (
		f       Format
		haveFmt bool
	)
	for {
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return nil, f, fmt.Errorf("decoding WAV: no data chunk: %w", ErrMalformed)
			}
			return nil, f, fmt.Errorf("decoding WAV: reading chunk header: %w", noEOF(err, ErrTruncated))
		}
		id, size := string(ch[0:4]), binary.LittleEndian.Uint32(ch[4:8])
		switch id {
		case "fmt ":
			var err error
			if f, err = readFmt(r, size); err != nil {
				return nil, f, fmt.Errorf("decoding WAV: %w", err)
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return nil, f, fmt.Errorf("decoding WAV: data chunk before fmt chunk: %w", ErrMalformed)
			}
			pcm, err := readData(r, size, f.Channels)
			if err != nil {
				return nil, f, fmt.Errorf("decoding WAV data (%d channels at %d Hz): %w", f.Channels, f.SampleRate, err)
			}
			return pcm, f, nil
		default:
			// Chunks are padded to an even length.
			skip := int64(size) + int64(size&1)
			if n, err := io.CopyN(io.Discard, r, skip); err != nil {
				return nil, f, fmt.Errorf("decoding WAV: skipping %q chunk (%d of %d bytes): %w", id, n, skip, noEOF(err, ErrTruncated))
			}
		}
	}
}

// readFmt parses a fmt chunk body of size bytes.
func readFmt(r io.Reader, size uint32) (Format, error) {
	if size < 16 || size > 1024 {
		return Format{}, fmt.Errorf("fmt chunk of %d bytes: %w", size, ErrMalformed)
	}
	buf := make([]byte, size+size&1)
	if _, err := io.ReadFull(r, buf); err != nil {
		return Format{}, fmt.Errorf("reading fmt chunk: %w", noEOF(err, ErrTruncated))
	}
	le := binary.LittleEndian
	tag := le.Uint16(buf[0:])
	f := Format{Channels: int(le.Uint16(buf[2:])), SampleRate: int(le.Uint32(buf[4:]))}
	blockAlign, bits := int(le.Uint16(buf[12:])), int(le.Uint16(buf[14:]))
	if tag == formatExtensible {
		// WAVE_FORMAT_EXTENSIBLE: the real format tag opens the SubFormat GUID.
		if size < 40 {
			return f, fmt.Errorf("extensible fmt chunk of %d bytes: %w", size, ErrMalformed)
		}
		tag = le.Uint16(buf[24:])
	}
	if tag != formatPCM || bits != 16 {
		return f, fmt.Errorf("format tag %#04x with %d bits per sample: %w", tag, bits, ErrUnsupportedFormat)
	}
	if f.SampleRate > MaxSampleRate {
		return f, fmt.Errorf("sample rate %d Hz above %d Hz: %w", f.SampleRate, MaxSampleRate, ErrUnsupportedFormat)
	}
	if f.Channels < 1 || f.SampleRate < 1 || blockAlign != 2*f.Channels {
		return f, fmt.Errorf("%d channels, %d Hz, block align %d: %w", f.Channels, f.SampleRate, blockAlign, ErrMalformed)
	}
	return f, nil
}

// readData reads a data chunk of size bytes and mixes its channels down to mono.
// A placeholder size (streaming writers) reads to the end of the input.
func readData(r io.Reader, size uint32, channels int) ([]int16, error) {
	streaming := size >= streamingSize
	block := 2 * channels
	var pcm []int16
	if !streaming {
		pcm = make([]int16, 0, min(int(size)/block, 1<<22)) // do not trust a huge size blindly
	}
	buf := make([]byte, 32*1024/block*block)
	remaining := int64(size)
	for remaining > 0 || streaming {
		want := len(buf)
		if !streaming && int64(want) > remaining {
			want = int(remaining)
		}
		n, err := io.ReadFull(r, buf[:want])
		// Only the last read can end inside a sample frame; that partial frame is
		// dropped.
		whole := n / block * block
		pcm = appendMono(pcm, buf[:whole], channels)
		remaining -= int64(n)
		if err != nil {
			if streaming && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)) {
				return pcm, nil // placeholder size: the data simply ends here
			}
			return nil, fmt.Errorf("read %d of %d bytes: %w", int64(size)-remaining, size, noEOF(err, ErrTruncated))
		}
	}
	return pcm, nil
}

// appendMono appends the little-endian 16-bit frames in b to pcm, averaging
// channels.
func appendMono(pcm []int16, b []byte, channels int) []int16 {
	if channels == 1 {
		for i := 0; i+1 < len(b); i += 2 {
			pcm = append(pcm, int16(binary.LittleEndian.Uint16(b[i:])))
		}
		return pcm
	}
	for i := 0; i+2*channels <= len(b); i += 2 * channels {
		sum := 0
		for c := range channels {
			sum += int(int16(binary.LittleEndian.Uint16(b[i+2*c:])))
		}
		pcm = append(pcm, int16(sum/channels))
	}
	return pcm
}

// noEOF turns an end of input in the middle of a structure into sentinel, keeping
// other I/O errors as they are.
func noEOF(err, sentinel error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w (%w)", sentinel, err)
	}
	return err
}
