package telnyx

import (
	"encoding/base64"
	"encoding/json"
	"log/slog"

	"github.com/gorilla/websocket"

	"github.com/parley-voice/parley/media/internal/carrier"
)

// Conn is the server side of one Telnyx media stream. It implements the call
// actor's transport (runtime/call.Conn) and its PlaybackTracker: WriteFrame takes
// 20 ms frames at 16 kHz and sends them as base64 G.711 at 8 kHz in the stream's
// codec, with a mark after every 100 ms of audio and at each pause; Clear sends
// clear and counts the audio the marks had not confirmed as unheard.
type Conn struct {
	c *carrier.Conn
}

// wire builds the messages Parley sends to Telnyx.
type wire struct{}

func (w *wire) Audio(chunk []byte) (int, []byte, error) {
	m := mediaOut{Event: EventMedia}
	m.Media.Payload = base64.StdEncoding.EncodeToString(chunk)
	b, err := json.Marshal(m)
	return websocket.TextMessage, b, err
}

func (w *wire) Mark(name string) (int, []byte, error) {
	m := markOut{Event: EventMark}
	m.Mark.Name = name
	b, err := json.Marshal(m)
	return websocket.TextMessage, b, err
}

func (w *wire) Clear() (int, []byte, error) {
	b, err := json.Marshal(clearOut{Event: EventClear})
	return websocket.TextMessage, b, err
}

func newConn(ws *websocket.Conn, f carrier.Format, lim carrier.Limits, log *slog.Logger) (*Conn, error) {
	c, err := carrier.NewConn(ws, &wire{}, f, lim, log)
	if err != nil {
		return nil, err
	}
	return &Conn{c: c}, nil
}

// WriteFrame sends one 20 ms frame of agent audio (PCM16 at 16 kHz).
func (c *Conn) WriteFrame(pcm []int16) error { return c.c.WriteFrame(pcm) }

// Clear tells Telnyx to drop the agent audio it has buffered.
func (c *Conn) Clear() error { return c.c.Clear() }

// ClearedUnheard returns how many samples at 16 kHz the last Clear dropped
// before the caller heard them: written minus confirmed by marks.
func (c *Conn) ClearedUnheard() int { return c.c.ClearedUnheard() }

// Close ends the stream with a normal WebSocket close carrying reason. Idempotent.
func (c *Conn) Close(reason string) error { return c.c.Close(reason) }

// Flush sends the last partial frame of agent audio and a mark covering it
// without waiting for the pause timer (60 ms without WriteFrame).
func (c *Conn) Flush() error { return c.c.Flush() }

// Unconfirmed returns how many samples at 16 kHz written since the last Clear
// Telnyx has not yet confirmed playing.
func (c *Conn) Unconfirmed() int { return c.c.Tracker().Unconfirmed() }
