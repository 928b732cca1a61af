package openaiaudio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	openai "github.com/sashabaranov/go-openai"

	"github.com/parley-voice/parley/pipeline"
	"github.com/parley-voice/parley/pipeline/internal/pcmstream"
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
	ps, err := pcmstream.New(SpeechRate, req.SampleRate)
	if err != nil {
		return fmt.Errorf("openaiaudio: %w: %w", pipeline.ErrUnsupportedRate, err)
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
	return streamPCM(ctx, resp, ps, sink)
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

// streamPCM passes the body on read by read through ps.
func streamPCM(ctx context.Context, body io.Reader, ps *pcmstream.Stream, sink func([]int16) error) error {
	buf := make([]byte, readChunk)
	for {
		n, rerr := body.Read(buf)
		if n > 0 {
			if err := ps.Write(buf[:n], sink); err != nil {
				return err
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
	return ps.Flush(sink)
}
