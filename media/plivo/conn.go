package plivo

import (
	"encoding/base64"
	"encoding/json"
	"log/slog"

	"github.com/gorilla/websocket"

	"github.com/parley-voice/parley/media/internal/carrier"
)

// Conn is the server side of one Plivo audio stream. It implements the call
// actor's transport (runtime/call.Conn) and its PlaybackTracker: WriteFrame takes
// 20 ms frames at 16 kHz and sends playAudio messages of 20 ms in the stream's
// format, with a checkpoint after every 100 ms of audio and at each pause; Clear
// sends clearAudio and counts the audio the checkpoints had not confirmed as
// unheard.
type Conn struct {
	c *carrier.Conn
}

// wire builds the messages Parley sends to Plivo.
type wire struct {
	streamID    string
	contentType string
	rate        int
}

func (w *wire) Audio(chunk []byte) (int, []byte, error) {
	m := playAudioOut{Event: EventPlayAudio}
	m.Media.ContentType, m.Media.SampleRate = w.contentType, w.rate
	m.Media.Payload = base64.StdEncoding.EncodeToString(chunk)
	b, err := json.Marshal(m)
	return websocket.TextMessage, b, err
}

func (w *wire) Mark(name string) (int, []byte, error) {
	b, err := json.Marshal(checkpointOut{Event: EventCheckpoint, StreamID: w.streamID, Name: name})
	return websocket.TextMessage, b, err
}

func (w *wire) Clear() (int, []byte, error) {
	b, err := json.Marshal(clearAudioOut{Event: EventClearAudio, StreamID: w.streamID})
	return websocket.TextMessage, b, err
}

func newConn(ws *websocket.Conn, start Message, lim carrier.Limits, log *slog.Logger) (*Conn, error) {
	s := start.Start
	w := &wire{streamID: start.StreamID, contentType: s.Encoding, rate: s.SampleRate}
	c, err := carrier.NewConn(ws, w, s.Format(), lim, log)
	if err != nil {
		return nil, err
	}
	return &Conn{c: c}, nil
}

// WriteFrame sends one 20 ms frame of agent audio (PCM16 at 16 kHz).
func (c *Conn) WriteFrame(pcm []int16) error { return c.c.WriteFrame(pcm) }

// Clear tells Plivo to drop the agent audio it has buffered (clearAudio).
func (c *Conn) Clear() error { return c.c.Clear() }

// ClearedUnheard returns how many samples at 16 kHz the last Clear dropped
// before the caller heard them: written minus confirmed by checkpoints.
func (c *Conn) ClearedUnheard() int { return c.c.ClearedUnheard() }

// Close ends the stream with a normal WebSocket close carrying reason. Idempotent.
func (c *Conn) Close(reason string) error { return c.c.Close(reason) }

// Flush sends the last partial frame, padded, and a checkpoint covering it
// without waiting for the pause timer (60 ms without WriteFrame).
func (c *Conn) Flush() error { return c.c.Flush() }

// Unconfirmed returns how many samples at 16 kHz written since the last Clear
// Plivo has not yet confirmed playing.
func (c *Conn) Unconfirmed() int { return c.c.Tracker().Unconfirmed() }
