package native

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-voice/parley/media/codec"
)

// ClientEvent is an event envelope as the server sent it, decoded loosely.
type ClientEvent struct {
	Type     string         `json:"event_type"`
	ID       string         `json:"event_id"`
	CallID   string         `json:"call_id"`
	AgentID  string         `json:"agent_id"`
	Sequence uint64         `json:"sequence"`
	Payload  map[string]any `json:"payload"`
	// Received is when the client read it.
	Received time.Time `json:"-"`
}

// ClientHandler receives what the server sends. Callbacks run on the client's
// read goroutine, in order; they must not block for long.
type ClientHandler struct {
	OnStarted func(callID string)
	// OnAudio receives agent audio (PCM16 16 kHz) as it arrives. pcm is reused
	// for the next frame once the callback returns: copy it to keep it.
	OnAudio func(pcm []int16, at time.Time)
	OnClear func(at time.Time)
	OnEvent func(ClientEvent)
	OnError func(code, message string)
	OnStop  func(reason string)
}

// Client is the caller side of the native protocol: a simulated caller, a test
// driver, or the model for clients in other languages.
type Client struct {
	ws     *websocket.Conn
	h      ClientHandler
	mu     sync.Mutex
	buf    []byte
	callID string
	done   chan struct{}
	err    error
}

// Dial connects to url (ws:// or wss://), sends start and waits for started.
func Dial(ctx context.Context, url string, header http.Header, start Control, h ClientHandler) (*Client, error) {
	start.Type = TypeStart
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	ws, resp, err := d.DialContext(ctx, url, header)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("connecting to %s: %w (HTTP %d)", url, err, resp.StatusCode)
		}
		return nil, fmt.Errorf("connecting to %s: %w", url, err)
	}
	ws.SetReadLimit(1 << 20)
	if err := ws.WriteJSON(start); err != nil {
		ws.Close()
		return nil, fmt.Errorf("sending start: %w", err)
	}
	_ = ws.SetReadDeadline(time.Now().Add(15 * time.Second))
	_, data, err := ws.ReadMessage()
	if err != nil {
		ws.Close()
		return nil, fmt.Errorf("waiting for started: %w", err)
	}
	var m struct {
		Type    string `json:"type"`
		CallID  string `json:"call_id"`
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		ws.Close()
		return nil, fmt.Errorf("decoding the server's answer to start: %w", err)
	}
	if m.Type == TypeError {
		ws.Close()
		return nil, fmt.Errorf("call refused: %s: %s", m.Code, m.Message)
	}
	if m.Type != TypeStarted {
		ws.Close()
		return nil, fmt.Errorf("expected started, got %q", m.Type)
	}
	_ = ws.SetReadDeadline(time.Time{})
	c := &Client{ws: ws, h: h, callID: m.CallID, done: make(chan struct{})}
	if h.OnStarted != nil {
		h.OnStarted(m.CallID)
	}
	go c.read()
	return c, nil
}

// CallID returns the id the server gave the call.
func (c *Client) CallID() string { return c.callID }

// SendAudio sends PCM16 16 kHz mono samples as one binary message.
func (c *Client) SendAudio(pcm []int16) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf = codec.EncodeL16LE(c.buf[:0], pcm)
	_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.ws.WriteMessage(websocket.BinaryMessage, c.buf)
}

// Send sends a control message (dtmf, mark, stop, clear).
func (c *Client) Send(m Control) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.ws.WriteJSON(m)
}

// SendRaw sends a raw message of the given websocket kind (for protocol tests).
func (c *Client) SendRaw(kind int, data []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.ws.WriteMessage(kind, data)
}

// Hangup sends stop; the server ends the call and closes the connection.
func (c *Client) Hangup() error { return c.Send(Control{Type: TypeStop}) }

// Done is closed when the connection has closed.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err returns why the connection closed (nil for a normal close).
func (c *Client) Err() error {
	<-c.done
	return c.err
}

// Close closes the connection at once.
func (c *Client) Close() error {
	err := c.ws.Close()
	<-c.done
	return err
}

func (c *Client) read() {
	defer close(c.done)
	var pcm []int16
	for {
		kind, data, err := c.ws.ReadMessage()
		if err != nil {
			if !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
				c.err = err
			}
			var ce *websocket.CloseError
			if errors.As(err, &ce) && ce.Code == websocket.CloseNormalClosure {
				_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
			}
			c.ws.Close()
			return
		}
		now := time.Now()
		if kind == websocket.BinaryMessage {
			pcm = codec.DecodeL16LE(pcm[:0], data)
			if c.h.OnAudio != nil {
				c.h.OnAudio(pcm, now)
			}
			continue
		}
		var m struct {
			Type    string          `json:"type"`
			Event   json.RawMessage `json:"event"`
			Code    string          `json:"code"`
			Message string          `json:"message"`
			Reason  string          `json:"reason"`
		}
		if json.Unmarshal(data, &m) != nil {
			continue
		}
		switch m.Type {
		case TypeClear:
			if c.h.OnClear != nil {
				c.h.OnClear(now)
			}
		case TypeEvent:
			var e ClientEvent
			if json.Unmarshal(m.Event, &e) == nil && c.h.OnEvent != nil {
				e.Received = now
				c.h.OnEvent(e)
			}
		case TypeError:
			if c.h.OnError != nil {
				c.h.OnError(m.Code, m.Message)
			}
		case TypeStop:
			if c.h.OnStop != nil {
				c.h.OnStop(m.Reason)
			}
		}
	}
}
