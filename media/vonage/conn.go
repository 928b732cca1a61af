package vonage

import (
	"encoding/json"
	"log/slog"

	"github.com/gorilla/websocket"

	"github.com/parley-voice/parley/media/internal/carrier"
)

// Conn is the server side of one Vonage WebSocket call. It implements the call
// actor's transport (runtime/call.Conn) and its PlaybackTracker: WriteFrame takes
// 20 ms frames at 16 kHz and sends binary L16 frames of exactly 20 ms at the
// call's rate, with a notify after every 100 ms of audio and at each pause; Clear
// sends {"action":"clear"} and counts the audio the notifies had not confirmed
// as unheard.
type Conn struct {
	c *carrier.Conn
}

// wire builds the messages Parley sends to Vonage.
type wire struct{}

func (wire) Audio(chunk []byte) (int, []byte, error) { return websocket.BinaryMessage, chunk, nil }

func (wire) Mark(name string) (int, []byte, error) {
	m := notifyOut{Action: ActionNotify}
	m.Payload.Name = name
	b, err := json.Marshal(m)
	return websocket.TextMessage, b, err
}

func (wire) Clear() (int, []byte, error) {
	b, err := json.Marshal(clearOut{Action: ActionClear})
	return websocket.TextMessage, b, err
}

func newConn(ws *websocket.Conn, f carrier.Format, lim carrier.Limits, log *slog.Logger) (*Conn, error) {
	c, err := carrier.NewConn(ws, wire{}, f, lim, log)
	if err != nil {
		return nil, err
	}
	return &Conn{c: c}, nil
}

// WriteFrame sends one 20 ms frame of agent audio (PCM16 at 16 kHz).
func (c *Conn) WriteFrame(pcm []int16) error { return c.c.WriteFrame(pcm) }

// Clear tells Vonage to drop the agent audio it has buffered.
func (c *Conn) Clear() error { return c.c.Clear() }

// ClearedUnheard returns how many samples at 16 kHz the last Clear dropped
// before the caller heard them: written minus confirmed by notifies.
func (c *Conn) ClearedUnheard() int { return c.c.ClearedUnheard() }

// Close ends the call's socket with a normal close carrying reason. Vonage then
// ends the websocket leg (hang the call up through the Voice API to end the
// whole call). Idempotent.
func (c *Conn) Close(reason string) error { return c.c.Close(reason) }

// Flush sends the last partial frame, padded, and a notify covering it without
// waiting for the pause timer (60 ms without WriteFrame).
func (c *Conn) Flush() error { return c.c.Flush() }

// Unconfirmed returns how many samples at 16 kHz written since the last Clear
// Vonage has not yet confirmed playing.
func (c *Conn) Unconfirmed() int { return c.c.Tracker().Unconfirmed() }
