// Package caller is a simulated caller: it dials an agent over the native
// WebSocket protocol, speaks a script with real synthesised speech in real time,
// waits for the agent's replies, and reports what it heard back. `parley call`,
// `parley demo` and the end-to-end tests use it.
package caller

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/parley-voice/parley/media"
	"github.com/parley-voice/parley/media/native"
	"github.com/parley-voice/parley/pipeline"
)

// Line is one thing the caller says.
type Line struct {
	Text string
	// BargeIn, when set, makes the caller speak this line that long after the
	// agent starts its next reply, instead of waiting for the reply to end.
	BargeIn time.Duration
}

// Config describes a scripted call.
type Config struct {
	URL   string // ws://host:port/v1/ws
	Agent string
	Token string
	From  string
	Lines []Line
	// TTS speaks the caller's lines (PCM16 at 16 kHz).
	TTS pipeline.TTS
	// Voice of the caller (provider specific), e.g. "en-us+f3".
	Voice string
	// Transcriber, when set, transcribes each reply's audio so the caller can say
	// what it actually heard; Phrases constrain it if it is grammar based.
	Transcriber pipeline.STT
	Phrases     []string
	// Out receives a human-readable log of the conversation (nil: discard).
	Out io.Writer
	// Pause after the agent stops speaking before the caller talks (default 600 ms).
	Pause time.Duration
	// WaitEnd is how long to wait for the agent to end the call after the last
	// line's reply before hanging up (default 15 s).
	WaitEnd time.Duration
	// ReplyTimeout bounds the wait for each reply (default 20 s).
	ReplyTimeout time.Duration
	// Verbose prints every event, not only the conversation.
	Verbose bool
}

// Result is what happened on the call.
type Result struct {
	CallID    string
	Events    []native.ClientEvent
	EndReason string
	// Replies holds the agent audio received per reply (PCM16 16 kHz).
	Replies [][]int16
	// Heard holds the transcription of each reply, when a Transcriber was set.
	Heard []string
	// AudioFrames counts agent audio messages received.
	AudioFrames int
	// Clears records when the server told the caller to drop agent audio.
	Clears []time.Time
	// SpeechOnsets records when each line's audio started going out.
	SpeechOnsets []time.Time
	// LastAudio is when the last agent audio frame arrived.
	LastAudioAt []time.Time
}

// Run places the call and plays the script. It returns when the call has ended.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Pause <= 0 {
		cfg.Pause = 600 * time.Millisecond
	}
	if cfg.WaitEnd <= 0 {
		cfg.WaitEnd = 15 * time.Second
	}
	if cfg.ReplyTimeout <= 0 {
		cfg.ReplyTimeout = 20 * time.Second
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	r := &runner{cfg: cfg, res: &Result{}, evc: make(chan native.ClientEvent, 1024), out: cfg.Out}
	return r.run(ctx)
}

type runner struct {
	cfg Config
	res *Result
	out io.Writer
	evc chan native.ClientEvent
	// endSeen: call.ended was observed while idling between lines.
	endSeen bool

	mu       sync.Mutex
	cur      []int16 // audio of the reply being received
	speech   [][]int16
	speaking bool
	frames   int
	clears   []time.Time
	lastAt   time.Time
}

func (r *runner) run(ctx context.Context) (*Result, error) {
	h := http.Header{}
	if r.cfg.Token != "" {
		h.Set("Authorization", "Bearer "+r.cfg.Token)
	}
	cl, err := native.Dial(ctx, r.cfg.URL, h, native.Control{Agent: r.cfg.Agent, From: r.cfg.From}, native.ClientHandler{
		OnAudio: func(pcm []int16, at time.Time) {
			r.mu.Lock()
			r.cur = append(r.cur, pcm...)
			r.frames++
			r.lastAt = at
			r.mu.Unlock()
		},
		OnClear: func(at time.Time) {
			r.mu.Lock()
			r.clears = append(r.clears, at)
			r.mu.Unlock()
		},
		OnEvent: func(e native.ClientEvent) {
			select {
			case r.evc <- e:
			default:
			}
		},
	})
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	r.res.CallID = cl.CallID()
	fmt.Fprintf(r.out, "☎  call %s to agent %q\n", cl.CallID(), r.cfg.Agent)

	sendCtx, stopSend := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); r.sendLoop(sendCtx, cl) }()
	defer func() { stopSend(); wg.Wait() }()

	err = r.script(ctx, cl)
	r.mu.Lock()
	r.res.AudioFrames = r.frames
	r.res.Clears = r.clears
	r.mu.Unlock()
	return r.res, err
}

// sendLoop streams one frame every 20 ms, as a phone line does: speech when a
// line is queued, silence otherwise.
func (r *runner) sendLoop(ctx context.Context, cl *native.Client) {
	frame := media.SamplesPerFrame(native.SampleRate)
	silence := make([]int16, frame)
	t := time.NewTicker(media.FrameDuration)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-cl.Done():
			return
		case <-t.C:
		}
		r.mu.Lock()
		var f []int16
		if len(r.speech) > 0 {
			f = r.speech[0]
			r.speech = r.speech[1:]
		}
		r.mu.Unlock()
		if f == nil {
			f = silence
		}
		if err := cl.SendAudio(f); err != nil {
			return
		}
	}
}

// say synthesises text and queues it for the send loop; it returns when the
// audio has been sent.
func (r *runner) say(ctx context.Context, text string) error {
	var pcm []int16
	err := r.cfg.TTS.Synthesize(ctx, pipeline.TTSRequest{Text: text, SampleRate: native.SampleRate, Voice: r.cfg.Voice}, func(p []int16) error {
		pcm = append(pcm, p...)
		return nil
	})
	if err != nil {
		return fmt.Errorf("synthesising caller line %q: %w", text, err)
	}
	frame := media.SamplesPerFrame(native.SampleRate)
	var frames [][]int16
	for off := 0; off < len(pcm); off += frame {
		f := make([]int16, frame)
		copy(f, pcm[off:min(off+frame, len(pcm))])
		frames = append(frames, f)
	}
	r.mu.Lock()
	r.speech = append(r.speech, frames...)
	r.res.SpeechOnsets = append(r.res.SpeechOnsets, time.Now())
	r.mu.Unlock()
	fmt.Fprintf(r.out, "\n🗣  caller: %s\n", text)
	deadline := time.Now().Add(time.Duration(len(frames)+10) * media.FrameDuration)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		left := len(r.speech)
		r.mu.Unlock()
		if left == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

var errCallEnded = errors.New("call ended")

// idle waits d while still observing (and printing) events, so that events
// following a reply (turn.completed) are reported before the next line.
func (r *runner) idle(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			return
		case e := <-r.evc:
			r.observe(ctx, e)
			if e.Type == "call.ended" {
				r.endSeen = true // the next wait reports it
				return
			}
		}
	}
}

// waitFor consumes events until one of the wanted types arrives (returned), the
// call ends (errCallEnded) or the timeout passes.
func (r *runner) waitFor(ctx context.Context, timeout time.Duration, types ...string) (native.ClientEvent, error) {
	if r.endSeen {
		return native.ClientEvent{}, errCallEnded
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return native.ClientEvent{}, ctx.Err()
		case <-t.C:
			return native.ClientEvent{}, fmt.Errorf("no %s within %s", strings.Join(types, " or "), timeout)
		case e := <-r.evc:
			r.observe(ctx, e)
			if e.Type == "call.ended" {
				return e, errCallEnded
			}
			for _, want := range types {
				if e.Type == want {
					return e, nil
				}
			}
		}
	}
}

// observe records and prints an event.
func (r *runner) observe(ctx context.Context, e native.ClientEvent) {
	r.res.Events = append(r.res.Events, e)
	p := e.Payload
	if r.cfg.Verbose {
		fmt.Fprintf(r.out, "   · #%d %s %v\n", e.Sequence, e.Type, p)
	}
	switch e.Type {
	case "speech.transcribed":
		fmt.Fprintf(r.out, "   recognised: %q (confidence %.2f)\n", p["text"], num(p["confidence"]))
	case "intent.matched":
		fmt.Fprintf(r.out, "   intent:     %v (confidence %.2f)\n", p["intent"], num(p["confidence"]))
	case "tool.called":
		fmt.Fprintf(r.out, "   tool:       %v %s\n", p["name"], compact(p["arguments"]))
	case "tool.completed":
		fmt.Fprintf(r.out, "   tool done:  %v → %v\n", p["name"], p["result"])
	case "agent.response":
		if t, _ := p["text"].(string); t != "" {
			fmt.Fprintf(r.out, "🤖 agent:  %s\n", t)
		}
	case "agent.speech.started":
		r.mu.Lock()
		r.cur = r.cur[:0]
		r.mu.Unlock()
	case "agent.speech.ended", "call.interrupted":
		r.mu.Lock()
		audio := append([]int16(nil), r.cur...)
		r.cur = r.cur[:0]
		r.res.LastAudioAt = append(r.res.LastAudioAt, r.lastAt)
		r.mu.Unlock()
		r.res.Replies = append(r.res.Replies, audio)
		secs := float64(len(audio)) / native.SampleRate
		if e.Type == "call.interrupted" {
			fmt.Fprintf(r.out, "   ✋ interrupted; the caller heard: %q\n", p["played_text"])
		}
		if r.cfg.Transcriber != nil && len(audio) > 0 {
			heard := r.transcribe(ctx, audio)
			r.res.Heard = append(r.res.Heard, heard)
			fmt.Fprintf(r.out, "   🔊 %.1f s of audio, heard as: %q\n", secs, heard)
		} else {
			fmt.Fprintf(r.out, "   🔊 %.1f s of audio\n", secs)
		}
	case "turn.completed":
		if lat, ok := p["latency_ms"].(map[string]any); ok {
			fmt.Fprintf(r.out, "   ⏱  response %.0f ms after the caller stopped (runtime stages: eot %.1f, first_frame %.1f ms)\n",
				num(lat["response"]), num(lat["end_of_turn"]), num(lat["first_frame_out"]))
		}
	case "call.ended":
		r.res.EndReason, _ = p["reason"].(string)
		fmt.Fprintf(r.out, "\n☎  call ended: %s after %.1f s, %v turns\n", p["reason"], num(p["duration_ms"])/1000, p["turns"])
	}
}

func (r *runner) transcribe(ctx context.Context, audio []int16) string {
	var final string
	done := make(chan struct{})
	var once sync.Once
	st, err := r.cfg.Transcriber.NewStream(ctx, pipeline.STTConfig{SampleRate: native.SampleRate, Phrases: r.cfg.Phrases},
		func(res pipeline.STTResult) {
			if res.Kind == pipeline.STTFinal || res.Kind == pipeline.STTError {
				final = res.Text
				once.Do(func() { close(done) })
			}
		})
	if err != nil {
		return "(could not transcribe: " + err.Error() + ")"
	}
	defer st.Close()
	frame := media.SamplesPerFrame(native.SampleRate)
	for off := 0; off < len(audio); off += frame {
		_ = st.Write(audio[off:min(off+frame, len(audio))])
	}
	_ = st.Finalize()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		return "(transcription timed out)"
	}
	return final
}

func (r *runner) script(ctx context.Context, cl *native.Client) error {
	// The agent greets first.
	if _, err := r.waitFor(ctx, r.cfg.ReplyTimeout, "agent.speech.ended"); err != nil {
		return r.ended(err, "greeting")
	}
	for i, line := range r.cfg.Lines {
		if line.BargeIn > 0 {
			if _, err := r.waitFor(ctx, r.cfg.ReplyTimeout, "agent.speech.started"); err != nil {
				return r.ended(err, fmt.Sprintf("line %d", i+1))
			}
			time.Sleep(line.BargeIn)
		} else {
			r.idle(ctx, r.cfg.Pause)
		}
		if err := r.say(ctx, line.Text); err != nil {
			return err
		}
		if i == len(r.cfg.Lines)-1 {
			break
		}
		if _, err := r.waitFor(ctx, r.cfg.ReplyTimeout, "agent.speech.ended"); err != nil {
			return r.ended(err, fmt.Sprintf("reply to line %d", i+1))
		}
	}
	// Let the agent answer the last line and, usually, hang up.
	_, err := r.waitFor(ctx, r.cfg.WaitEnd, "never")
	if errors.Is(err, errCallEnded) {
		return nil
	}
	fmt.Fprintln(r.out, "\n☎  the agent did not hang up; the caller hangs up")
	_ = cl.Hangup()
	_, err = r.waitFor(ctx, 5*time.Second, "never")
	if errors.Is(err, errCallEnded) {
		return nil
	}
	return err
}

func (r *runner) ended(err error, waiting string) error {
	if errors.Is(err, errCallEnded) {
		return fmt.Errorf("the call ended (%s) while the caller waited for the %s", r.res.EndReason, waiting)
	}
	return fmt.Errorf("waiting for the %s: %w", waiting, err)
}

func num(v any) float64 {
	f, _ := v.(float64)
	return f
}

func compact(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}
