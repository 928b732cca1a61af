// Package call implements the call actor: one goroutine that owns everything about
// one call (state machine, conversation history, turn timeline, provider streams)
// and turns transport input into a spoken conversation and normalized events.
package call

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/looplab/fsm"
	"go.opentelemetry.io/otel/trace"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/media/pacing"
	"github.com/parley-voice/parley/media/vad"
	"github.com/parley-voice/parley/pipeline"
	"github.com/parley-voice/parley/plugins"
	"github.com/parley-voice/parley/runtime/events"
)

// Agent is a provisioned agent: its validated config and the providers and tools
// built from it. One Agent serves many calls; it must be safe for concurrent use.
type Agent struct {
	Config *agents.Config
	// Version identifies this provisioned version of the agent (the server's
	// agent table sets it); reported in call.started as agent_version.
	Version string
	STT     pipeline.STT
	TTS     pipeline.TTS
	// NewLLM returns the reply generator for one call.
	NewLLM func(vars map[string]string) pipeline.LLM
	Tools  *plugins.Toolset
	// Phrases the caller is expected to say, for grammar-based recognisers.
	Phrases []string
	// CallStart, when set, returns per-call variables for a call about to
	// start (the agent's call-start webhook). The server calls it before
	// call.Start, outside its locks; ctx bounds it.
	CallStart func(ctx context.Context, p Params) (map[string]string, error)
}

// Conn is what a call needs from its transport. WriteFrame is called only from
// the call's player goroutine; the other methods from the actor goroutine. The
// transport serialises writes to its socket.
type Conn interface {
	// WriteFrame sends one 20 ms frame of agent audio (PCM16 at Params.SampleRate).
	WriteFrame(pcm []int16) error
	// Clear tells the far end to drop agent audio it has buffered (barge-in).
	Clear() error
	// Close ends the media connection after the call ended; reason is one of the
	// call.ended reasons. Idempotent.
	Close(reason string) error
}

// PlaybackTracker is optionally implemented by a Conn whose far end buffers
// the agent's audio and reports what it has played (a carrier's marks).
// ClearedUnheard returns how many samples, at Params.SampleRate, that were
// written with WriteFrame before the last Clear were dropped by that Clear
// without reaching the caller. A barge-in keeps in the history only what the
// caller heard, so those samples count as not played.
type PlaybackTracker interface {
	ClearedUnheard() int
}

// Notifier is optionally implemented by a Conn that forwards call events to the
// far end (the native WebSocket protocol sends transcripts to its client).
type Notifier interface {
	Notify(e *events.Event)
}

// Params describe a new call.
type Params struct {
	// CallID is generated when empty.
	CallID     string
	Transport  string
	From, To   string
	SampleRate int
	// Bandwidth is the highest frequency the caller's audio carries, in Hz:
	// 4000 for phone transports, whose 8 kHz audio is converted to
	// SampleRate; 0 means the full band. The STT adapts to it.
	Bandwidth int
	// Metadata is copied into call.started (custom parameters from the transport).
	Metadata map[string]string
	// Vars are per-call variables for prompt templates. Start puts them over
	// the agent's declared defaults and sets the built-ins (see
	// agents.Config.CallVars) before it fills the system prompt and greeting.
	Vars map[string]string
	// CallStartErr is why the agent's call-start webhook gave no variables; the
	// call goes on with the defaults and reports it as provider.error with stage
	// "call_start". It must not contain secrets.
	CallStartErr error
}

// Options tune the actor; zero values take defaults.
type Options struct {
	Logger *slog.Logger
	// Now is the clock; tests may replace it.
	Now func() time.Time
	// MailboxAudio bounds queued inbound frames (default 250 = 5 s).
	MailboxAudio int
	// MaxToolRounds bounds LLM → tools → LLM loops per turn (default 5).
	MaxToolRounds int
	// MaxToolResult caps a tool result fed back to the LLM (default 16 KiB).
	MaxToolResult int
	// PlayerLead is how many frames the player may write ahead of real time.
	PlayerLead int
	// OnEnd is called once from the actor goroutine after call.ended is published.
	OnEnd func(*Call)
	// Tracer, when set, traces the call: a span for the call, each turn,
	// provider request and tool call (trace.go). Nil: no spans.
	Tracer trace.Tracer
}

// End reasons carried by call.ended.
const (
	ReasonCallerHangup   = "caller_hangup"
	ReasonAgentHangup    = "agent_hangup"
	ReasonTransferred    = "transferred"
	ReasonTransportError = "transport_error"
	ReasonSilence        = "silence_timeout"
	ReasonMaxDuration    = "max_duration"
	ReasonServerShutdown = "server_shutdown"
	ReasonProviderError  = "provider_error"
	ReasonWatchdog       = "watchdog"
)

// Call is a live call. Its exported methods are safe to call from any goroutine
// and never block (except Wait).
type Call struct {
	id     string
	agent  *Agent
	cfg    *agents.Config
	params Params
	conn   Conn
	bus    *events.Bus
	opts   Options
	log    *slog.Logger
	now    func() time.Time

	mb     *mailbox
	done   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine this call starts
	ended  atomic.Bool
	// turnNo mirrors turns for log lines written from any goroutine (the
	// "turn" attribute of c.log).
	turnNo atomic.Int64

	// Everything below is owned by the actor goroutine.
	fsm        *fsm.FSM
	seq        uint64
	started    time.Time
	vad        *vad.Detector
	stt        pipeline.STTStream
	llm        pipeline.LLM
	player     *pacing.Player
	tts        *ttsWorker
	history    []pipeline.Message
	turn       turnState
	reply      *reply
	gen        uint64
	turns      int
	transcript []transcriptLine
	preroll    prerollRing
	timers     timerSet
	lastHeard  time.Time
	reprompts  int
	endReason  string
	stats      callStats
	llmMu      sync.Mutex // one Generate at a time: LLM sessions keep per-call state
	sid        uint64     // last sentence id; never reused within a call
	turnTL     pipeline.Timeline
	trc        callTrace // tracing state (trace.go)
}

type transcriptLine struct {
	Role        string  `json:"role"`
	Text        string  `json:"text"`
	AtMS        float64 `json:"at_ms"`
	Interrupted bool    `json:"interrupted,omitempty"`
}

type callStats struct {
	interruptions      int
	falseInterruptions int
	budgetMisses       int
	watchdogs          int
	responseMS         []float64
}

// ID returns the call id.
func (c *Call) ID() string { return c.id }

// AgentID returns the id of the agent serving the call.
func (c *Call) AgentID() string { return c.cfg.ID }

// Done is closed when the call has ended and all its goroutines have stopped.
func (c *Call) Done() <-chan struct{} { return c.done }

// Wait blocks until the call has ended and all its goroutines have stopped.
func (c *Call) Wait() { <-c.done }

// Audio hands the actor one inbound 20 ms frame of PCM16 at Params.SampleRate.
// The call takes ownership of pcm. It never blocks; frames that do not fit in the
// mailbox are dropped and counted.
func (c *Call) Audio(pcm []int16) { c.mb.post(msg{kind: msgAudio, pcm: pcm, at: c.now()}) }

// DTMF reports a key press from the caller.
func (c *Call) DTMF(digit string) { c.mb.post(msg{kind: msgDTMF, str: digit}) }

// Mark reports that the far end has played agent audio up to a named mark. The
// native protocol paces audio in real time, so what was written is what was
// played and barge-in truncation uses the player's own progress: the actor is
// not woken for marks. Carriers that buffer audio (Twilio) will need them.
func (c *Call) Mark(name string) {}

// Hangup ends the call from outside (caller hung up, transport failed, shutdown).
func (c *Call) Hangup(reason string) { c.mb.post(msg{kind: msgHangup, str: reason}) }

// DroppedFrames reports inbound frames dropped because the actor fell behind.
func (c *Call) DroppedFrames() uint64 { return c.mb.droppedAudio.Load() }

// State returns the current FSM state. It is for tests and the admin API; it
// reads a value owned by the actor under the FSM's own lock.
func (c *Call) State() string { return c.fsm.Current() }

// turnHandler adds the "turn" attribute to every call log line: the
// caller's current turn when the line is written (an attribute given to
// Logger.With would be resolved once, when the logger is made).
type turnHandler struct {
	slog.Handler
	c *Call
}

func (h turnHandler) Handle(ctx context.Context, r slog.Record) error {
	r.AddAttrs(slog.Int64("turn", h.c.turnNo.Load()))
	return h.Handler.Handle(ctx, r)
}

func (h turnHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return turnHandler{h.Handler.WithAttrs(as), h.c}
}

func (h turnHandler) WithGroup(name string) slog.Handler {
	return turnHandler{h.Handler.WithGroup(name), h.c}
}
