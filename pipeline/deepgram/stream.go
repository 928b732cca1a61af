package deepgram

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-voice/parley/media/resample"
	"github.com/parley-voice/parley/pipeline"
)

// Control messages; Deepgram requires them as text frames.
var (
	msgKeepAlive   = []byte(`{"type":"KeepAlive"}`)
	msgFinalize    = []byte(`{"type":"Finalize"}`)
	msgCloseStream = []byte(`{"type":"CloseStream"}`)
)

// stream is one call's live transcription. Write and Finalize append to a
// bounded queue and never block; the run goroutine owns the socket, sends
// the queue, receives results (through the reader goroutine) and calls the
// sink. A dropped socket is reported once and reopened by the next utterance.
type stream struct {
	cfg              Config
	url              string
	inRate, sendRate int
	sink             func(pipeline.STTResult)
	log              *slog.Logger
	maxQueued        int // samples

	mu     sync.Mutex
	queue  []item
	queued int
	closed bool

	wake      chan struct{} // one slot: work was queued
	done      chan struct{} // closed by Close
	life      context.Context
	cancel    context.CancelFunc // ends dials when the stream closes
	wg        sync.WaitGroup
	closeOnce sync.Once

	// Owned by the run goroutine.
	conn     *conn
	rs       *resample.Resampler // nil when audio is sent at its own rate
	utt      utterance
	pending  bool        // a Finalize awaits its final
	finTimer *time.Timer // bounds the wait for Deepgram's answer to Finalize
	failed   bool        // the connection dropped mid-utterance; skip audio until Finalize
	lastSent time.Time
	pcmBuf   []int16
	byteBuf  []byte
}

// item is a frame of audio or, when final is set, a Finalize request.
type item struct {
	pcm   []int16
	final bool
}

// conn is one WebSocket and its reader goroutine.
type conn struct {
	ws       *websocket.Conn
	events   chan event    // frames and the read error, in order
	stop     chan struct{} // closed to release the reader
	stopOnce sync.Once
}

// event is a text frame received, or the error that ended reading.
type event struct {
	data []byte
	err  error
}

func (c *conn) close() {
	c.stopOnce.Do(func() { close(c.stop) })
	c.ws.Close()
}

func newStream(ctx context.Context, cfg Config, u string, inRate, sendRate int, sink func(pipeline.STTResult)) (*stream, error) {
	s := &stream{
		cfg:       cfg,
		url:       u,
		inRate:    inRate,
		sendRate:  sendRate,
		sink:      sink,
		log:       cfg.Logger,
		maxQueued: int(cfg.MaxQueued * time.Duration(inRate) / time.Second),
		wake:      make(chan struct{}, 1),
		done:      make(chan struct{}),
	}
	if inRate != sendRate {
		rs, err := resample.New(inRate, sendRate)
		if err != nil {
			return nil, fmt.Errorf("deepgram: %w", err)
		}
		s.rs = rs
	}
	ws, err := dial(ctx, cfg, u)
	if err != nil {
		return nil, err
	}
	s.life, s.cancel = context.WithCancel(context.Background())
	s.attach(ws)
	s.wg.Add(1)
	go s.run()
	return s, nil
}

// Write queues a copy of pcm. It returns pipeline.ErrBackpressure, dropping
// the frame, when Config.MaxQueued of audio is already waiting to be sent.
func (s *stream) Write(pcm []int16) error {
	if len(pcm) == 0 {
		return nil
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return pipeline.ErrClosed
	}
	if s.queued+len(pcm) > s.maxQueued {
		s.mu.Unlock()
		return pipeline.ErrBackpressure
	}
	s.queue = append(s.queue, item{pcm: append([]int16(nil), pcm...)})
	s.queued += len(pcm)
	s.mu.Unlock()
	s.signal()
	return nil
}

// Finalize sends {"type":"Finalize"} after the queued audio. The next final
// result answers it: Deepgram's from_finalize result, a speech_final or
// UtteranceEnd that arrives first, or, after Config.FinalizeTimeout, what was
// recognised so far. Without a connection the final is emitted at once.
func (s *stream) Finalize() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return pipeline.ErrClosed
	}
	s.queue = append(s.queue, item{final: true})
	s.mu.Unlock()
	s.signal()
	return nil
}

// Close sends CloseStream, waits briefly for Deepgram to close the socket,
// and stops the stream's goroutines. Results arriving meanwhile are dropped:
// the sink is not called once Close has begun. It must not be called from the sink.
func (s *stream) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		close(s.done)
		s.cancel()
		s.wg.Wait()
	})
	return nil
}

func (s *stream) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// attach starts reading a new socket.
func (s *stream) attach(ws *websocket.Conn) {
	c := &conn{ws: ws, events: make(chan event, 16), stop: make(chan struct{})}
	s.conn = c
	s.lastSent = time.Now()
	s.wg.Add(1)
	go s.read(c)
}

// read forwards text frames to the run goroutine until the socket fails.
func (s *stream) read(c *conn) {
	defer s.wg.Done()
	for {
		typ, data, err := c.ws.ReadMessage()
		if err == nil && typ != websocket.TextMessage {
			continue
		}
		select {
		case c.events <- event{data: data, err: err}:
		case <-c.stop:
			return
		}
		if err != nil {
			return
		}
	}
}

func (s *stream) run() {
	defer s.wg.Done()
	tick := time.NewTicker(max(s.cfg.KeepAlive/2, time.Millisecond))
	defer tick.Stop()
	var batch []item
	for {
		var events <-chan event
		if s.conn != nil {
			events = s.conn.events
		}
		var finalizeDue <-chan time.Time
		if s.finTimer != nil {
			finalizeDue = s.finTimer.C
		}
		select {
		case <-s.done:
			s.shutdown()
			return
		case <-s.wake:
			s.mu.Lock()
			batch, s.queue = s.queue, batch[:0]
			s.mu.Unlock()
			for i, it := range batch {
				if it.final {
					s.finalize()
				} else {
					s.sendAudio(it.pcm)
					s.mu.Lock()
					s.queued -= len(it.pcm)
					s.mu.Unlock()
				}
				batch[i] = item{}
			}
		case ev := <-events:
			s.handle(ev)
		case <-tick.C:
			if s.conn != nil && time.Since(s.lastSent) >= s.cfg.KeepAlive {
				s.send(websocket.TextMessage, msgKeepAlive)
			}
		case <-finalizeDue:
			s.finTimer = nil
			s.log.Warn("deepgram: no answer to Finalize in time; emitting what was recognised", "timeout", s.cfg.FinalizeTimeout)
			s.emitFinal()
		}
	}
}

// send writes one frame, treating a failure as a dropped connection.
func (s *stream) send(typ int, data []byte) bool {
	if s.conn == nil {
		return false
	}
	s.conn.ws.SetWriteDeadline(time.Now().Add(s.cfg.DialTimeout))
	if err := s.conn.ws.WriteMessage(typ, data); err != nil {
		s.lost(err)
		return false
	}
	s.lastSent = time.Now()
	return true
}

// sendAudio sends one frame as little-endian linear16, reconnecting first
// when the previous connection dropped between utterances.
func (s *stream) sendAudio(pcm []int16) {
	if s.failed {
		return
	}
	if s.conn == nil && !s.reconnect() {
		return
	}
	out := pcm
	if s.rs != nil {
		s.pcmBuf = s.rs.Process(s.pcmBuf[:0], pcm)
		out = s.pcmBuf
	}
	s.sendPCM(out)
}

func (s *stream) sendPCM(pcm []int16) {
	if len(pcm) == 0 {
		return
	}
	b := s.byteBuf[:0]
	for _, v := range pcm {
		b = binary.LittleEndian.AppendUint16(b, uint16(v))
	}
	s.byteBuf = b
	s.send(websocket.BinaryMessage, b)
}

func (s *stream) reconnect() bool {
	ws, err := dial(s.life, s.cfg, s.url)
	if err != nil {
		if s.life.Err() == nil {
			s.sink(pipeline.STTResult{Kind: pipeline.STTError, Err: fmt.Errorf("reconnecting: %w", err)})
		}
		s.failed = true
		return false
	}
	if s.rs != nil {
		s.rs.Reset()
	}
	s.attach(ws)
	return true
}

// finalize handles a Finalize request in queue order.
func (s *stream) finalize() {
	if s.conn == nil || s.failed {
		s.failed = false
		s.emitFinal()
		return
	}
	if s.rs != nil {
		s.pcmBuf = s.rs.Flush(s.pcmBuf[:0])
		s.sendPCM(s.pcmBuf)
	}
	s.pending = true
	if s.send(websocket.TextMessage, msgFinalize) && s.finTimer == nil {
		s.finTimer = time.NewTimer(s.cfg.FinalizeTimeout)
	}
}

// handle processes one received frame or the end of the socket.
func (s *stream) handle(ev event) {
	if ev.err != nil {
		s.lost(ev.err)
		return
	}
	m, err := parse(ev.data)
	if err != nil {
		s.log.Warn("deepgram: ignoring a malformed message", "err", err)
		return
	}
	switch m.Type {
	case "Results":
		t, conf := m.best()
		if !m.IsFinal {
			if p := s.utt.interim(t); p != "" {
				s.sink(pipeline.STTResult{Kind: pipeline.STTPartial, Text: p, Confidence: conf})
			}
			return
		}
		s.utt.add(m, t, conf)
		if m.SpeechFinal || m.FromFinalize {
			s.endUtterance(m.FromFinalize)
		}
	case "UtteranceEnd":
		s.endUtterance(false)
	case "Error":
		desc := m.Description
		if desc == "" {
			desc = m.Message
		}
		s.sink(pipeline.STTResult{Kind: pipeline.STTError, Err: providerError(0, true, &ServerError{Variant: m.Variant, Description: desc})})
	default:
		// Metadata, SpeechStarted and unknown types carry nothing we need.
	}
}

// endUtterance emits the final when Deepgram ends an utterance. speech_final
// and UtteranceEnd often both fire for the same words: the second finds the
// utterance empty and is dropped, unless it answers a pending Finalize.
func (s *stream) endUtterance(fromFinalize bool) {
	if s.utt.empty() && !(fromFinalize && s.pending) {
		return
	}
	s.emitFinal()
}

// emitFinal sends the utterance's final and settles a pending Finalize.
func (s *stream) emitFinal() {
	s.pending = false
	if s.finTimer != nil {
		s.finTimer.Stop()
		s.finTimer = nil
	}
	s.sink(s.utt.final())
}

// lost reports a dropped connection. A pending Finalize is answered with what
// was recognised; otherwise the rest of the utterance is skipped until Finalize.
func (s *stream) lost(err error) {
	if s.conn == nil {
		return
	}
	s.conn.close()
	s.conn = nil
	s.sink(pipeline.STTResult{Kind: pipeline.STTError, Err: providerError(0, true, fmt.Errorf("%w: %w: %w", ErrConnectionLost, pipeline.ErrStreamCut, err))})
	if s.pending {
		s.emitFinal()
		return
	}
	s.failed = true
}

// shutdown ends the socket politely: CloseStream, then wait for Deepgram to
// close (it sends the last results and Metadata first, which are dropped).
func (s *stream) shutdown() {
	if s.finTimer != nil {
		s.finTimer.Stop()
		s.finTimer = nil
	}
	c := s.conn
	if c == nil {
		return
	}
	s.conn = nil
	c.ws.SetWriteDeadline(time.Now().Add(s.cfg.CloseTimeout))
	if c.ws.WriteMessage(websocket.TextMessage, msgCloseStream) == nil {
		t := time.NewTimer(s.cfg.CloseTimeout)
		defer t.Stop()
	wait:
		for {
			select {
			case ev := <-c.events:
				if ev.err != nil {
					break wait
				}
			case <-t.C:
				break wait
			}
		}
	}
	c.close()
}

var _ pipeline.STTStream = (*stream)(nil)
