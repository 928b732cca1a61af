package plivo

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-voice/parley/media/internal/carrier"
)

// CallHandle is what the transport needs from a started call: 20 ms frames
// at 16 kHz (the call owns them), DTMF, Mark when a Plivo checkpoint of Parley's was
// confirmed played, Hangup and Done. It is the same type in media/telnyx,
// media/vonage and media/plivo.
type CallHandle = carrier.CallHandle

// StartRequest is a validated start message plus what the server knows about
// the peer.
type StartRequest struct {
	Agent string
	// From and To come from the extraHeaders entries "from" and "to": Plivo's
	// start message does not carry the numbers.
	From, To string
	// CallID is Plivo's callId.
	CallID string
	// Metadata holds the extraHeaders plus stream_id and account_id.
	Metadata   map[string]string
	RemoteAddr string
}

// StartFunc starts a call whose audio goes out through conn. Returning an error
// refuses the call: the socket closes with 1011, or with the code of a
// *RefusalError.
type StartFunc func(ctx context.Context, req StartRequest, conn *Conn) (CallHandle, error)

// RefusalError lets StartFunc pick the close code and reason of a refusal. It
// is the same type in media/telnyx and media/vonage.
type RefusalError = carrier.RefusalError

// Handler serves Plivo audio streams on one HTTP route (GET, WebSocket).
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
	log = log.With("transport", "plivo", "remote", r.RemoteAddr)

	start, err := handshake(ws, lim)
	if err != nil {
		log.Info("plivo stream refused", "err", err)
		carrier.RefuseInvalid(ws, "invalid start", err)
		return
	}
	agent := carrier.AgentFromRequest(r)
	if agent == "" {
		agent = start.ExtraHeaders["agent"]
	}
	if !carrier.ValidAgent(agent) {
		log.Info("plivo stream refused: no valid agent", "agent", carrier.Clip(agent))
		carrier.Refuse(ws, websocket.ClosePolicyViolation, fmt.Sprintf("no valid agent id (got %q): use ?agent= on the stream URL or extraHeaders agent=…", carrier.Clip(agent)))
		return
	}
	log = log.With("agent", agent, "stream_id", start.StreamID, "plivo_call_id", start.Start.CallID)
	conn, err := newConn(ws, start, lim, log)
	if err != nil {
		carrier.Refuse(ws, websocket.CloseUnsupportedData, err.Error())
		return
	}
	md := maps.Clone(start.ExtraHeaders)
	if md == nil {
		md = map[string]string{}
	}
	md["stream_id"] = start.StreamID
	if start.Start.AccountID != "" {
		md["account_id"] = start.Start.AccountID
	}
	req := StartRequest{Agent: agent, From: start.ExtraHeaders["from"], To: start.ExtraHeaders["to"], CallID: start.Start.CallID,
		Metadata: md, RemoteAddr: r.RemoteAddr}
	in, _ := carrier.NewInbound(start.Start.Format()) // validated by Parse
	carrier.Run(ws, lim, log, conn.c,
		func() (carrier.CallHandle, error) { return h.Start(r.Context(), req, conn) },
		func(call carrier.CallHandle) carrier.Dispatch {
			return func(kind int, data []byte) (string, error) { return dispatch(kind, data, conn, call, in, log) }
		})
}

// handshake reads the start message within the start timeout.
func handshake(ws *websocket.Conn, lim carrier.Limits) (Message, error) {
	_ = ws.SetReadDeadline(time.Now().Add(lim.StartTimeout))
	kind, data, err := carrier.ReadMessage(ws, lim.MaxMessageBytes)
	if err != nil {
		return Message{}, fmt.Errorf("reading the start message: %w", err)
	}
	if kind != websocket.TextMessage {
		return Message{}, fmt.Errorf("%w: binary message before start", ErrProtocol)
	}
	m, err := Parse(data)
	if err != nil {
		return Message{}, err
	}
	if m.Event != EventStart {
		return Message{}, fmt.Errorf("%w: expected start first, got %q", ErrProtocol, m.Event)
	}
	return m, nil
}

// dispatch handles one message after start.
func dispatch(kind int, data []byte, conn *Conn, call carrier.CallHandle, in *carrier.Inbound, log *slog.Logger) (string, error) {
	if kind != websocket.TextMessage {
		return "", fmt.Errorf("%w: Plivo sends JSON text frames; got a binary frame of %d bytes", ErrProtocol, len(data))
	}
	m, err := Parse(data)
	if err != nil {
		return "", err
	}
	switch m.Event {
	case EventMedia:
		if m.Media.Track == "" || m.Media.Track == "inbound" {
			in.Write(m.Media.Payload, call.Audio)
		}
	case EventDTMF:
		call.DTMF(m.Digit)
	case EventPlayedStream:
		if conn.c.Played(m.Name) {
			call.Mark(m.Name)
		}
	case EventClearedAudio:
		log.Debug("plivo cleared its playback buffer")
	case EventStop:
		return carrier.ReasonCallerHangup, nil
	case EventStart:
		return "", fmt.Errorf("%w: start received twice", ErrProtocol)
	}
	return "", nil
}
