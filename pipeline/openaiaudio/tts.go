package openaiaudio

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	openai "github.com/sashabaranov/go-openai"

	"github.com/parley-voice/parley/media/resample"
	"github.com/parley-voice/parley/pipeline"
)

// readChunk is how much of the speech body is read at a time: 100 ms at
// 24 kHz. A read returns what has arrived, so chunks are often smaller.
const readChunk = SpeechRate / 10 * 2

// wpmAtSpeed1 converts TTSRequest.Rate (words per minute) to a speed factor.
const wpmAtSpeed1 = 175

// Synthesize asks for raw PCM and streams it to sink as the body arrives,
// resampled from 24 kHz to req.SampleRate when they differ. The slice passed
// to sink is reused after sink returns.
func (c *Client) Synthesize(ctx context.Context, req pipeline.TTSRequest, sink func(pcm []int16) error) error {
	if strings.TrimSpace(req.Text) == "" {
		return nil
	}
	var rs *resample.Resampler
	if req.SampleRate != SpeechRate {
		r, err := resample.New(SpeechRate, req.SampleRate)
		if err != nil {
			return fmt.Errorf("openaiaudio: %w: %w", pipeline.ErrUnsupportedRate, err)
		}
		rs = r
	}
	voice := req.Voice
	if voice == "" {
		voice = c.cfg.Voice
	}
	speed := c.cfg.Speed
	if req.Rate > 0 {
		speed = min(max(float64(req.Rate)/wpmAtSpeed1, 0.25), 4)
	}
	resp, err := c.api.CreateSpeech(ctx, openai.CreateSpeechRequest{
		Model:          openai.SpeechModel(c.cfg.SpeechModel),
		Input:          req.Text,
		Voice:          openai.SpeechVoice(voice),
		Instructions:   c.cfg.Instructions,
		ResponseFormat: openai.SpeechResponseFormatPcm,
		Speed:          speed,
	})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return providerError("tts", fmt.Errorf("requesting speech (model %s, voice %s): %w", c.cfg.SpeechModel, voice, err))
	}
	defer resp.Close()
	if ct := resp.Header().Get("Content-Type"); notPCM(ct) {
		return &pipeline.ProviderError{Provider: ProviderName, Stage: "tts", Err: fmt.Errorf("speech server answered %q instead of raw PCM; it may not support response_format pcm", ct)}
	}
	return streamPCM(ctx, resp, rs, sink)
}

// notPCM reports content types that are certainly not raw PCM, which servers
// ignoring response_format send.
func notPCM(ct string) bool {
	ct = strings.ToLower(ct)
	for _, bad := range []string{"json", "mpeg", "mp3", "ogg", "opus", "aac", "flac", "text/"} {
		if strings.Contains(ct, bad) {
			return true
		}
	}
	return false
}

// streamPCM converts the body to samples read by read, carrying an odd byte
// between reads.
func streamPCM(ctx context.Context, body io.Reader, rs *resample.Resampler, sink func([]int16) error) error {
	buf := make([]byte, readChunk+1)
	pcm := make([]int16, 0, readChunk/2+1)
	var out, rbuf []int16
	have := 0 // bytes at the start of buf: a carried odd byte
	for {
		n, rerr := body.Read(buf[have:])
		n += have
		pcm = pcm[:0]
		for i := 0; i+1 < n; i += 2 {
			pcm = append(pcm, int16(binary.LittleEndian.Uint16(buf[i:])))
		}
		have = n % 2
		if have == 1 {
			buf[0] = buf[n-1]
		}
		if len(pcm) > 0 {
			out = pcm
			if rs != nil {
				rbuf = rs.Process(rbuf[:0], pcm)
				out = rbuf
			}
			if len(out) > 0 {
				if err := sink(out); err != nil {
					return err
				}
			}
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return providerError("tts", fmt.Errorf("reading speech: %w: %w", pipeline.ErrStreamCut, rerr))
		}
	}
	if rs != nil {
		if out = rs.Flush(nil); len(out) > 0 {
			return sink(out)
		}
	}
	return nil
}
