package webrtc

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	pion "github.com/pion/webrtc/v4"

	"github.com/parley-voice/parley/media"
)

// EventsLabel is the label of the data channel the page opens for events.
const EventsLabel = "events"

// maxGapPackets is the largest sequence gap filled with silence; a larger jump
// is taken as a new stream rather than loss.
const maxGapPackets = 50

// session routes what the peer connection reports to the call: audio, the
// page's messages, and connection state changes that end the call.
type session struct {
	h    *Handler
	conn *Conn
	log  *slog.Logger

	mu      sync.Mutex
	call    CallHandle
	pending string        // a hang-up reason seen before the call was bound
	bound   chan struct{} // closed by bind

	badMessages atomic.Uint64
}

func newSession(h *Handler, conn *Conn, log *slog.Logger) *session {
	return &session{h: h, conn: conn, log: log, bound: make(chan struct{})}
}

// bind attaches the started call; a hang-up that came first is delivered now.
func (s *session) bind(call CallHandle) {
	s.mu.Lock()
	s.call = call
	pending := s.pending
	s.mu.Unlock()
	close(s.bound)
	if pending != "" {
		call.Hangup(pending)
	}
}

func (s *session) hangup(reason string) {
	select {
	case <-s.conn.done:
		return // the call already ended and closed the connection
	default:
	}
	s.mu.Lock()
	call := s.call
	if call == nil && s.pending == "" {
		s.pending = reason
	}
	s.mu.Unlock()
	if call != nil {
		call.Hangup(reason)
	}
}

// wire installs the peer connection's callbacks and the connect timer.
func (s *session) wire(sender *pion.RTPSender) {
	c := s.conn
	if c.addReader() {
		go s.drainRTCP(sender)
	}
	c.timers = append(c.timers, time.AfterFunc(orDefault(s.h.ConnectTimeout, 20*time.Second), func() {
		select {
		case <-c.connected:
		default:
			s.log.Info("peer connection did not connect in time")
			s.hangup("transport_error")
		}
	}))
	c.pc.OnConnectionStateChange(func(st pion.PeerConnectionState) {
		s.log.Debug("peer connection state", "state", st.String())
		switch st {
		case pion.PeerConnectionStateConnected:
			c.setConnected()
		case pion.PeerConnectionStateFailed:
			s.hangup("transport_error")
		case pion.PeerConnectionStateClosed:
			s.hangup("caller_hangup")
		}
	})
	c.pc.OnTrack(func(tr *pion.TrackRemote, _ *pion.RTPReceiver) {
		wc := codecFor(tr.Codec().MimeType)
		if tr.Kind() != pion.RTPCodecTypeAudio || wc == nil {
			s.log.Info("ignoring track", "kind", tr.Kind().String(), "codec", tr.Codec().MimeType)
			return
		}
		dec, err := wc.newDecoder()
		if err != nil {
			s.log.Error("caller audio", "codec", wc.name(), "err", err)
			s.hangup("transport_error")
			return
		}
		s.log.Debug("caller audio track", "codec", wc.name())
		if c.addReader() {
			go s.readAudio(tr, dec)
		}
	})
	c.pc.OnDataChannel(func(dc *pion.DataChannel) {
		if dc.Label() != EventsLabel || !c.setDataChannel(dc) {
			s.log.Info("ignoring data channel", "label", dc.Label())
			return
		}
		dc.OnOpen(c.dataChannelOpen)
		dc.OnMessage(s.onMessage)
		dc.OnClose(func() { s.hangup("caller_hangup") })
	})
}

// drainRTCP reads the sender's RTCP so the interceptors see receiver reports.
func (s *session) drainRTCP(sender *pion.RTPSender) {
	defer s.conn.readers.Done()
	buf := make([]byte, 1500)
	for {
		if _, _, err := sender.Read(buf); err != nil {
			return
		}
	}
}

// readAudio turns the caller's packets (Opus or PCMU) into 20 ms frames at
// 16 kHz. Lost packets are concealed (Opus) or become silence (PCMU) so the
// call's timing holds; late and duplicate packets are dropped (there is no
// jitter buffer: packets are played, or recognised, in arrival order).
func (s *session) readAudio(tr *pion.TrackRemote, dec audioDecoder) {
	defer s.conn.readers.Done()
	select {
	case <-s.bound:
	case <-s.conn.done:
		return
	}
	call := s.call
	frame := media.SamplesPerFrame(SampleRate)
	pt := tr.PayloadType()
	var (
		pending []int16
		lastSeq uint16
		started bool
		bad     uint64
	)
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return // the peer connection closed; its state change ends the call
		}
		if pkt.PayloadType != uint8(pt) || len(pkt.Payload) == 0 {
			continue
		}
		if started {
			d := pkt.SequenceNumber - lastSeq
			if d == 0 || d > 0x8000 {
				continue // duplicate or late
			}
			if d > 1 && d <= maxGapPackets {
				pending = dec.conceal(pending, int(d-1), pkt.Payload)
			}
		}
		started, lastSeq = true, pkt.SequenceNumber
		if pending, err = dec.decode(pending, pkt.Payload); err != nil {
			// A corrupt packet is the sender's problem: skip it.
			if bad++; bad <= 5 || bad%100 == 0 {
				s.log.Info("caller packet dropped", "err", err, "count", bad)
			}
		}
		for len(pending) >= frame {
			f := make([]int16, frame)
			copy(f, pending[:frame])
			call.Audio(f)
			pending = append(pending[:0], pending[frame:]...)
		}
	}
}

// onMessage handles a message from the page. Bad messages are counted and
// logged, never fatal: the page is not trusted to be well behaved, and a bad
// message harms no one but its sender.
func (s *session) onMessage(msg pion.DataChannelMessage) {
	m, err := ParseClientMessage(msg.Data)
	if err != nil {
		if n := s.badMessages.Add(1); n <= 5 || n%100 == 0 {
			s.log.Info("data channel message ignored", "err", err, "count", n)
		}
		return
	}
	s.mu.Lock()
	call := s.call
	s.mu.Unlock()
	switch m.Type {
	case TypeHangup:
		s.hangup("caller_hangup")
	case TypeDTMF:
		if call != nil {
			call.DTMF(m.Digit)
		}
	case TypeStats:
		if call != nil && s.h.OnClientReport != nil {
			s.h.OnClientReport(call.ID(), *m.Stats)
		}
	}
}
