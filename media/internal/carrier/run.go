package carrier

import (
	"errors"
	"log/slog"

	"github.com/gorilla/websocket"
)

// CallHandle is what the shared loop needs from a started call; the carrier
// packages export it under their own names as aliases.
type CallHandle interface {
	ID() string
	Audio(pcm []int16)
	DTMF(digit string)
	Mark(name string)
	Hangup(reason string)
	Done() <-chan struct{}
}

// RefusalError lets a StartFunc pick the close code and reason of a refusal.
type RefusalError struct {
	Code      string // e.g. "unknown_agent", "capacity"; sent as the close reason
	CloseCode int    // WebSocket close code (1008 policy, 1013 try again later…)
	Err       error
}

func (e *RefusalError) Error() string { return e.Err.Error() }
func (e *RefusalError) Unwrap() error { return e.Err }

// Refuse closes a connection whose call never started, with a close code and a
// reason the carrier may log, and waits briefly for the carrier's close.
func Refuse(ws *websocket.Conn, code int, reason string) {
	CloseWith(ws, code, reason)
	Drain(ws)
}

// Run starts the call with start and feeds it until it ends: the read loop,
// then Hangup with the reason and a wait for the call to finish. The call's
// Close (through its Conn) sends the close frame. A refused start closes the
// socket with the refusal's code.
func Run(ws *websocket.Conn, lim Limits, log *slog.Logger, conn *Conn, start func() (CallHandle, error), dispatch func(CallHandle) Dispatch) {
	call, err := start()
	if err != nil {
		code, closeCode := "start_failed", websocket.CloseInternalServerErr
		var re *RefusalError
		if errors.As(err, &re) {
			code, closeCode = re.Code, re.CloseCode
		}
		log.Info("call refused", "err", err)
		conn.Abandon()
		Refuse(ws, closeCode, code)
		return
	}
	log = log.With("call_id", call.ID())
	conn.SetLogger(log)
	conn.Start(lim.PingInterval)
	reason, closed := ReadLoop(ws, lim, call, log, dispatch(call))
	log.Debug("call ending", "reason", reason)
	call.Hangup(reason)
	<-call.Done()
	if closed {
		Drain(ws)
	}
}
