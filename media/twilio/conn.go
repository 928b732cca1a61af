package twilio

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-voice/parley/media/codec"
	"github.com/parley-voice/parley/media/resample"
	"github.com/parley-voice/parley/runtime/call"
)

// markPrefix starts the name of every mark Parley sends; the counter after it
// orders them.
const markPrefix = "parley-"

// pendingMark is a mark sent and not yet echoed: pos is how many samples (at the
// call's rate) had been written when it was sent.
type pendingMark struct {
	name string
	pos  int
}

// Conn is the server side of one Twilio media stream. It implements call.Conn
// (agent audio out as μ-law media messages, clear, close) and
// call.PlaybackTracker: it sends a mark every few frames and learns from
// Twilio's echoes how much of the written audio the caller has heard.
//
// WriteFrame runs on the call's player goroutine, Clear and Close on the actor
// goroutine, mark echoes arrive on the handler's read goroutine; mu serialises
// socket writes and guards the playback accounting.
type Conn struct {
	ws        *websocket.Conn
	streamSid string
	rate      int // the call's sample rate (WriteFrame's input)
	timeout   time.Duration
	markEvery int // frames between marks
	closeWait time.Duration
	log       atomic.Pointer[slog.Logger]

	mu        sync.Mutex
	down      *resample.Resampler // call rate → 8 kHz
	pcm8      []int16
	ulaw      []byte
	written   int // samples at the call's rate written since the stream started
	sinceMark int // frames written since the last mark
	seq       uint64
	pending   []pendingMark
	played    int // position confirmed by the latest echoed mark (or settled by a clear)
	unheard   int // what the last Clear dropped
	clears    int
	framesOut uint64
	closing   bool

	progress  chan struct{} // poked when a mark is echoed (one slot)
	readDone  chan struct{} // closed when the handler stops reading
	readOnce  sync.Once
	closeOnce sync.Once
}

func newConn(ws *websocket.Conn, streamSid string, rate int, log *slog.Logger, h *Handler) (*Conn, error) {
	down, err := resample.New(rate, WireRate)
	if err != nil {
		return nil, fmt.Errorf("twilio: outbound audio: %w", err)
	}
	c := &Conn{ws: ws, streamSid: streamSid, rate: rate, timeout: h.WriteTimeout, markEvery: h.MarkEvery,
		closeWait: h.CloseWait, down: down, progress: make(chan struct{}, 1), readDone: make(chan struct{})}
	c.log.Store(log)
	return c, nil
}

// StreamSid returns the id of the media stream.
func (c *Conn) StreamSid() string { return c.streamSid }

// WriteFrame sends one frame of agent audio (PCM16 at the call's rate) as a
// μ-law media message, and a mark after every MarkEvery frames.
func (c *Conn) WriteFrame(pcm []int16) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return websocket.ErrCloseSent
	}
	c.pcm8 = c.down.Process(c.pcm8[:0], pcm)
	c.written += len(pcm)
	if len(c.pcm8) > 0 {
		c.ulaw = codec.EncodeMulaw(c.ulaw[:0], c.pcm8)
		if err := c.write(EncodeMedia(c.streamSid, c.ulaw)); err != nil {
			return err
		}
		c.framesOut++
	}
	c.sinceMark++
	if c.sinceMark >= c.markEvery {
		return c.sendMark()
	}
	return nil
}

// sendMark sends a mark at the current write position. Called with mu held.
func (c *Conn) sendMark() error {
	c.sinceMark = 0
	c.seq++
	m := pendingMark{name: markPrefix + strconv.FormatUint(c.seq, 10), pos: c.written}
	if err := c.write(EncodeMark(c.streamSid, m.name)); err != nil {
		return err
	}
	c.pending = append(c.pending, m)
	return nil
}

// Clear tells Twilio to drop the audio it has buffered. What was written and not
// yet confirmed played by a mark counts as dropped; the marks Twilio returns
// right after the clear are flushes, not playback, and are ignored.
func (c *Conn) Clear() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.unheard = c.written - c.played
	c.played = c.written
	c.pending = c.pending[:0]
	c.sinceMark = 0
	c.clears++
	c.down.Reset()
	if c.closing {
		return websocket.ErrCloseSent
	}
	return c.write(EncodeClear(c.streamSid))
}

// ClearedUnheard reports how many samples, at the call's rate, the last Clear
// dropped before the caller heard them (call.PlaybackTracker).
func (c *Conn) ClearedUnheard() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.unheard
}

// Played reports how many samples, at the call's rate, the caller has heard
// (or a clear has settled) according to the marks, and how many were written.
func (c *Conn) Played() (played, written int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.played, c.written
}

// onMark handles a mark echoed by Twilio. It reports whether the mark confirms
// playback (false for marks flushed by a clear and names Parley never sent).
func (c *Conn) onMark(name string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !strings.HasPrefix(name, markPrefix) {
		return false
	}
	for i, m := range c.pending {
		if m.name == name {
			// Marks come back in order: the ones before it have played too.
			c.played = max(c.played, m.pos)
			c.pending = append(c.pending[:0], c.pending[i+1:]...)
			select {
			case c.progress <- struct{}{}:
			default:
			}
			return true
		}
	}
	return false
}

// readStopped tells the Conn that no more marks will arrive.
func (c *Conn) readStopped() { c.readOnce.Do(func() { close(c.readDone) }) }

// Close ends the stream: it lets Twilio finish playing what it has buffered
// (bounded by CloseWait, and only while the socket is still read), then closes
// the WebSocket. Twilio then runs the TwiML after <Connect>, if any, or hangs
// up. Idempotent.
func (c *Conn) Close(reason string) error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		var target int
		wait := c.played < c.written && c.closeWait > 0
		if wait {
			if err := c.sendMark(); err != nil {
				wait = false
			}
			target = c.written
		}
		c.closing = true
		c.mu.Unlock()
		if wait {
			c.waitPlayed(target)
		}
		msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, reason)
		_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
		// Give Twilio a moment to answer the close, then drop the socket.
		time.AfterFunc(2*time.Second, func() { c.ws.Close() })
	})
	return nil
}

func (c *Conn) waitPlayed(target int) {
	t := time.NewTimer(c.closeWait)
	defer t.Stop()
	for {
		if p, _ := c.Played(); p >= target {
			return
		}
		select {
		case <-c.progress:
		case <-c.readDone:
			return
		case <-t.C:
			return
		}
	}
}

// write sends one text frame. Called with mu held.
func (c *Conn) write(b []byte) error {
	_ = c.ws.SetWriteDeadline(time.Now().Add(c.timeout))
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

// Compile-time interface guards.
var (
	_ call.Conn            = (*Conn)(nil)
	_ call.PlaybackTracker = (*Conn)(nil)
)
