package native

import (
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-voice/parley/media/codec"
	"github.com/parley-voice/parley/runtime/events"
)

// Conn is the server side of one native WebSocket call. It implements the call
// actor's transport interface: agent audio out, clear, event notifications, close.
// Audio frames and clear are written directly (serialised by mu); events go
// through a bounded queue drained by the connection's writer goroutine, so a slow
// client never blocks the call actor. Nothing is written before the started
// message: a call may produce audio before StartFunc has returned its id, so
// writes wait on ready, which the handler closes once started has gone out.
type Conn struct {
	ws      *websocket.Conn
	log     atomic.Pointer[slog.Logger] // gains the call id once the call is up
	timeout time.Duration
	filter  []string

	mu     sync.Mutex // serialises writes to ws
	outBuf []byte     // L16 encoding buffer, used under mu

	ctrl      chan []byte
	ready     chan struct{} // closed after the started message (or a refusal)
	readyOnce sync.Once
	done      chan struct{}
	closeOnce sync.Once
	writerWG  sync.WaitGroup

	droppedEvents atomic.Uint64
	framesOut     atomic.Uint64
}

// newConn returns the Conn of a call about to start and starts its writer, which
// waits for the started message. Its owner must end it with open and then Close,
// or with abandon.
func newConn(ws *websocket.Conn, log *slog.Logger, writeTimeout, pingEvery time.Duration, filter []string) *Conn {
	c := &Conn{ws: ws, timeout: writeTimeout, filter: filter,
		ctrl: make(chan []byte, 512), ready: make(chan struct{}), done: make(chan struct{})}
	c.log.Store(log)
	c.writerWG.Add(1)
	go c.writer(pingEvery)
	return c
}

// open sends the started message, then lets every other write through.
func (c *Conn) open(started any) error {
	defer c.readyOnce.Do(func() { close(c.ready) })
	b, err := json.Marshal(started)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(c.timeout))
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

// abandon stops the writer of a Conn whose call was refused. Writes after it
// fail on the closed socket rather than wait.
func (c *Conn) abandon() {
	c.readyOnce.Do(func() { close(c.ready) })
	c.closeOnce.Do(func() { close(c.done) })
	c.writerWG.Wait()
}

// WriteFrame sends one frame of agent audio as a binary L16 message.
func (c *Conn) WriteFrame(pcm []int16) error {
	<-c.ready
	c.mu.Lock()
	defer c.mu.Unlock()
	c.outBuf = codec.EncodeL16LE(c.outBuf[:0], pcm)
	_ = c.ws.SetWriteDeadline(time.Now().Add(c.timeout))
	if err := c.ws.WriteMessage(websocket.BinaryMessage, c.outBuf); err != nil {
		return err
	}
	c.framesOut.Add(1)
	return nil
}

// Clear tells the client to drop agent audio it has buffered.
func (c *Conn) Clear() error {
	return c.writeJSON(map[string]string{"type": TypeClear})
}

// Notify queues a call event for the client; it never blocks. Events that do not
// fit are dropped and counted: the durable copy goes to webhooks, not here.
func (c *Conn) Notify(e *events.Event) {
	if !c.wants(e.Type) {
		return
	}
	b, err := json.Marshal(eventMsg{Type: TypeEvent, Event: e})
	if err != nil {
		c.log.Load().Error("encoding event for client", "type", e.Type, "err", err)
		return
	}
	select {
	case c.ctrl <- b:
	case <-c.done:
	default:
		c.droppedEvents.Add(1)
	}
}

func (c *Conn) wants(typ string) bool {
	if len(c.filter) == 0 {
		return true
	}
	for _, p := range c.filter {
		if events.Match(p, typ) {
			return true
		}
	}
	return false
}

// Close flushes queued events, sends a stop message with the reason and closes
// the WebSocket with a normal closure. Idempotent.
func (c *Conn) Close(reason string) error {
	c.closeOnce.Do(func() {
		close(c.done)
		c.writerWG.Wait()
		// Flush what the writer had not sent yet: call.ended must reach the client.
		for {
			select {
			case b := <-c.ctrl:
				_ = c.writeRaw(websocket.TextMessage, b)
				continue
			default:
			}
			break
		}
		_ = c.writeJSON(stopMsg{Type: TypeStop, Reason: reason})
		msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, reason)
		_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
		// Give the client a moment to answer the close, then drop the socket.
		time.AfterFunc(2*time.Second, func() { c.ws.Close() })
	})
	return nil
}

// closeWithError sends an error message and then a close frame, with nothing
// from the call in between, so the client sees why the connection closed.
func (c *Conn) closeWithError(code, message string, closeCode int, closeText string) {
	b, _ := json.Marshal(errorMsg{Type: TypeError, Code: code, Message: message})
	<-c.ready
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(c.timeout))
	_ = c.ws.WriteMessage(websocket.TextMessage, b)
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(closeCode, closeText), time.Now().Add(time.Second))
}

func (c *Conn) writeJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.writeRaw(websocket.TextMessage, b)
}

func (c *Conn) writeRaw(kind int, b []byte) error {
	<-c.ready
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(c.timeout))
	return c.ws.WriteMessage(kind, b)
}

// writer drains queued events and keeps the connection alive with pings.
func (c *Conn) writer(pingEvery time.Duration) {
	defer c.writerWG.Done()
	select {
	case <-c.ready:
	case <-c.done:
		return
	}
	t := time.NewTicker(pingEvery)
	defer t.Stop()
	for {
		select {
		case b := <-c.ctrl:
			if err := c.writeRaw(websocket.TextMessage, b); err != nil {
				c.log.Load().Debug("writing event to client", "err", err)
			}
		case <-t.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.timeout)); err != nil && !errors.Is(err, websocket.ErrCloseSent) {
				c.log.Load().Debug("ping", "err", err)
			}
		case <-c.done:
			return
		}
	}
}

// DroppedEvents reports event notifications dropped because the client was slow.
func (c *Conn) DroppedEvents() uint64 { return c.droppedEvents.Load() }
