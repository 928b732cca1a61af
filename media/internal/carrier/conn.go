package carrier

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Wire builds a carrier's outbound messages. Each returns the WebSocket message
// kind and payload.
type Wire interface {
	// Audio carries one 20 ms chunk in the carrier's format; chunk is only valid
	// during the call.
	Audio(chunk []byte) (int, []byte, error)
	// Mark asks the carrier to report when the audio before it has played.
	Mark(name string) (int, []byte, error)
	// Clear asks the carrier to drop the audio it has buffered.
	Clear() (int, []byte, error)
}

// idleAfter is how long without WriteFrame ends a stretch of agent audio: the
// last partial chunk goes out padded and a mark covers it.
const idleAfter = 60 * time.Millisecond

// Conn is the shared body of a carrier transport's Conn: it converts agent frames
// with an Outbound, sends them through the carrier's Wire, places marks with a
// Tracker, and runs one writer goroutine for pings and idle flushes.
type Conn struct {
	ws      *websocket.Conn
	wire    Wire
	log     atomic.Pointer[slog.Logger]
	timeout time.Duration

	mu        sync.Mutex // serialises writes to ws and guards out and lastWrite
	out       *Outbound
	lastWrite time.Time
	idle      bool          // nothing written since the last flush
	idleAfter time.Duration // pause that ends a stretch of audio
	closed    bool

	track *Tracker

	life    sync.Mutex // orders Start against Close and Abandon
	started bool
	ended   bool
	done    chan struct{}
	wg      sync.WaitGroup

	framesOut atomic.Uint64
	chunksOut atomic.Uint64
}

// NewConn returns the Conn of a call about to start. Nothing runs until Start.
func NewConn(ws *websocket.Conn, wire Wire, f Format, lim Limits, log *slog.Logger) (*Conn, error) {
	out, err := NewOutbound(f)
	if err != nil {
		return nil, fmt.Errorf("outbound audio %s: %w", f, err)
	}
	c := &Conn{ws: ws, wire: wire, timeout: lim.WriteTimeout, out: out, idle: true, idleAfter: idleAfter,
		track: NewTracker(DefaultMarkEvery), done: make(chan struct{})}
	c.log.Store(log)
	return c, nil
}

// SetLogger replaces the logger (it gains the call id once the call is up).
func (c *Conn) SetLogger(log *slog.Logger) { c.log.Store(log) }

// Start runs the writer goroutine: keep-alive pings and the flush and mark that
// end each stretch of agent audio. Close stops it.
func (c *Conn) Start(pingEvery time.Duration) {
	c.life.Lock()
	defer c.life.Unlock()
	if c.started || c.ended {
		return
	}
	c.started = true
	c.wg.Add(1)
	go c.writer(pingEvery)
}

// end stops the writer and refuses further writes; it reports false when the
// Conn had already ended.
func (c *Conn) end() bool {
	c.life.Lock()
	if c.ended {
		c.life.Unlock()
		return false
	}
	c.ended = true
	close(c.done)
	c.life.Unlock()
	c.wg.Wait()
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	return true
}

// Tracker returns the playback accounting of the call.
func (c *Conn) Tracker() *Tracker { return c.track }

// WriteFrame converts one frame of agent audio and sends every whole chunk,
// followed by a mark each time DefaultMarkEvery samples have gone out.
func (c *Conn) WriteFrame(pcm []int16) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	c.track.Wrote(len(pcm))
	c.lastWrite = time.Now()
	c.idle = false
	c.framesOut.Add(1)
	return c.out.Write(pcm, c.sendChunkLocked)
}

// ErrClosed is returned by writes after Close.
var ErrClosed = errors.New("carrier connection closed")

func (c *Conn) sendChunkLocked(chunk []byte) error {
	kind, msg, err := c.wire.Audio(chunk)
	if err != nil {
		return err
	}
	if err := c.writeLocked(kind, msg); err != nil {
		return err
	}
	c.chunksOut.Add(1)
	f := c.out.Format()
	if name := c.track.Sent(len(chunk) / f.BytesPerSample() * CallRate / f.Rate); name != "" {
		return c.markLocked(name)
	}
	return nil
}

func (c *Conn) markLocked(name string) error {
	kind, msg, err := c.wire.Mark(name)
	if err != nil {
		return err
	}
	return c.writeLocked(kind, msg)
}

func (c *Conn) writeLocked(kind int, msg []byte) error {
	_ = c.ws.SetWriteDeadline(time.Now().Add(c.timeout))
	return c.ws.WriteMessage(kind, msg)
}

// Clear drops the audio not sent yet, tells the carrier to drop what it buffered
// and counts what the caller did not hear.
func (c *Conn) Clear() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	c.out.Reset()
	c.idle = true
	c.track.Clear()
	kind, msg, err := c.wire.Clear()
	if err != nil {
		return err
	}
	return c.writeLocked(kind, msg)
}

// ClearedUnheard returns the samples, at CallRate, that the last Clear dropped
// before the caller heard them.
func (c *Conn) ClearedUnheard() int { return c.track.ClearedUnheard() }

// Played records a mark the carrier returned; it reports whether it was one of
// ours still pending.
func (c *Conn) Played(name string) bool { return c.track.Played(name) }

// Send writes one message (a carrier-specific reply) under the write lock.
func (c *Conn) Send(kind int, msg []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	return c.writeLocked(kind, msg)
}

// Close stops the writer, sends a normal close frame carrying reason and shuts
// the socket shortly after, leaving the carrier a moment to answer. Idempotent.
func (c *Conn) Close(reason string) error {
	if c.end() {
		CloseWith(c.ws, websocket.CloseNormalClosure, reason)
		time.AfterFunc(drainTimeout, func() { c.ws.Close() })
	}
	return nil
}

// Abandon stops a Conn whose call was refused, without a close frame: the
// handler sends its own. Writes after it fail with ErrClosed.
func (c *Conn) Abandon() { c.end() }

// FramesOut reports the frames given to WriteFrame.
func (c *Conn) FramesOut() uint64 { return c.framesOut.Load() }

// ChunksOut reports the audio messages sent.
func (c *Conn) ChunksOut() uint64 { return c.chunksOut.Load() }

func (c *Conn) writer(pingEvery time.Duration) {
	defer c.wg.Done()
	ping := time.NewTicker(pingEvery)
	defer ping.Stop()
	tick := time.NewTicker(idleAfter / 2)
	defer tick.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-ping.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.timeout)); err != nil && !errors.Is(err, websocket.ErrCloseSent) {
				c.log.Load().Debug("ping", "err", err)
			}
		case now := <-tick.C:
			if err := c.flushIdle(now); err != nil {
				c.log.Load().Debug("flushing agent audio", "err", err)
			}
		}
	}
}

// flushIdle ends a stretch of agent audio that stopped idleAfter ago.
func (c *Conn) flushIdle(now time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.idle || c.closed || now.Sub(c.lastWrite) < c.idleAfter {
		return nil
	}
	c.idle = true
	return c.flushLocked()
}

// SetIdleAfter changes the pause that ends a stretch of agent audio (60 ms).
// Tests that call Flush themselves set it long, so the timer cannot race them.
func (c *Conn) SetIdleAfter(d time.Duration) {
	c.mu.Lock()
	c.idleAfter = d
	c.mu.Unlock()
}

// Flush sends the last partial chunk and a mark covering everything written, as
// when the agent pauses. Tests call it instead of waiting for the idle timer.
func (c *Conn) Flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	c.idle = true
	return c.flushLocked()
}

func (c *Conn) flushLocked() error {
	if _, err := c.out.Flush(func(chunk []byte) error {
		kind, msg, err := c.wire.Audio(chunk)
		if err != nil {
			return err
		}
		c.chunksOut.Add(1)
		return c.writeLocked(kind, msg)
	}); err != nil {
		return err
	}
	if name := c.track.Tail(); name != "" {
		return c.markLocked(name)
	}
	return nil
}
