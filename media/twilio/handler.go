package twilio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-voice/parley/media"
	"github.com/parley-voice/parley/media/codec"
	"github.com/parley-voice/parley/media/resample"
)

// CallHandle is what the transport needs from a started call.
type CallHandle interface {
	ID() string
	Audio(pcm []int16)
	DTMF(digit string)
	Mark(name string)
	Hangup(reason string)
	Done() <-chan struct{}
}

// StartRequest is a validated start message plus what the server knows about the
// peer. Agent, From and To come from the stream's custom parameters ("agent",
// "from", "to"), which the TwiML of VoiceHandler sets.
type StartRequest struct {
	Agent            string
	From, To         string
	CallSid          string
	StreamSid        string
	AccountSid       string
	CustomParameters map[string]string
	RemoteAddr       string
	// SampleRate is the rate of the call's audio, both directions (Handler.SampleRate).
	SampleRate int
}

// StartFunc starts a call whose audio goes out through conn. Returning an error
// refuses the call: the stream is closed and Twilio goes on with the TwiML after
// <Connect> (usually: hangs up).
type StartFunc func(ctx context.Context, req StartRequest, conn *Conn) (CallHandle, error)

// RefusalError lets StartFunc pick the close code of a refusal.
type RefusalError struct {
	Code      string // e.g. "unknown_agent", "capacity"
	CloseCode int    // WebSocket close code
	Err       error
}

func (e *RefusalError) Error() string { return e.Err.Error() }
func (e *RefusalError) Unwrap() error { return e.Err }

// End reasons the handler hands to CallHandle.Hangup.
const (
	ReasonCallerHangup   = "caller_hangup"   // Twilio sent stop or closed the socket cleanly
	ReasonTransportError = "transport_error" // the connection dropped or broke the protocol
	ReasonTimeout        = "timeout"         // nothing arrived for ReadTimeout
	ReasonAgentHangup    = "agent_hangup"    // the call ended first
)

// Handler serves the Twilio media WebSocket (GET, upgraded) on one route.
type Handler struct {
	Start StartFunc
	// Authenticate runs before the upgrade (normally Validator.ValidateUpgrade);
	// an error answers 403.
	Authenticate func(r *http.Request) error
	Logger       *slog.Logger
	// SampleRate of the call's audio (16000): inbound μ-law is decoded and
	// resampled to it, and WriteFrame takes it.
	SampleRate int
	// Limits; zero values take the defaults in parentheses.
	MaxMessageBytes int64         // largest inbound message (64 KiB)
	StartTimeout    time.Duration // time allowed for connected + start (10 s)
	ReadTimeout     time.Duration // silence on the socket that ends the call (10 s; Twilio sends media every 20 ms)
	WriteTimeout    time.Duration // deadline of each write (5 s)
	MaxErrors       int           // protocol errors tolerated before closing (50)
	MarkEvery       int           // frames of agent audio between marks (5 = 100 ms)
	CloseWait       time.Duration // how long Close waits for buffered audio to play (1 s)
}

func (h *Handler) defaults() {
	if h.Logger == nil {
		h.Logger = slog.Default()
	}
	if h.SampleRate <= 0 {
		h.SampleRate = 16000
	}
	if h.MaxMessageBytes <= 0 {
		h.MaxMessageBytes = 64 << 10
	}
	if h.StartTimeout <= 0 {
		h.StartTimeout = 10 * time.Second
	}
	if h.ReadTimeout <= 0 {
		h.ReadTimeout = 10 * time.Second
	}
	if h.WriteTimeout <= 0 {
		h.WriteTimeout = 5 * time.Second
	}
	if h.MaxErrors <= 0 {
		h.MaxErrors = 50
	}
	if h.MarkEvery <= 0 {
		h.MarkEvery = 5
	}
	if h.CloseWait <= 0 {
		h.CloseWait = time.Second
	}
}

// ServeHTTP authenticates and upgrades the request and runs one call over it.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hc := *h // defaults go into a copy: h is shared by concurrent requests
	hc.defaults()
	log := hc.Logger.With("transport", "twilio", "remote", r.RemoteAddr)
	if hc.Authenticate != nil {
		if err := hc.Authenticate(r); err != nil {
			log.Warn("twilio media stream refused", "err", err)
			http.Error(w, "forbidden: "+err.Error(), http.StatusForbidden)
			return
		}
	}
	// Twilio sends no Origin header; the signature is the authentication.
	up := websocket.Upgrader{ReadBufferSize: 4096, WriteBufferSize: 4096}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader already answered with an HTTP error
	}
	hc.serve(r.Context(), ws, r.RemoteAddr, log)
}

// errTooBig reports an inbound message over Handler.MaxMessageBytes.
var errTooBig = errors.New("message too big")

// readMessage reads one whole message of at most MaxMessageBytes; a larger one is
// not read further and returns errTooBig.
func (h *Handler) readMessage(ws *websocket.Conn) (int, []byte, error) {
	kind, r, err := ws.NextReader()
	if err != nil {
		return kind, nil, err
	}
	data, err := io.ReadAll(io.LimitReader(r, h.MaxMessageBytes+1))
	if err != nil {
		return kind, nil, err
	}
	if int64(len(data)) > h.MaxMessageBytes {
		return kind, nil, errTooBig
	}
	return kind, data, nil
}

// awaitStart reads up to the start message: connected may come first, anything
// else is a protocol error.
func (h *Handler) awaitStart(ws *websocket.Conn) (*Message, error) {
	_ = ws.SetReadDeadline(time.Now().Add(h.StartTimeout))
	connected := false
	for {
		kind, data, err := h.readMessage(ws)
		if err != nil {
			return nil, err
		}
		if kind != websocket.TextMessage {
			return nil, fmt.Errorf("%w: binary message before start; Twilio sends JSON text frames", ErrProtocol)
		}
		m, err := Parse(data)
		if err != nil {
			return nil, err
		}
		switch m.Event {
		case EventConnected:
			if connected {
				return nil, fmt.Errorf("%w: connected received twice", ErrProtocol)
			}
			connected = true
		case EventStart:
			return &m, nil
		default:
			return nil, fmt.Errorf("%w: %s before start", ErrProtocol, m.Event)
		}
	}
}

func (h *Handler) serve(ctx context.Context, ws *websocket.Conn, remote string, log *slog.Logger) {
	defer ws.Close()
	m, err := h.awaitStart(ws)
	if err != nil {
		log.Warn("twilio media stream ended before start", "err", err)
		closeWith(ws, closeCodeFor(err), closeText(err))
		drain(ws)
		return
	}
	st := m.Start
	p := st.CustomParameters
	req := StartRequest{Agent: p["agent"], From: p["from"], To: p["to"], CallSid: st.CallSid, StreamSid: st.StreamSid,
		AccountSid: st.AccountSid, CustomParameters: p, RemoteAddr: remote, SampleRate: h.SampleRate}
	log = log.With("call_sid", st.CallSid, "stream_sid", st.StreamSid)
	if req.Agent == "" {
		log.Warn("twilio start without an agent parameter; answer the call with this server's TwiML endpoint")
		closeWith(ws, websocket.ClosePolicyViolation, "no agent parameter")
		drain(ws)
		return
	}
	conn, err := newConn(ws, st.StreamSid, h.SampleRate, log, h)
	if err != nil {
		log.Error("twilio media stream", "err", err)
		closeWith(ws, websocket.CloseInternalServerErr, "internal error")
		return
	}
	call, err := h.Start(ctx, req, conn)
	if err != nil {
		closeCode := websocket.CloseInternalServerErr
		code := "start_failed"
		var re *RefusalError
		if errors.As(err, &re) {
			code, closeCode = re.Code, re.CloseCode
		}
		log.Info("twilio call refused", "agent", req.Agent, "code", code, "err", err)
		closeWith(ws, closeCode, code)
		drain(ws)
		return
	}
	log = log.With("call_id", call.ID())
	conn.log.Store(log)
	reason, closed := h.readLoop(ws, conn, call, st.StreamSid, log)
	conn.readStopped()
	call.Hangup(reason)
	<-call.Done()
	if closed {
		drain(ws)
	}
}

// readLoop feeds the call until Twilio stops, the socket fails, or the call ends
// (its Close shuts the socket). It returns the hang-up reason, and whether it
// closed the connection itself (Twilio may still be sending).
func (h *Handler) readLoop(ws *websocket.Conn, conn *Conn, call CallHandle, streamSid string, log *slog.Logger) (reason string, closed bool) {
	up, err := resample.New(WireRate, h.SampleRate)
	if err != nil {
		log.Error("twilio inbound audio", "err", err)
		return ReasonTransportError, false
	}
	frame := media.SamplesPerFrame(h.SampleRate)
	var pcm8, pending []int16
	errorsSeen := 0
	extend := func() { _ = ws.SetReadDeadline(time.Now().Add(h.ReadTimeout)) }
	extend()
	for {
		kind, data, err := h.readMessage(ws)
		if err != nil {
			select {
			case <-call.Done():
				return ReasonAgentHangup, false
			default:
			}
			var ne net.Error
			switch {
			case errors.Is(err, errTooBig):
				log.Warn("twilio message over the size limit", "limit", h.MaxMessageBytes)
				closeWith(ws, websocket.CloseMessageTooBig, "message too big")
				return ReasonTransportError, true
			case websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway):
				return ReasonCallerHangup, false
			case errors.As(err, &ne) && ne.Timeout():
				log.Warn("twilio media stream silent; ending the call", "after", h.ReadTimeout)
				closeWith(ws, websocket.ClosePolicyViolation, "read timeout")
				return ReasonTimeout, true
			}
			log.Info("twilio media stream dropped", "err", err)
			return ReasonTransportError, false
		}
		extend()
		var m Message
		if kind != websocket.TextMessage {
			err = fmt.Errorf("%w: binary message; Twilio sends JSON text frames", ErrProtocol)
		} else {
			m, err = Parse(data)
		}
		if err == nil && m.StreamSid != streamSid {
			err = fmt.Errorf("%w: %s for stream %q on stream %q", ErrProtocol, m.Event, clip(m.StreamSid), streamSid)
		}
		if err == nil && (m.Event == EventStart || m.Event == EventConnected) {
			err = fmt.Errorf("%w: %s after start", ErrProtocol, m.Event)
		}
		if err != nil {
			errorsSeen++
			if errorsSeen == 1 || errors.Is(err, ErrUnknownEvent) {
				log.Warn("twilio message ignored", "err", err, "errors", errorsSeen)
			} else {
				log.Debug("twilio message ignored", "err", err, "errors", errorsSeen)
			}
			if errorsSeen >= h.MaxErrors {
				log.Warn("too many protocol errors on the twilio stream; closing", "errors", errorsSeen)
				closeWith(ws, websocket.ClosePolicyViolation, "too many protocol errors")
				return ReasonTransportError, true
			}
			continue
		}
		switch m.Event {
		case EventMedia:
			if m.Media.Track != "inbound" {
				continue
			}
			pcm8 = codec.DecodeMulaw(pcm8[:0], m.Media.Audio)
			pending = up.Process(pending, pcm8)
			for len(pending) >= frame {
				f := make([]int16, frame)
				copy(f, pending[:frame])
				call.Audio(f)
				pending = append(pending[:0], pending[frame:]...)
			}
		case EventDTMF:
			call.DTMF(m.DTMF.Digit)
		case EventMark:
			if conn.onMark(m.Mark.Name) {
				call.Mark(m.Mark.Name)
			}
		case EventStop:
			return ReasonCallerHangup, false
		}
	}
}

// drainTimeout bounds how long drain waits for the peer's close frame.
const drainTimeout = 2 * time.Second

// drain reads and discards what the peer still sends after the server closed,
// until its close frame, an error or drainTimeout, so that closing the socket
// with unread data does not reset it and destroy the close frame.
func drain(ws *websocket.Conn) {
	_ = ws.SetReadDeadline(time.Now().Add(drainTimeout))
	for {
		_, r, err := ws.NextReader()
		if err != nil {
			return
		}
		if _, err := io.Copy(io.Discard, r); err != nil {
			return
		}
	}
}

func closeWith(ws *websocket.Conn, code int, text string) {
	_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(time.Second))
}

func closeCodeFor(err error) int {
	if errors.Is(err, errTooBig) {
		return websocket.CloseMessageTooBig
	}
	return websocket.ClosePolicyViolation
}

// closeText fits an error into a close frame (at most 123 bytes of reason).
func closeText(err error) string {
	s := err.Error()
	if len(s) > 120 {
		s = clip(s[:100])
	}
	return s
}
