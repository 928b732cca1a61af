package providertest

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
	"unicode/utf8"
)

// SpeechRate is the sample rate of OpenAI's "pcm" speech format: 24 kHz mono
// 16-bit little-endian.
const SpeechRate = 24000

// openAIVoices are the voices /v1/audio/speech accepts.
var openAIVoices = []string{"alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer", "verse"}

// maxSpeechInput is the longest input the API accepts, in characters.
const maxSpeechInput = 4096

// OpenAISpeechConfig configures a fake speech API. APIKey is required.
type OpenAISpeechConfig struct {
	// APIKey is what clients must send as "Authorization: Bearer <key>".
	APIKey string
	// MsPerChar is the audio returned per character of input at speed 1
	// (default DefaultMsPerChar).
	MsPerChar float64
	// FirstByteDelay is waited before the first audio bytes; ChunkDelay
	// between the 100 ms chunks the body is written in. Both default to none.
	FirstByteDelay, ChunkDelay time.Duration
	// OnRequest, when set, is called when a valid request arrives, before
	// any audio is written (for latency measurements). It must not block.
	OnRequest func(SpeechRequest)
}

// SpeechRequest is one accepted /v1/audio/speech request.
type SpeechRequest struct {
	Header         http.Header
	Model          string
	Input          string
	Voice          string
	ResponseFormat string
	Speed          float64
	Instructions   string
	// At is when the request was accepted; Audio is the length of the audio answered.
	At    time.Time
	Audio time.Duration
}

// OpenAISpeech is a fake of OpenAI's speech API (POST /v1/audio/speech). It
// answers response_format pcm (24 kHz s16le) and wav with a tone whose length
// is proportional to the input; other formats are refused with a clear error,
// since the fake has no encoder for them.
type OpenAISpeech struct {
	cfg OpenAISpeechConfig
	srv *server

	mu       sync.Mutex
	requests []SpeechRequest
}

// NewOpenAISpeech starts a fake speech API on a loopback port.
func NewOpenAISpeech(cfg OpenAISpeechConfig) (*OpenAISpeech, error) {
	if cfg.APIKey == "" {
		return nil, errors.New("providertest: OpenAISpeechConfig.APIKey is empty; a fake that accepts any key proves nothing")
	}
	f := &OpenAISpeech{cfg: cfg}
	srv, err := startServer("openai speech", http.HandlerFunc(f.serve))
	if err != nil {
		return nil, err
	}
	f.srv = srv
	return f, nil
}

// URL is the API root, http://127.0.0.1:port/v1, for the client's base URL.
func (f *OpenAISpeech) URL() string { return "http://" + f.srv.addr() + "/v1" }

// Close stops the server.
func (f *OpenAISpeech) Close() error { return f.srv.Close() }

// Requests returns the accepted requests so far.
func (f *OpenAISpeech) Requests() []SpeechRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

func (f *OpenAISpeech) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/audio/speech" || r.Method != http.MethodPost {
		invalidURL(w, r)
		return
	}
	if !checkBearer(w, r, f.cfg.APIKey) {
		return
	}
	var body struct {
		Model          string   `json:"model"`
		Input          *string  `json:"input"`
		Voice          string   `json:"voice"`
		ResponseFormat string   `json:"response_format"`
		Speed          *float64 `json:"speed"`
		Instructions   string   `json:"instructions"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body); err != nil {
		openAIError(w, http.StatusBadRequest, "invalid_request_error", "We could not parse the JSON body of your request.", nil, nil)
		return
	}
	bad := func(param, msg string) {
		openAIError(w, http.StatusBadRequest, "invalid_request_error", msg, param, nil)
	}
	switch {
	case body.Model == "":
		bad("model", "Missing required parameter: 'model'.")
		return
	case body.Input == nil:
		bad("input", "Missing required parameter: 'input'.")
		return
	case *body.Input == "":
		bad("input", "Invalid 'input': empty string. Expected a string with minimum length 1.")
		return
	case utf8.RuneCountInString(*body.Input) > maxSpeechInput:
		bad("input", fmt.Sprintf("Invalid 'input': string too long. Expected a string with maximum length %d.", maxSpeechInput))
		return
	case body.Voice == "":
		bad("voice", "Missing required parameter: 'voice'.")
		return
	case !slices.Contains(openAIVoices, body.Voice):
		bad("voice", fmt.Sprintf("Invalid value: '%s'. Supported values are: %q.", body.Voice, openAIVoices))
		return
	case body.Speed != nil && (*body.Speed < 0.25 || *body.Speed > 4):
		bad("speed", fmt.Sprintf("Invalid 'speed': %v. Expected a value between 0.25 and 4.0.", *body.Speed))
		return
	}
	format := body.ResponseFormat
	if format == "" {
		format = "mp3"
	}
	switch format {
	case "pcm", "wav":
	case "mp3", "opus", "aac", "flac":
		bad("response_format", fmt.Sprintf("providertest: the fake speaks only pcm and wav, not %s", format))
		return
	default:
		bad("response_format", fmt.Sprintf("Invalid value: '%s'. Supported values are: 'mp3', 'opus', 'aac', 'flac', 'wav', and 'pcm'.", format))
		return
	}
	speed := 1.0
	if body.Speed != nil {
		speed = *body.Speed
	}
	sr := SpeechRequest{Header: r.Header.Clone(), Model: body.Model, Input: *body.Input, Voice: body.Voice,
		ResponseFormat: format, Speed: speed, Instructions: body.Instructions, At: time.Now(),
		Audio: speechLength(*body.Input, f.cfg.MsPerChar, speed)}
	f.mu.Lock()
	f.requests = append(f.requests, sr)
	f.mu.Unlock()
	if f.cfg.OnRequest != nil {
		f.cfg.OnRequest(sr)
	}
	pcm := le16(Tone(SpeechRate, sr.Audio))
	if format == "wav" {
		w.Header().Set("Content-Type", "audio/wav")
	} else {
		w.Header().Set("Content-Type", "audio/pcm")
	}
	w.WriteHeader(http.StatusOK)
	if format == "wav" {
		// A streamed WAV does not know its length: OpenAI writes 0xFFFFFFFF sizes.
		_, _ = w.Write(wavHeader(SpeechRate))
	}
	writeChunks(w, r, pcm, SpeechRate/10*2, f.cfg.FirstByteDelay, f.cfg.ChunkDelay)
}

// writeChunks streams b in chunks of n bytes, flushing each, with the given
// delays; it stops when the client goes away.
func writeChunks(w http.ResponseWriter, r *http.Request, b []byte, n int, first, between time.Duration) {
	fl, _ := w.(http.Flusher)
	for i := 0; len(b) > 0; i++ {
		d := between
		if i == 0 {
			d = first
		}
		if d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		k := min(n, len(b))
		if _, err := w.Write(b[:k]); err != nil {
			return
		}
		if fl != nil {
			fl.Flush()
		}
		b = b[k:]
	}
}

// wavHeader is a 44-byte RIFF header for streamed mono s16le audio.
func wavHeader(rate int) []byte {
	h := make([]byte, 44)
	copy(h[0:], "RIFF")
	binary.LittleEndian.PutUint32(h[4:], 0xFFFFFFFF)
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)
	binary.LittleEndian.PutUint16(h[20:], 1)
	binary.LittleEndian.PutUint16(h[22:], 1)
	binary.LittleEndian.PutUint32(h[24:], uint32(rate))
	binary.LittleEndian.PutUint32(h[28:], uint32(rate*2))
	binary.LittleEndian.PutUint16(h[32:], 2)
	binary.LittleEndian.PutUint16(h[34:], 16)
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], 0xFFFFFFFF)
	return h
}
