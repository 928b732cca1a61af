package vonage

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-voice/parley/media/internal/carrier"
)

// CallHandle is what the transport needs from a started call: 20 ms frames
// at 16 kHz (the call owns them), DTMF, Mark when a Vonage notify of Parley's was
// confirmed played, Hangup and Done. It is the same type in media/telnyx,
// media/vonage and media/plivo.
type CallHandle = carrier.CallHandle

// StartRequest is a validated websocket:connected message plus what the server
// knows about the peer.
type StartRequest struct {
	Agent    string
	From, To string
	// CallID is the "uuid" NCCO header (Vonage's call uuid), when set.
	CallID string
	// Metadata holds every NCCO header, plus "content-type".
	Metadata   map[string]string
	RemoteAddr string
}

// StartFunc starts a call whose audio goes out through conn. Returning an error
// refuses the call: the socket closes with 1011, or with the code of a
// *RefusalError.
type StartFunc func(ctx context.Context, req StartRequest, conn *Conn) (CallHandle, error)

// RefusalError lets StartFunc pick the close code and reason of a refusal. It
// is the same type in media/telnyx and media/plivo.
type RefusalError = carrier.RefusalError

// Handler serves Vonage WebSocket calls on one HTTP route (GET, WebSocket).
type Handler struct {
	Start StartFunc
	// Authenticate, when set, runs before the upgrade; an error answers 401.
	Authenticate func(r *http.Request) error
	Logger       *slog.Logger
	// Limits; zero values take the defaults in parentheses.
	MaxMessageBytes int64         // largest inbound message (64 KiB)
	StartTimeout    time.Duration // time allowed for websocket:connected (10 s)
	ReadTimeout     time.Duration // silence on the socket that ends the call (30 s)
	WriteTimeout    time.Duration // deadline of each write (5 s)
	PingInterval    time.Duration // keep-alive pings (10 s)
	MaxErrors       int           // protocol errors tolerated before closing (50)
}

func (h *Handler) limits() carrier.Limits {
	return carrier.Limits{MaxMessageBytes: h.MaxMessageBytes, StartTimeout: h.StartTimeout, ReadTimeout: h.ReadTimeout,
		WriteTimeout: h.WriteTimeout, PingInterval: h.PingInterval, MaxErrors: h.MaxErrors}.WithDefaults()
}

// ServeHTTP upgrades the request and runs one call over it.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	lim := h.limits()
	log := h.Logger
	if log == nil {
		log = slog.Default()
	}
	ws := carrier.Upgrade(w, r, h.Authenticate)
	if ws == nil {
		return
	}
	defer ws.Close()
	log = log.With("transport", "vonage", "remote", r.RemoteAddr)

	first, err := handshake(ws, lim)
	if err != nil {
		log.Info("vonage websocket refused", "err", err)
		carrier.RefuseInvalid(ws, "invalid websocket:connected", err)
		return
	}
	agent := carrier.AgentFromRequest(r)
	if agent == "" {
		agent = first.Headers["agent"]
	}
	if !carrier.ValidAgent(agent) {
		log.Info("vonage websocket refused: no valid agent", "agent", carrier.Clip(agent))
		carrier.Refuse(ws, websocket.ClosePolicyViolation, fmt.Sprintf("no valid agent id (got %q): use ?agent= on the uri or an \"agent\" header", carrier.Clip(agent)))
		return
	}
	log = log.With("agent", agent, "content_type", first.ContentType)
	conn, err := newConn(ws, first.Format, lim, log)
	if err != nil {
		carrier.Refuse(ws, websocket.CloseUnsupportedData, err.Error())
		return
	}
	md := map[string]string{"content-type": first.ContentType}
	for k, v := range first.Headers {
		md[k] = v
	}
	req := StartRequest{Agent: agent, From: first.Headers["from"], To: first.Headers["to"], CallID: first.Headers["uuid"],
		Metadata: md, RemoteAddr: r.RemoteAddr}
	in, _ := carrier.NewInbound(first.Format) // validated by ParseContentType
	carrier.Run(ws, lim, log, conn.c,
		func() (carrier.CallHandle, error) { return h.Start(r.Context(), req, conn) },
		func(call carrier.CallHandle) carrier.Dispatch {
			return func(kind int, data []byte) (string, error) { return dispatch(kind, data, conn, call, in, log) }
		})
}

// handshake reads websocket:connected within the start timeout.
func handshake(ws *websocket.Conn, lim carrier.Limits) (Message, error) {
	_ = ws.SetReadDeadline(time.Now().Add(lim.StartTimeout))
	kind, data, err := carrier.ReadMessage(ws, lim.MaxMessageBytes)
	if err != nil {
		return Message{}, fmt.Errorf("reading websocket:connected: %w", err)
	}
	if kind != websocket.TextMessage {
		return Message{}, fmt.Errorf("%w: audio before websocket:connected", ErrProtocol)
	}
	m, err := Parse(data)
	if err != nil {
		return Message{}, err
	}
	if m.Event != EventConnected {
		return Message{}, fmt.Errorf("%w: expected websocket:connected first, got %q", ErrProtocol, m.Event)
	}
	return m, nil
}

// dispatch handles one message after websocket:connected: binary frames are
// audio, text frames events.
func dispatch(kind int, data []byte, conn *Conn, call carrier.CallHandle, in *carrier.Inbound, log *slog.Logger) (string, error) {
	if kind == websocket.BinaryMessage {
		in.Write(data, call.Audio)
		return "", nil
	}
	m, err := Parse(data)
	if err != nil {
		return "", err
	}
	switch m.Event {
	case EventDTMF:
		call.DTMF(m.Digit)
	case EventNotify:
		if m.Name != "" && conn.c.Played(m.Name) {
			call.Mark(m.Name)
		}
	case EventCleared:
		log.Debug("vonage cleared its playback buffer")
	case EventConnected:
		return "", fmt.Errorf("%w: websocket:connected received twice", ErrProtocol)
	}
	return "", nil
}
