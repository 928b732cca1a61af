package wav

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

func ramp(n int) []int16 {
	pcm := make([]int16, n)
	for i := range pcm {
		pcm[i] = int16(i*97 - 20000)
	}
	return pcm
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 160, 100000} {
		pcm := ramp(n)
		var buf bytes.Buffer
		if err := Encode(&buf, pcm, 22050); err != nil {
			t.Fatal(err)
		}
		if buf.Len() != headerSize+2*n {
			t.Fatalf("%d samples: encoded %d bytes, want %d", n, buf.Len(), headerSize+2*n)
		}
		got, rate, err := Decode(&buf)
		if err != nil {
			t.Fatalf("%d samples: %v", n, err)
		}
		if rate != 22050 || !slices.Equal(got, pcm) {
			t.Fatalf("%d samples: round trip gave %d samples at %d Hz", n, len(got), rate)
		}
	}
}

func TestEncodeHeaderBytes(t *testing.T) {
	var buf bytes.Buffer
	if err := Encode(&buf, []int16{1, -1}, 8000); err != nil {
		t.Fatal(err)
	}
	want := []byte("RIFF\x28\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x40\x1f\x00\x00\x80\x3e\x00\x00\x02\x00\x10\x00data\x04\x00\x00\x00\x01\x00\xff\xff")
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("Encode wrote\n% x\nwant\n% x", buf.Bytes(), want)
	}
}

func TestEncodeRejectsBadRate(t *testing.T) {
	if err := Encode(io.Discard, nil, 0); !errors.Is(err, ErrUnsupportedFormat) {
		t.Fatalf("Encode with rate 0: %v", err)
	}
}

// file assembles a WAV file from chunks for the tests below.
type chunk struct {
	id   string
	body []byte
	size int // declared size; -1 means len(body)
}

func build(riff string, chunks ...chunk) []byte {
	var b bytes.Buffer
	b.WriteString(riff)
	b.Write([]byte{0, 0, 0, 0})
	b.WriteString("WAVE")
	for _, c := range chunks {
		b.WriteString(c.id)
		size := c.size
		if size < 0 {
			size = len(c.body)
		}
		binary.Write(&b, binary.LittleEndian, uint32(size))
		b.Write(c.body)
		if len(c.body)%2 == 1 && c.size < 0 {
			b.WriteByte(0)
		}
	}
	out := b.Bytes()
	binary.LittleEndian.PutUint32(out[4:], uint32(len(out)-8))
	return out
}

func fmtBody(tag uint16, channels, rate, bits int) []byte {
	b := make([]byte, 16)
	le := binary.LittleEndian
	le.PutUint16(b[0:], tag)
	le.PutUint16(b[2:], uint16(channels))
	le.PutUint32(b[4:], uint32(rate))
	le.PutUint32(b[8:], uint32(rate*channels*bits/8))
	le.PutUint16(b[12:], uint16(channels*bits/8))
	le.PutUint16(b[14:], uint16(bits))
	return b
}

func extensibleBody(channels, rate, bits int, sub uint16) []byte {
	b := fmtBody(formatExtensible, channels, rate, bits)
	ext := make([]byte, 24)
	binary.LittleEndian.PutUint16(ext[0:], 22)
	binary.LittleEndian.PutUint16(ext[2:], uint16(bits))
	binary.LittleEndian.PutUint16(ext[8:], sub) // SubFormat GUID starts with the tag
	copy(ext[10:], "\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71")
	return append(b, ext...)
}

func le16(pcm ...int16) []byte {
	b := make([]byte, 2*len(pcm))
	for i, s := range pcm {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(s))
	}
	return b
}

func TestDecodeCases(t *testing.T) {
	mono := fmtBody(formatPCM, 1, 16000, 16)
	tests := []struct {
		name     string
		file     []byte
		want     []int16
		wantRate int
		wantErr  error
	}{
		{"plain", build("RIFF", chunk{"fmt ", mono, -1}, chunk{"data", le16(1, 2, 3), -1}), []int16{1, 2, 3}, 16000, nil},
		{"extra chunks with odd size and padding",
			build("RIFF", chunk{"LIST", []byte("INFOabc"), -1}, chunk{"fmt ", mono, -1}, chunk{"fact", []byte{1, 0, 0, 0}, -1}, chunk{"data", le16(5, -5), -1}, chunk{"id3 ", []byte("x"), -1}),
			[]int16{5, -5}, 16000, nil},
		{"fmt chunk with extension bytes", build("RIFF", chunk{"fmt ", append(fmtBody(formatPCM, 1, 8000, 16), 0, 0), -1}, chunk{"data", le16(7), -1}), []int16{7}, 8000, nil},
		{"extensible PCM", build("RIFF", chunk{"fmt ", extensibleBody(1, 48000, 16, formatPCM), -1}, chunk{"data", le16(9), -1}), []int16{9}, 48000, nil},
		{"stereo is mixed down", build("RIFF", chunk{"fmt ", fmtBody(formatPCM, 2, 44100, 16), -1}, chunk{"data", le16(100, 300, -32768, -32768, 32767, -32768), -1}), []int16{200, -32768, 0}, 44100, nil},
		{"streaming placeholder size", build("RIFF", chunk{"fmt ", mono, -1}, chunk{"data", le16(1, 2, 3), 0x7FFFF000}), []int16{1, 2, 3}, 16000, nil},
		{"streaming placeholder ends mid-sample", build("RIFF", chunk{"fmt ", mono, -1}, chunk{"data", append(le16(1, 2), 3), 0xFFFFFFFF}), []int16{1, 2}, 16000, nil},
		{"empty data", build("RIFF", chunk{"fmt ", mono, -1}, chunk{"data", nil, -1}), []int16{}, 16000, nil},
		{"not RIFF", build("RIFX", chunk{"fmt ", mono, -1}), nil, 0, ErrNotWAV},
		{"too short for a header", []byte("RIFF"), nil, 0, ErrNotWAV},
		{"8-bit", build("RIFF", chunk{"fmt ", fmtBody(formatPCM, 1, 8000, 8), -1}, chunk{"data", []byte{1}, -1}), nil, 0, ErrUnsupportedFormat},
		{"24-bit", build("RIFF", chunk{"fmt ", fmtBody(formatPCM, 1, 8000, 24), -1}), nil, 0, ErrUnsupportedFormat},
		{"float", build("RIFF", chunk{"fmt ", fmtBody(3, 1, 8000, 32), -1}), nil, 0, ErrUnsupportedFormat},
		{"mu-law", build("RIFF", chunk{"fmt ", fmtBody(7, 1, 8000, 8), -1}), nil, 0, ErrUnsupportedFormat},
		{"extensible float", build("RIFF", chunk{"fmt ", extensibleBody(1, 48000, 16, 3), -1}), nil, 0, ErrUnsupportedFormat},
		{"short fmt", build("RIFF", chunk{"fmt ", mono[:14], -1}), nil, 0, ErrMalformed},
		{"zero channels", build("RIFF", chunk{"fmt ", fmtBody(formatPCM, 0, 8000, 16), -1}), nil, 0, ErrMalformed},
		{"data before fmt", build("RIFF", chunk{"data", le16(1), -1}, chunk{"fmt ", mono, -1}), nil, 0, ErrMalformed},
		{"no data chunk", build("RIFF", chunk{"fmt ", mono, -1}), nil, 0, ErrMalformed},
		{"truncated data", build("RIFF", chunk{"fmt ", mono, -1}, chunk{"data", le16(1, 2), 100}), nil, 0, ErrTruncated},
		{"truncated fmt", build("RIFF", chunk{"fmt ", mono[:10], 16}), nil, 0, ErrTruncated},
		{"truncated skipped chunk", build("RIFF", chunk{"fmt ", mono, -1}, chunk{"LIST", []byte("abc"), 64}), nil, 0, ErrTruncated},
		{"truncated chunk header", append(build("RIFF", chunk{"fmt ", mono, -1}), 'd', 'a'), nil, 0, ErrTruncated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, rate, err := Decode(bytes.NewReader(tc.file))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("error = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rate != tc.wantRate || !slices.Equal(got, tc.want) {
				t.Fatalf("got %v at %d Hz, want %v at %d Hz", got, rate, tc.want, tc.wantRate)
			}
		})
	}
}

func TestDecodeFormatReportsChannels(t *testing.T) {
	file := build("RIFF", chunk{"fmt ", fmtBody(formatPCM, 2, 8000, 16), -1}, chunk{"data", le16(1, 3), -1})
	_, f, err := DecodeFormat(bytes.NewReader(file))
	if err != nil || f.Channels != 2 || f.SampleRate != 8000 {
		t.Fatalf("DecodeFormat = %+v, %v", f, err)
	}
}

func TestFileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.wav")
	pcm := ramp(5000)
	if err := WriteFile(path, pcm, 24000); err != nil {
		t.Fatal(err)
	}
	got, rate, err := ReadFile(path)
	if err != nil || rate != 24000 || !slices.Equal(got, pcm) {
		t.Fatalf("ReadFile = %d samples at %d Hz, %v", len(got), rate, err)
	}
	if _, _, err := ReadFile(filepath.Join(t.TempDir(), "missing.wav")); err == nil {
		t.Fatal("ReadFile of a missing file succeeded")
	}
}

// TestDecodeEspeak reads what espeak-ng writes to a pipe: a header with placeholder
// sizes followed by 22050 Hz mono samples.
func TestDecodeEspeak(t *testing.T) {
	bin, err := exec.LookPath("espeak-ng")
	if err != nil {
		t.Skip("espeak-ng not installed; skipping the real-file test")
	}
	out, err := exec.Command(bin, "--stdout", "Testing one two three.").Output()
	if err != nil {
		t.Fatalf("running espeak-ng: %v", err)
	}
	pcm, rate, err := Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if rate != 22050 || len(pcm) != (len(out)-headerSize)/2 || len(pcm) < rate/2 {
		t.Fatalf("espeak-ng output: %d samples at %d Hz from %d bytes", len(pcm), rate, len(out))
	}
}

func FuzzDecode(f *testing.F) {
	var buf bytes.Buffer
	Encode(&buf, ramp(50), 16000)
	f.Add(buf.Bytes())
	f.Add(build("RIFF", chunk{"LIST", []byte("x"), -1}, chunk{"fmt ", fmtBody(formatPCM, 2, 8000, 16), -1}, chunk{"data", le16(1, 2, 3, 4), -1}))
	f.Add(build("RIFF", chunk{"fmt ", extensibleBody(1, 48000, 16, formatPCM), -1}, chunk{"data", le16(9), 0x7FFFF000}))
	f.Fuzz(func(t *testing.T, data []byte) {
		pcm, rate, err := Decode(bytes.NewReader(data))
		if err != nil {
			return
		}
		if rate <= 0 || len(pcm) > len(data)/2 {
			t.Fatalf("decoded %d samples at %d Hz from %d bytes", len(pcm), rate, len(data))
		}
		var out bytes.Buffer
		if err := Encode(&out, pcm, rate); err != nil {
			t.Fatal(err)
		}
		again, rate2, err := Decode(&out)
		if err != nil || rate2 != rate || !slices.Equal(again, pcm) {
			t.Fatalf("re-encoding decoded audio does not round-trip: %v", err)
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	var buf bytes.Buffer
	Encode(&buf, ramp(16000), 16000)
	data := buf.Bytes()
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		Decode(bytes.NewReader(data))
	}
}

func BenchmarkEncode(b *testing.B) {
	pcm := ramp(16000)
	b.ReportAllocs()
	b.SetBytes(int64(2 * len(pcm)))
	for b.Loop() {
		Encode(io.Discard, pcm, 16000)
	}
}
