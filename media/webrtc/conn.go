package webrtc

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	pion "github.com/pion/webrtc/v4"
	pmedia "github.com/pion/webrtc/v4/pkg/media"

	"github.com/parley-voice/parley/media"
	"github.com/parley-voice/parley/runtime/events"
)

// SampleRate is the rate of the PCM the call exchanges with a Conn.
const SampleRate = 16000

// flushTimeout bounds how long Close waits for queued events (call.ended) to
// leave on the data channel before it closes the peer connection.
const flushTimeout = time.Second

// Conn is the server side of one WebRTC call: the peer connection, the agent's
// audio track and the events data channel. It implements the call actor's
// transport (call.Conn) and call.Notifier. Agent audio is not sent before the
// peer connection is connected: WriteFrame waits for it, so the greeting is
// not lost while ICE and DTLS finish. Events go through a bounded queue drained
// by the writer goroutine once the data channel is open, so a slow page never
// blocks the call actor.
type Conn struct {
	pc    *pion.PeerConnection
	track *pion.TrackLocalStaticSample
	log   atomic.Pointer[slog.Logger]

	dc        atomic.Pointer[pion.DataChannel]
	dcOpen    chan struct{} // closed when the events channel opened
	dcOnce    sync.Once
	openOnce  sync.Once
	connected chan struct{} // closed when the peer connection is connected
	connOnce  sync.Once
	done      chan struct{} // closed by Close
	closeOnce sync.Once
	ctrl      chan []byte

	// mu guards closed and the readers WaitGroup, so no reader is added
	// after Close began waiting for them.
	mu      sync.Mutex
	closed  bool
	readers sync.WaitGroup
	writer  sync.WaitGroup

	// Used only by WriteFrame (the call's player goroutine).
	codec   *wireCodec // of the agent's audio
	enc     audioEncoder
	payload []byte
	frames  atomic.Uint64

	droppedEvents atomic.Uint64
	timers        []*time.Timer // stopped by Close; set before the call starts
}

func newConn(pc *pion.PeerConnection, track *pion.TrackLocalStaticSample, wc *wireCodec, enc audioEncoder, log *slog.Logger) *Conn {
	c := &Conn{pc: pc, track: track, codec: wc, enc: enc,
		dcOpen: make(chan struct{}), connected: make(chan struct{}), done: make(chan struct{}),
		ctrl: make(chan []byte, 512)}
	c.log.Store(log)
	c.writer.Add(1)
	go c.writeEvents()
	return c
}

// WriteFrame sends one 20 ms frame of agent audio (PCM16 at 16 kHz) as one
// RTP packet of the negotiated codec (Opus or PCMU). The call's player paces
// frames in real time.
func (c *Conn) WriteFrame(pcm []int16) error {
	select {
	case <-c.connected:
	case <-c.done:
		return ErrClosed
	}
	select {
	case <-c.done:
		return ErrClosed
	default:
	}
	var err error
	if c.payload, err = c.enc.encode(c.payload[:0], pcm); err != nil {
		return err
	}
	// WriteSample copies the payload into its packets before returning.
	if err := c.track.WriteSample(pmedia.Sample{Data: c.payload, Duration: media.DurationOf(len(pcm), SampleRate)}); err != nil {
		return err
	}
	c.frames.Add(1)
	return nil
}

// Clear is a no-op: a browser keeps only a jitter buffer of the agent's audio
// (tens of milliseconds), so nothing worth dropping is buffered far end.
func (c *Conn) Clear() error { return nil }

// Notify queues a call event for the page; it never blocks. Events that do not
// fit are dropped and counted: the durable copy goes to webhooks, not here.
func (c *Conn) Notify(e *events.Event) {
	b, err := encodeEvent(e)
	if err != nil {
		c.log.Load().Error("encoding event for page", "type", e.Type, "err", err)
		return
	}
	select {
	case c.ctrl <- b:
	default:
		c.droppedEvents.Add(1)
	}
}

// Close sends what events are still queued (call.ended among them), then
// closes the peer connection and waits for its goroutines. Idempotent.
func (c *Conn) Close(reason string) error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
		for _, t := range c.timers {
			t.Stop()
		}
		close(c.done)
		c.writer.Wait()
		c.flush()
		if err := c.pc.GracefulClose(); err != nil {
			c.log.Load().Debug("closing peer connection", "err", err)
		}
		c.readers.Wait()
		c.log.Load().Debug("webrtc connection closed", "reason", reason, "codec", c.codec.name(), "frames_out", c.frames.Load(),
			"dropped_events", c.droppedEvents.Load())
	})
	return nil
}

// flush sends the queued events if the data channel is open and waits, up to
// flushTimeout, for them to leave.
func (c *Conn) flush() {
	dc := c.dc.Load()
	select {
	case <-c.dcOpen:
	default:
		return
	}
	for {
		select {
		case b := <-c.ctrl:
			_ = dc.SendText(string(b))
			continue
		default:
		}
		break
	}
	for deadline := time.Now().Add(flushTimeout); dc.BufferedAmount() > 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
}

// writeEvents sends queued events once the data channel is open.
func (c *Conn) writeEvents() {
	defer c.writer.Done()
	select {
	case <-c.dcOpen:
	case <-c.done:
		return
	}
	dc := c.dc.Load()
	for {
		select {
		case b := <-c.ctrl:
			if err := dc.SendText(string(b)); err != nil {
				c.log.Load().Debug("sending event to page", "err", err)
			}
		case <-c.done:
			return
		}
	}
}

// addReader registers a goroutine that reads from the peer connection; it
// reports false once Close has begun, when the goroutine must not start.
func (c *Conn) addReader() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.readers.Add(1)
	return true
}

func (c *Conn) setConnected() { c.connOnce.Do(func() { close(c.connected) }) }

func (c *Conn) setDataChannel(dc *pion.DataChannel) bool {
	ok := false
	c.dcOnce.Do(func() {
		c.dc.Store(dc)
		ok = true
	})
	return ok
}

func (c *Conn) dataChannelOpen() {
	c.openOnce.Do(func() { close(c.dcOpen) })
}

// Codec reports the codec of the agent's audio, as SDP names it ("opus/48000"
// or "PCMU/8000").
func (c *Conn) Codec() string { return c.codec.name() }

// FramesOut reports how many frames of agent audio were sent.
func (c *Conn) FramesOut() uint64 { return c.frames.Load() }

// DroppedEvents reports event notifications dropped because the page was slow.
func (c *Conn) DroppedEvents() uint64 { return c.droppedEvents.Load() }
