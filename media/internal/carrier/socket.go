package carrier

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"time"

	"github.com/gorilla/websocket"
)

// End reasons a transport hands to Hangup.
const (
	ReasonCallerHangup   = "caller_hangup"
	ReasonAgentHangup    = "agent_hangup"
	ReasonTransportError = "transport_error"
	ReasonTimeout        = "timeout"
)

// ErrTooBig reports an inbound message over Limits.MaxMessageBytes.
var ErrTooBig = errors.New("message too big")

// ErrProtocol marks an inbound message that breaks a carrier's protocol.
var ErrProtocol = errors.New("protocol error")

// Limits bound one call's socket; zero values take the defaults in parentheses.
type Limits struct {
	MaxMessageBytes int64         // largest inbound message (64 KiB)
	StartTimeout    time.Duration // time allowed for the handshake messages (10 s)
	ReadTimeout     time.Duration // silence on the socket that ends the call (30 s)
	WriteTimeout    time.Duration // deadline of each write (5 s)
	PingInterval    time.Duration // keep-alive pings (10 s)
	MaxErrors       int           // protocol errors tolerated before closing (50)
}

// WithDefaults returns l with every zero value replaced by its default.
func (l Limits) WithDefaults() Limits {
	if l.MaxMessageBytes <= 0 {
		l.MaxMessageBytes = 64 << 10
	}
	if l.StartTimeout <= 0 {
		l.StartTimeout = 10 * time.Second
	}
	if l.ReadTimeout <= 0 {
		l.ReadTimeout = 30 * time.Second
	}
	if l.WriteTimeout <= 0 {
		l.WriteTimeout = 5 * time.Second
	}
	if l.PingInterval <= 0 {
		l.PingInterval = 10 * time.Second
	}
	if l.MaxErrors <= 0 {
		l.MaxErrors = 50
	}
	return l
}

// Upgrade runs authenticate (when set) and upgrades the request. It answers the
// request itself on failure (401 for a refused authentication) and then returns
// nil. Carriers send no Origin header; a browser's cross-origin request is refused.
func Upgrade(w http.ResponseWriter, r *http.Request, authenticate func(*http.Request) error) *websocket.Conn {
	if authenticate != nil {
		if err := authenticate(r); err != nil {
			http.Error(w, "unauthorized: "+err.Error(), http.StatusUnauthorized)
			return nil
		}
	}
	up := websocket.Upgrader{ReadBufferSize: 4096, WriteBufferSize: 4096}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		return nil // the upgrader already answered with an HTTP error
	}
	// No read limit in gorilla: it would close with a bare 1009 before the cause
	// could be logged. ReadMessage enforces the limit.
	return ws
}

// ReadMessage reads one whole message of at most max bytes; a larger one is not
// read further and returns ErrTooBig.
func ReadMessage(ws *websocket.Conn, max int64) (int, []byte, error) {
	kind, r, err := ws.NextReader()
	if err != nil {
		return kind, nil, err
	}
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return kind, nil, err
	}
	if int64(len(data)) > max {
		return kind, nil, ErrTooBig
	}
	return kind, data, nil
}

// drainTimeout bounds how long Drain waits for the peer's close frame.
const drainTimeout = 2 * time.Second

// Drain reads and discards what the peer still sends after a close, until its
// close frame, an error or a short timeout, so the close frame is not destroyed
// by a reset.
func Drain(ws *websocket.Conn) {
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

// CloseWith sends a close frame; text is cut to what a close frame can hold.
func CloseWith(ws *websocket.Conn, code int, text string) {
	if len(text) > 120 {
		text = text[:120]
	}
	_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(time.Second))
}

// ReadErrorReason maps an error ending the read loop to a hang-up reason: a
// close frame with 1000 or 1001 is the carrier ending the call, a read deadline
// is a timeout, anything else a transport error.
func ReadErrorReason(err error) string {
	if websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway) {
		return ReasonCallerHangup
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return ReasonTimeout
	}
	return ReasonTransportError
}

// Call is what the read loop needs from a started call.
type Call interface {
	Hangup(reason string)
	Done() <-chan struct{}
}

// Dispatch handles one inbound message of the given WebSocket kind. A non-empty
// reason ends the call with it (a carrier's stop); an error is a protocol error,
// logged and counted.
type Dispatch func(kind int, data []byte) (reason string, err error)

// ReadLoop feeds messages to dispatch until the carrier ends the call, the socket
// fails, the read deadline passes or the call ends (its Close shuts the socket).
// It returns the hang-up reason and whether it closed the connection itself (the
// carrier may still be sending, so the caller should Drain).
func ReadLoop(ws *websocket.Conn, lim Limits, call Call, log *slog.Logger, dispatch Dispatch) (reason string, closed bool) {
	errorsSeen := 0
	extend := func() { _ = ws.SetReadDeadline(time.Now().Add(lim.ReadTimeout)) }
	ws.SetPongHandler(func(string) error { extend(); return nil })
	extend()
	for {
		kind, data, err := ReadMessage(ws, lim.MaxMessageBytes)
		if err != nil {
			select {
			case <-call.Done():
				return ReasonAgentHangup, false
			default:
			}
			if errors.Is(err, ErrTooBig) {
				log.Warn("carrier message over the size limit", "limit", lim.MaxMessageBytes)
				CloseWith(ws, websocket.CloseMessageTooBig, fmt.Sprintf("messages are limited to %d bytes", lim.MaxMessageBytes))
				return ReasonTransportError, true
			}
			reason := ReadErrorReason(err)
			log.Debug("reading from carrier", "err", err, "reason", reason)
			return reason, false
		}
		extend()
		reason, err := dispatch(kind, data)
		if err != nil {
			errorsSeen++
			if errorsSeen >= lim.MaxErrors {
				log.Warn("too many protocol errors from carrier", "errors", errorsSeen, "last", err)
				CloseWith(ws, websocket.ClosePolicyViolation, "too many protocol errors")
				return ReasonTransportError, true
			}
			log.Warn("carrier protocol error", "err", err)
			continue
		}
		if reason != "" {
			return reason, false
		}
	}
}

var agentRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// ValidAgent reports whether id is a well-formed agent id.
func ValidAgent(id string) bool { return agentRe.MatchString(id) }

// AgentFromRequest returns the agent named by the route's {agent} path value or,
// failing that, by the "agent" query parameter of the WebSocket URL.
func AgentFromRequest(r *http.Request) string {
	if a := r.PathValue("agent"); a != "" {
		return a
	}
	return r.URL.Query().Get("agent")
}

// IsTooBig reports whether err is an oversized message.
func IsTooBig(err error) bool {
	return errors.Is(err, ErrTooBig) || errors.Is(err, websocket.ErrReadLimit)
}

// RefuseInvalid closes a stream whose opening message was bad: 1009 when it
// was too big, else 1008 (policy), with what and the error as the reason.
func RefuseInvalid(ws *websocket.Conn, what string, err error) {
	code := websocket.ClosePolicyViolation
	if IsTooBig(err) {
		code = websocket.CloseMessageTooBig
	}
	Refuse(ws, code, what+": "+err.Error())
}
