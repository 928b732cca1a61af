package webrtc

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/rtp"
	pion "github.com/pion/webrtc/v4"
	pmedia "github.com/pion/webrtc/v4/pkg/media"
	"go.uber.org/goleak"

	"github.com/parley-voice/parley/media/codec"
)

func checkLeaks(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		if err := goleak.Find(ignore); err != nil {
			t.Error(err)
		}
	})
}

// fakeCall stands in for the call actor.
type fakeCall struct {
	id      string
	audio   chan []int16
	dtmf    chan string
	hangups chan string
	done    chan struct{}
	once    sync.Once
	conn    *Conn
}

func newFakeCall(conn *Conn) *fakeCall {
	return &fakeCall{id: "call_test", audio: make(chan []int16, 1000), dtmf: make(chan string, 10),
		hangups: make(chan string, 10), done: make(chan struct{}), conn: conn}
}

func (f *fakeCall) ID() string { return f.id }
func (f *fakeCall) Audio(pcm []int16) {
	select {
	case f.audio <- pcm:
	default:
	}
}
func (f *fakeCall) DTMF(d string) { f.dtmf <- d }
func (f *fakeCall) Hangup(reason string) {
	select {
	case f.hangups <- reason:
	default:
	}
}
func (f *fakeCall) Done() <-chan struct{} { return f.done }

// end does what the call actor does when a call ends: close the transport.
func (f *fakeCall) end(reason string) {
	f.once.Do(func() {
		f.conn.Close(reason)
		close(f.done)
	})
}

// fixture is a Handler on a loopback HTTP server whose calls are fakeCalls.
type fixture struct {
	h       *Handler
	srv     *httptest.Server
	calls   chan *fakeCall
	reports chan ClientReport
}

func newFixture(t *testing.T, edit func(*Handler)) *fixture {
	t.Helper()
	f := &fixture{calls: make(chan *fakeCall, 10), reports: make(chan ClientReport, 100)}
	f.h = &Handler{
		IncludeLoopback: true,
		Start: func(ctx context.Context, req StartRequest, conn *Conn) (CallHandle, error) {
			c := newFakeCall(conn)
			f.calls <- c
			return c, nil
		},
		OnClientReport: func(_ string, r ClientReport) { f.reports <- r },
	}
	if edit != nil {
		edit(f.h)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /v1/webrtc/{agent}", f.h)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) post(t *testing.T, agent, contentType, body string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", f.srv.URL+"/v1/webrtc/"+agent, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// clientCodec is a codec the browser stand-in offers, with its encoding of
// the microphone (mono PCM at rate) and its decoding of the agent's audio.
type clientCodec struct {
	params pion.RTPCodecParameters
	rate   int
	encode func(pcm []int16) []byte
	decode func(payload []byte) []int16
}

var pcmuClient = &clientCodec{
	params: pion.RTPCodecParameters{
		RTPCodecCapability: pion.RTPCodecCapability{MimeType: pion.MimeTypePCMU, ClockRate: 8000}, PayloadType: 0,
	},
	rate:   8000,
	encode: func(pcm []int16) []byte { return codec.EncodeMulaw(nil, pcm) },
	decode: func(p []byte) []int16 { return codec.DecodeMulaw(nil, p) },
}

// client is a browser stand-in: a pion peer that offers its codecs (PCMU
// unless told otherwise) and an events data channel, like the page does.
type client struct {
	codec    *clientCodec // of the microphone track: the first offered
	pc       *pion.PeerConnection
	track    *pion.TrackLocalStaticSample
	dc       *pion.DataChannel
	open     chan struct{}
	messages chan map[string]any
	packets  chan *rtp.Packet
	wg       sync.WaitGroup
}

func newClient(t *testing.T, codecs ...*clientCodec) *client {
	t.Helper()
	if len(codecs) == 0 {
		codecs = []*clientCodec{pcmuClient}
	}
	m := &pion.MediaEngine{}
	for _, cc := range codecs {
		if err := m.RegisterCodec(cc.params, pion.RTPCodecTypeAudio); err != nil {
			t.Fatal(err)
		}
	}
	se := pion.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	pc, err := pion.NewAPI(pion.WithMediaEngine(m), pion.WithSettingEngine(se)).NewPeerConnection(pion.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	c := &client{codec: codecs[0], pc: pc, open: make(chan struct{}), messages: make(chan map[string]any, 100), packets: make(chan *rtp.Packet, 2000)}
	c.track, _ = pion.NewTrackLocalStaticSample(c.codec.params.RTPCodecCapability, "mic", "client")
	if _, err := pc.AddTrack(c.track); err != nil {
		t.Fatal(err)
	}
	c.dc, err = pc.CreateDataChannel(EventsLabel, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.dc.OnOpen(func() { close(c.open) })
	c.dc.OnMessage(func(m pion.DataChannelMessage) {
		var v map[string]any
		if json.Unmarshal(m.Data, &v) == nil && m.IsString {
			c.messages <- v
		}
	})
	pc.OnTrack(func(tr *pion.TrackRemote, _ *pion.RTPReceiver) {
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			select {
			case c.packets <- p:
			default:
			}
		}
	})
	t.Cleanup(c.close)
	return c
}

func (c *client) offer(t *testing.T) string {
	t.Helper()
	o, err := c.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	g := pion.GatheringCompletePromise(c.pc)
	if err := c.pc.SetLocalDescription(o); err != nil {
		t.Fatal(err)
	}
	<-g
	return c.pc.LocalDescription().SDP
}

func (c *client) accept(t *testing.T, answer string) {
	t.Helper()
	if err := c.pc.SetRemoteDescription(pion.SessionDescription{Type: pion.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
}

// speak sends n 20 ms frames of a tone of hz in the microphone's codec.
func (c *client) speak(n int, hz float64) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		pcm := make([]int16, c.codec.rate/50)
		for i := range n {
			for j := range pcm {
				pcm[j] = int16(8000 * math.Sin(2*math.Pi*hz*float64(i*len(pcm)+j)/float64(c.codec.rate)))
			}
			_ = c.track.WriteSample(pmedia.Sample{Data: c.codec.encode(pcm), Duration: 20 * time.Millisecond})
			time.Sleep(5 * time.Millisecond)
		}
	}()
}

func (c *client) send(t *testing.T, v any) {
	t.Helper()
	b, _ := json.Marshal(v)
	if err := c.dc.SendText(string(b)); err != nil {
		t.Fatal(err)
	}
}

func (c *client) close() {
	c.wg.Wait()
	_ = c.pc.GracefulClose()
}

func within[T any](t *testing.T, ch <-chan T, d time.Duration, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(d):
		t.Fatalf("no %s within %s", what, d)
		var zero T
		return zero
	}
}

func rms(pcm []int16) float64 {
	var s float64
	for _, v := range pcm {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s / float64(max(len(pcm), 1)))
}

// toneShare is the share of pcm's energy at hz (Goertzel): near 1 for a pure
// tone of hz, near 0 for silence or other frequencies.
func toneShare(pcm []int16, hz float64, rate int) float64 {
	w := 2 * math.Pi * hz / float64(rate)
	coeff := 2 * math.Cos(w)
	var s1, s2, energy float64
	for _, v := range pcm {
		x := float64(v)
		s1, s2 = x+coeff*s1-s2, s1
		energy += x * x
	}
	if energy == 0 {
		return 0
	}
	power := s1*s1 + s2*s2 - coeff*s1*s2
	return 2 * power / (float64(len(pcm)) * energy)
}

func sinAt(hz float64, rate, i int) float64 {
	return math.Sin(2 * math.Pi * hz * float64(i) / float64(rate))
}
