package espeak

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/parley-voice/parley/media/resample"
	"github.com/parley-voice/parley/pipeline"
)

// TTS speaks text with libespeak-ng. It is safe for concurrent use; syntheses
// run one at a time inside the library.
type TTS struct {
	cfg Config
}

// Synthesize speaks req.Text and streams PCM16 mono audio at req.SampleRate to
// sink, chunk by chunk as the library produces it. req.Voice and req.Rate
// override the configured voice and rate; with no voice, req.Language (a BCP 47
// tag such as "en-GB") picks one. A voice named after a language tag with a
// region that espeak-ng lacks ("de-de", "en-au") falls back to the primary
// language ("de", "en"). Empty text produces no audio.
func (t *TTS) Synthesize(ctx context.Context, req pipeline.TTSRequest, sink func(pcm []int16) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if req.SampleRate <= 0 {
		return fmt.Errorf("espeak: sample rate %d Hz: %w", req.SampleRate, pipeline.ErrUnsupportedRate)
	}
	text := strings.TrimSpace(strings.ReplaceAll(req.Text, "\x00", " "))
	if text == "" {
		return nil
	}
	cfg := t.cfg.withDefaults() // a zero TTS works too
	voices := []string{cfg.Voice}
	switch {
	case req.Voice != "":
		voices = withPrimary(req.Voice)
	case req.Language != "":
		// Voices are named after lowercase language tags; fall back to the
		// primary language ("en" for "en-AU") when there is no voice for the region.
		lang := strings.ToLower(req.Language)
		voices = []string{lang}
		if primary, _, ok := strings.Cut(lang, "-"); ok {
			voices = append(voices, primary)
		}
	}
	rate := cfg.Rate
	if req.Rate != 0 {
		rate = req.Rate
	}
	rate = clampRate(rate)

	rs, err := resample.New(nativeRate, req.SampleRate)
	if err != nil {
		return fmt.Errorf("espeak: %w: %w", pipeline.ErrUnsupportedRate, err)
	}
	j := startJob(text, voices, rate)
	defer j.stop() // stops the library early if we return before it is done
	for {
		chunk, err := j.next(ctx)
		if errors.Is(err, errDone) {
			break
		}
		if err != nil {
			return err
		}
		// A fresh slice per chunk: the sink may keep what it is given.
		if out := rs.Process(nil, chunk); len(out) > 0 {
			if err := sink(out); err != nil {
				return err
			}
		}
	}
	if out := rs.Flush(nil); len(out) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := sink(out); err != nil {
			return err
		}
	}
	return nil
}

var _ pipeline.TTS = (*TTS)(nil)

// regionalVoiceRE matches a voice named after a language and region, such as
// "de-de" or "es-419".
var regionalVoiceRE = regexp.MustCompile(`^[a-z]{2,3}-([a-z]{2}|[0-9]{3})$`)

// withPrimary lists voice and, when it is a language tag with a region, its
// primary language: espeak-ng's voices are named after lowercase language
// tags, and many languages have no voice per region.
func withPrimary(voice string) []string {
	if regionalVoiceRE.MatchString(voice) {
		primary, _, _ := strings.Cut(voice, "-")
		return []string{voice, primary}
	}
	return []string{voice}
}
