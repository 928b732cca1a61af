package native

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-voice/parley/media"
	"github.com/parley-voice/parley/media/codec"
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

// StartRequest is a validated start message plus what the server knows about the peer.
type StartRequest struct {
	Agent      string
	From, To   string
	Metadata   map[string]string
	RemoteAddr string
}

// StartFunc starts a call whose audio goes out through conn. Returning an error
// refuses the call; the error text is shown to the client.
type StartFunc func(ctx context.Context, req StartRequest, conn *Conn) (CallHandle, error)

// RefusalError lets StartFunc pick the close code and error code of a refusal.
type RefusalError struct {
	Code      string // e.g. "unknown_agent", "capacity"
	CloseCode int    // WebSocket close code
	Err       error
}

func (e *RefusalError) Error() string { return e.Err.Error() }
func (e *RefusalError) Unwrap() error { return e.Err }

// Handler serves the native protocol on one HTTP route.
type Handler struct {
	Start StartFunc
	// Authenticate, when set, runs before the upgrade; an error answers 401.
	Authenticate func(r *http.Request) error
	Logger       *slog.Logger
	// Limits; zero values take the defaults in parentheses.
	MaxMessageBytes int64         // largest inbound message (64 KiB)
	StartTimeout    time.Duration // time allowed for the start message (10 s)
	ReadTimeout     time.Duration // silence on the socket that ends the call (30 s)
	WriteTimeout    time.Duration // deadline of each write (5 s)
	PingInterval    time.Duration // keep-alive pings (10 s)
	MaxErrors       int           // protocol errors tolerated before closing (50)
	// CheckOrigin for browser clients; nil allows requests without an Origin
	// header and same-origin requests only.
	CheckOrigin func(r *http.Request) bool
}

func (h *Handler) defaults() {
	if h.Logger == nil {
		h.Logger = slog.Default()
	}
	if h.MaxMessageBytes <= 0 {
		h.MaxMessageBytes = 64 << 10
	}
	if h.StartTimeout <= 0 {
		h.StartTimeout = 10 * time.Second
	}
	if h.ReadTimeout <= 0 {
		h.ReadTimeout = 30 * time.Second
	}
	if h.WriteTimeout <= 0 {
		h.WriteTimeout = 5 * time.Second
	}
	if h.PingInterval <= 0 {
		h.PingInterval = 10 * time.Second
	}
	if h.MaxErrors <= 0 {
		h.MaxErrors = 50
	}
}

// ServeHTTP upgrades the request and runs one call over it.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Defaults go into a copy: requests run concurrently and h is shared.
	hc := *h
	hc.defaults()
	if hc.Authenticate != nil {
		if err := hc.Authenticate(r); err != nil {
			http.Error(w, "unauthorized: "+err.Error(), http.StatusUnauthorized)
			return
		}
	}
	up := websocket.Upgrader{ReadBufferSize: 4096, WriteBufferSize: 4096, CheckOrigin: hc.CheckOrigin}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader already answered with an HTTP error
	}
	log := hc.Logger.With("transport", "websocket", "remote", r.RemoteAddr)
	// No read limit in gorilla: it would answer an oversized message with a bare
	// close 1009 before the client could be told why. readMessage enforces it.
	hc.serve(r.Context(), ws, r.RemoteAddr, log)
}

// errTooBig reports an inbound message over Handler.MaxMessageBytes.
var errTooBig = errors.New("message too big")

// readMessage reads one whole message of at most h.MaxMessageBytes; a larger one
// is not read further and returns errTooBig.
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

func (h *Handler) tooBigText() string {
	return fmt.Sprintf("messages are limited to %d bytes", h.MaxMessageBytes)
}

func (h *Handler) serve(ctx context.Context, ws *websocket.Conn, remote string, log *slog.Logger) {
	defer ws.Close()
	_ = ws.SetReadDeadline(time.Now().Add(h.StartTimeout))
	kind, data, err := h.readMessage(ws)
	if err != nil {
		log.Debug("no start message", "err", err)
		if isTooBig(err) {
			sendError(ws, "message_too_big", h.tooBigText(), h.WriteTimeout)
		}
		closeWith(ws, closeCodeFor(err), "no start message")
		drain(ws)
		return
	}
	if kind != websocket.TextMessage {
		sendError(ws, "protocol_error", "the first message must be a JSON start message, not audio", h.WriteTimeout)
		closeWith(ws, websocket.CloseUnsupportedData, "start message expected")
		drain(ws)
		return
	}
	start, err := ParseControl(data)
	if err == nil && start.Type != TypeStart {
		err = fmt.Errorf("%w: the first message must be \"start\", got %q", ErrProtocol, start.Type)
	}
	if err != nil {
		sendError(ws, "protocol_error", err.Error(), h.WriteTimeout)
		closeWith(ws, websocket.ClosePolicyViolation, "invalid start message")
		drain(ws)
		return
	}
	conn := newConn(ws, log, h.WriteTimeout, h.PingInterval, start.Events)
	call, err := h.Start(ctx, StartRequest{Agent: start.Agent, From: start.From, To: start.To, Metadata: start.Metadata, RemoteAddr: remote}, conn)
	if err != nil {
		conn.abandon()
		code, closeCode := "start_failed", websocket.CloseInternalServerErr
		var re *RefusalError
		if errors.As(err, &re) {
			code, closeCode = re.Code, re.CloseCode
		}
		log.Info("call refused", "agent", start.Agent, "err", err)
		sendError(ws, code, err.Error(), h.WriteTimeout)
		closeWith(ws, closeCode, code)
		drain(ws)
		return
	}
	log = log.With("call_id", call.ID())
	conn.log.Store(log)
	if err := conn.open(startedMsg{Type: TypeStarted, CallID: call.ID(), Agent: start.Agent, SampleRate: SampleRate, Encoding: "audio/l16"}); err != nil {
		call.Hangup("transport_error")
		<-call.Done()
		return
	}
	reason, closed := h.readLoop(ws, conn, call, log)
	call.Hangup(reason)
	<-call.Done()
	if closed {
		drain(ws)
	}
}

// readLoop feeds the call until the client stops, the socket fails, or the call
// ends (its Close shuts the socket). It returns the hang-up reason, and whether it
// closed the connection itself (the client may still be sending).
func (h *Handler) readLoop(ws *websocket.Conn, conn *Conn, call CallHandle, log *slog.Logger) (reason string, closed bool) {
	frame := media.SamplesPerFrame(SampleRate)
	pending := make([]int16, 0, frame*4)
	var odd []byte
	errorsSeen := 0
	extend := func() { _ = ws.SetReadDeadline(time.Now().Add(h.ReadTimeout)) }
	ws.SetPongHandler(func(string) error { extend(); return nil })
	extend()
	for {
		kind, data, err := h.readMessage(ws)
		if err != nil {
			select {
			case <-call.Done():
				return "agent_hangup", false
			default:
			}
			if isTooBig(err) {
				log.Warn("message over the size limit", "limit", h.MaxMessageBytes)
				conn.closeWithError("message_too_big", h.tooBigText(), websocket.CloseMessageTooBig, "message too big")
				return "transport_error", true
			}
			if websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway) {
				return "caller_hangup", false
			}
			log.Debug("reading from client", "err", err)
			return "transport_error", false
		}
		extend()
		switch kind {
		case websocket.BinaryMessage:
			if len(odd) > 0 {
				data = append(odd, data...)
				odd = nil
			}
			if len(data)%2 == 1 {
				odd = append(odd, data[len(data)-1])
				data = data[:len(data)-1]
			}
			pending = codec.DecodeL16LE(pending, data)
			for len(pending) >= frame {
				f := make([]int16, frame)
				copy(f, pending[:frame])
				call.Audio(f)
				pending = append(pending[:0], pending[frame:]...)
			}
		case websocket.TextMessage:
			c, err := ParseControl(data)
			if err == nil && c.Type == TypeStart {
				err = fmt.Errorf("%w: start was already received for this call", ErrProtocol)
			}
			if err != nil {
				errorsSeen++
				if errorsSeen >= h.MaxErrors {
					log.Warn("too many protocol errors", "errors", errorsSeen)
					conn.closeWithError("protocol_error", fmt.Sprintf("%s; too many protocol errors (%d), closing", err, errorsSeen),
						websocket.ClosePolicyViolation, "too many protocol errors")
					return "transport_error", true
				}
				conn.sendErrorQueued("protocol_error", err.Error())
				continue
			}
			switch c.Type {
			case TypeStop:
				return "caller_hangup", false
			case TypeDTMF:
				call.DTMF(c.Digit)
			case TypeMark:
				call.Mark(c.Name)
			case TypeClear:
				// The client dropped its playback buffer; nothing to do server side.
			}
		}
	}
}

func (c *Conn) sendErrorQueued(code, message string) {
	b, _ := jsonMarshal(errorMsg{Type: TypeError, Code: code, Message: message})
	select {
	case c.ctrl <- b:
	default:
		c.droppedEvents.Add(1)
	}
}

func sendError(ws *websocket.Conn, code, message string, timeout time.Duration) {
	_ = ws.SetWriteDeadline(time.Now().Add(timeout))
	_ = ws.WriteJSON(errorMsg{Type: TypeError, Code: code, Message: message})
}

// drainTimeout bounds how long drain waits for the client's close frame.
const drainTimeout = 2 * time.Second

// drain reads and discards what the client still sends after the server closed,
// until its close frame, an error or drainTimeout. Closing a socket with unread
// data resets it, and the reset can destroy the error message and close frame
// on their way to the client.
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

func isTooBig(err error) bool {
	return errors.Is(err, errTooBig) || errors.Is(err, websocket.ErrReadLimit)
}

func closeCodeFor(err error) int {
	if isTooBig(err) {
		return websocket.CloseMessageTooBig
	}
	return websocket.ClosePolicyViolation
}
