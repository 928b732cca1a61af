package telnyx

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-voice/parley/media/internal/carrier"
)

// CallHandle is what the transport needs from a started call: 20 ms frames
// at 16 kHz (the call owns them), DTMF, Mark when a Telnyx mark of Parley's was
// confirmed played, Hangup and Done. It is the same type in media/telnyx,
// media/vonage and media/plivo.
type CallHandle = carrier.CallHandle

// StartRequest is a validated start message plus what the server knows about
// the peer.
type StartRequest struct {
	Agent    string
	From, To string
	// CallID is Telnyx's call_control_id.
	CallID string
	// Metadata holds the custom parameters plus stream_id, call_session_id,
	// client_state and tags (comma-separated) when Telnyx sent them.
	Metadata   map[string]string
	RemoteAddr string
}

// StartFunc starts a call whose audio goes out through conn. Returning an error
// refuses the call: the socket closes with 1011, or with the code of a
// *RefusalError.
type StartFunc func(ctx context.Context, req StartRequest, conn *Conn) (CallHandle, error)

// RefusalError lets StartFunc pick the close code and reason of a refusal. It
// is the same type in media/vonage and media/plivo.
type RefusalError = carrier.RefusalError

// Handler serves Telnyx media streams on one HTTP route (GET, WebSocket).
type Handler struct {
	Start StartFunc
	// Authenticate, when set, runs before the upgrade; an error answers 401.
	Authenticate func(r *http.Request) error
	Logger       *slog.Logger
	// Limits; zero values take the defaults in parentheses.
	MaxMessageBytes int64         // largest inbound message (64 KiB)
	StartTimeout    time.Duration // time allowed for connected and start (10 s)
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
	log = log.With("transport", "telnyx", "remote", r.RemoteAddr)

	start, err := handshake(ws, lim)
	if err != nil {
		log.Info("telnyx stream refused", "err", err)
		carrier.RefuseInvalid(ws, "invalid start", err)
		return
	}
	agent := carrier.AgentFromRequest(r)
	if agent == "" {
		agent = start.Start.CustomParameters["agent"]
	}
	if !carrier.ValidAgent(agent) {
		log.Info("telnyx stream refused: no valid agent", "agent", carrier.Clip(agent))
		carrier.Refuse(ws, websocket.ClosePolicyViolation, fmt.Sprintf("no valid agent id (got %q): use ?agent= on stream_url or a custom parameter \"agent\"", carrier.Clip(agent)))
		return
	}
	log = log.With("agent", agent, "stream_id", start.StreamID, "call_control_id", start.Start.CallControlID)
	conn, err := newConn(ws, start.Start.Format(), lim, log)
	if err != nil {
		carrier.Refuse(ws, websocket.CloseUnsupportedData, err.Error())
		return
	}
	req := StartRequest{Agent: agent, From: start.Start.From, To: start.Start.To, CallID: start.Start.CallControlID,
		Metadata: metadata(start), RemoteAddr: r.RemoteAddr}
	in, _ := carrier.NewInbound(start.Start.Format()) // Format validated by Parse
	ro := newReorderer()
	if start.HasSeq {
		ro.begin(start.SequenceNumber + 1)
	}
	carrier.Run(ws, lim, log, conn.c,
		func() (carrier.CallHandle, error) { return h.Start(r.Context(), req, conn) },
		func(call carrier.CallHandle) carrier.Dispatch {
			return func(kind int, data []byte) (string, error) {
				return dispatch(kind, data, conn, call, in, ro, log)
			}
		})
}

// handshake reads connected (optional) and start within the start timeout.
func handshake(ws *websocket.Conn, lim carrier.Limits) (Message, error) {
	_ = ws.SetReadDeadline(time.Now().Add(lim.StartTimeout))
	for range 2 {
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
		switch m.Event {
		case EventConnected:
			continue
		case EventStart:
			return m, nil
		}
		return Message{}, fmt.Errorf("%w: expected connected or start first, got %q", ErrProtocol, m.Event)
	}
	return Message{}, fmt.Errorf("%w: no start after connected", ErrProtocol)
}

func metadata(m Message) map[string]string {
	md := maps.Clone(m.Start.CustomParameters)
	if md == nil {
		md = map[string]string{}
	}
	set := func(k, v string) {
		if v != "" {
			md[k] = v
		}
	}
	set("stream_id", m.StreamID)
	set("call_session_id", m.Start.CallSessionID)
	set("client_state", m.Start.ClientState)
	if len(m.Start.Tags) > 0 {
		set("tags", strings.Join(m.Start.Tags, ","))
	}
	return md
}

// dispatch handles one message after start.
func dispatch(kind int, data []byte, conn *Conn, call carrier.CallHandle, in *carrier.Inbound, ro *reorderer, log *slog.Logger) (string, error) {
	if kind != websocket.TextMessage {
		return "", fmt.Errorf("%w: Telnyx sends JSON text frames; got a binary frame of %d bytes", ErrProtocol, len(data))
	}
	m, err := Parse(data)
	if err != nil {
		return "", err
	}
	toCall := func(payload []byte) { in.Write(payload, call.Audio) }
	if m.Event == EventMedia {
		if m.Media.Track != "" && m.Media.Track != "inbound" {
			if m.HasSeq {
				ro.push(m.SequenceNumber, false, nil, toCall)
			}
			return "", nil // the agent's own audio (both_tracks): not for the call
		}
		if !m.HasSeq {
			toCall(m.Media.Payload)
			return "", nil
		}
		if !ro.push(m.SequenceNumber, true, m.Media.Payload, toCall) {
			log.Debug("late media frame dropped", "sequence_number", m.SequenceNumber)
		}
		return "", nil
	}
	if m.HasSeq {
		ro.push(m.SequenceNumber, false, nil, toCall)
	}
	switch m.Event {
	case EventStop:
		return carrier.ReasonCallerHangup, nil
	case EventDTMF:
		call.DTMF(m.DTMF)
	case EventMark:
		if conn.c.Played(m.Mark) {
			call.Mark(m.Mark)
		}
	case EventError:
		log.Warn("telnyx reported an error", "detail", m.Error)
	case EventStart, EventConnected:
		return "", fmt.Errorf("%w: %s received twice", ErrProtocol, m.Event)
	}
	return "", nil
}
