// Package fake provides zero-latency stand-ins for the three stages, for
// benchmarks of the runtime's own share of a turn and for tests of the call
// actor that should not depend on real speech. They do real work of the right
// shape (audio of plausible length, streamed text) but no recognition or synthesis.
package fake

import (
	"context"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/parley-voice/parley/pipeline"
)

// STT "recognises" each utterance as the next entry of Script (cycling), or as
// Text when Script is empty. It emits one partial per PartialEvery frames.
type STT struct {
	Script       []string
	Text         string
	PartialEvery int
	// Delay is added before each final result (0 = immediate).
	Delay time.Duration

	mu   sync.Mutex
	next int
}

// NewStream opens a stream; results are delivered from Finalize's caller.
func (s *STT) NewStream(ctx context.Context, cfg pipeline.STTConfig, sink func(pipeline.STTResult)) (pipeline.STTStream, error) {
	return &sttStream{owner: s, rate: cfg.SampleRate, sink: sink}, nil
}

func (s *STT) nextText() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.Script) == 0 {
		return s.Text
	}
	t := s.Script[s.next%len(s.Script)]
	s.next++
	return t
}

type sttStream struct {
	owner   *STT
	rate    int
	sink    func(pipeline.STTResult)
	samples int
	frames  int
	closed  bool
	timers  sync.WaitGroup
}

func (st *sttStream) Write(pcm []int16) error {
	if st.closed {
		return pipeline.ErrClosed
	}
	st.samples += len(pcm)
	st.frames++
	if st.owner.PartialEvery > 0 && st.frames%st.owner.PartialEvery == 0 {
		st.sink(pipeline.STTResult{Kind: pipeline.STTPartial, Text: "…"})
	}
	return nil
}

func (st *sttStream) Finalize() error {
	if st.closed {
		return pipeline.ErrClosed
	}
	text := ""
	if st.samples > 0 {
		text = st.owner.nextText()
	}
	res := pipeline.STTResult{Kind: pipeline.STTFinal, Text: text, Confidence: 1,
		AudioDuration: time.Duration(int64(st.samples) * int64(time.Second) / int64(max(st.rate, 1)))}
	st.samples, st.frames = 0, 0
	if d := st.owner.Delay; d > 0 {
		st.timers.Add(1)
		time.AfterFunc(d, func() { defer st.timers.Done(); st.sink(res) })
		return nil
	}
	st.sink(res)
	return nil
}

func (st *sttStream) Close() error {
	st.closed = true
	st.timers.Wait()
	return nil
}

// TTS produces a quiet 300 Hz tone lasting MsPerChar per character of text
// (default 60 ms, roughly natural speech), in chunks of ChunkMS (default 100 ms).
type TTS struct {
	MsPerChar float64
	ChunkMS   int
	// FirstByte delays the first chunk (0 = immediate).
	FirstByte time.Duration
}

// Synthesize streams the tone to sink.
func (t *TTS) Synthesize(ctx context.Context, req pipeline.TTSRequest, sink func([]int16) error) error {
	perChar := t.MsPerChar
	if perChar <= 0 {
		perChar = 60
	}
	chunkMS := t.ChunkMS
	if chunkMS <= 0 {
		chunkMS = 100
	}
	if t.FirstByte > 0 {
		select {
		case <-time.After(t.FirstByte):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	total := int(float64(len(req.Text)) * perChar * float64(req.SampleRate) / 1000)
	chunk := make([]int16, req.SampleRate*chunkMS/1000)
	for off := 0; off < total; off += len(chunk) {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := min(len(chunk), total-off)
		for i := 0; i < n; i++ {
			chunk[i] = int16(3000 * math.Sin(2*math.Pi*300*float64(off+i)/float64(req.SampleRate)))
		}
		if err := sink(chunk[:n]); err != nil {
			return err
		}
	}
	return nil
}

// LLM answers every caller message with Reply (default: echoes it back as
// "You said: ….") streamed word by word, with optional tool calls on the first
// round when the caller's words contain a key of ToolOn.
type LLM struct {
	Reply string
	// ToolOn maps a word in the caller's message to the tool call to make.
	ToolOn map[string]pipeline.ToolCall
	// FirstToken delays the first chunk (0 = immediate).
	FirstToken time.Duration
}

// Generate streams the reply.
func (l *LLM) Generate(ctx context.Context, req *pipeline.LLMRequest, sink func(pipeline.LLMChunk)) error {
	if l.FirstToken > 0 {
		select {
		case <-time.After(l.FirstToken):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	var last pipeline.Message
	if n := len(req.Messages); n > 0 {
		last = req.Messages[n-1]
	}
	if last.Role == pipeline.RoleUser {
		for word, tc := range l.ToolOn {
			if strings.Contains(strings.ToLower(last.Content), word) {
				sink(pipeline.LLMChunk{ToolCalls: []pipeline.ToolCall{tc}})
				return nil
			}
		}
	}
	reply := l.Reply
	switch {
	case last.Role == pipeline.RoleTool:
		reply = "Done: " + last.Content + "."
	case reply == "" && last.Role == pipeline.RoleUser:
		reply = "You said: " + last.Content + "."
	case reply == "":
		reply = "Hello. How can I help?"
	}
	for i, w := range strings.Fields(reply) {
		if err := ctx.Err(); err != nil {
			return err
		}
		if i > 0 {
			w = " " + w
		}
		sink(pipeline.LLMChunk{Text: w})
	}
	return nil
}

var (
	_ pipeline.STT = (*STT)(nil)
	_ pipeline.TTS = (*TTS)(nil)
	_ pipeline.LLM = (*LLM)(nil)
)
