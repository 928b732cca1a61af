package e2e

import (
	"context"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/media"
	"github.com/parley-voice/parley/media/native"
	"github.com/parley-voice/parley/pipeline"
	"github.com/parley-voice/parley/pipeline/espeak"
	"github.com/parley-voice/parley/pipeline/sphinx"
	_ "github.com/parley-voice/parley/plugins/all"
	_ "github.com/parley-voice/parley/plugins/demo"
	"github.com/parley-voice/parley/runtime/events"
	"github.com/parley-voice/parley/runtime/server"
)

// requireSpeech skips when the offline speech stack is missing (make test
// installs it, so in CI this never skips).
func requireSpeech(t *testing.T) {
	t.Helper()
	if err := espeak.Available(); err != nil {
		t.Fatalf("espeak-ng is required for end-to-end tests (run make deps): %v", err)
	}
	if err := sphinx.Available(); err != nil {
		t.Fatalf("PocketSphinx is required for end-to-end tests (run make deps): %v", err)
	}
}

// checkLeaks fails the test if goroutines started during it outlive it (checked
// after every other cleanup: the server's shutdown, the caller's close).
func checkLeaks(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		if err := goleak.Find(ignore, goleak.IgnoreTopFunction("github.com/parley-voice/parley/pipeline/sphinx.(*pool).reap")); err != nil {
			t.Error(err)
		}
	})
}

// testServer runs the demo agent (optionally modified) on a loopback socket.
type testServer struct {
	srv  *server.Server
	http *httptest.Server
	url  string
	sub  *events.Subscription
}

func startServer(t *testing.T, edit func(*agents.Config)) *testServer {
	t.Helper()
	data, err := os.ReadFile("../../configs/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := agents.Parse("configs/demo.yaml", data, os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(cfg)
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
	}
	srv, err := server.New(server.Config{Agents: []*agents.Config{cfg}})
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{srv: srv, sub: srv.Bus().Subscribe(100000, "")}
	ts.http = httptest.NewServer(srv.Handler())
	ts.url = "ws" + strings.TrimPrefix(ts.http.URL, "http") + "/v1/ws"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		ts.http.CloseClientConnections()
		ts.http.Close()
	})
	return ts
}

// events drains the server-side events of one call seen so far.
func (ts *testServer) events(callID string) []*events.Event {
	var out []*events.Event
	for {
		select {
		case e, ok := <-ts.sub.C():
			if !ok {
				return out
			}
			if e.CallID == callID {
				out = append(out, e)
			}
		default:
			return out
		}
	}
}

var (
	ttsOnce sync.Once
	ttsInst *espeak.TTS
)

func callerTTS(t *testing.T) *espeak.TTS {
	ttsOnce.Do(func() {
		var err error
		ttsInst, err = espeak.New(espeak.Config{})
		if err != nil {
			t.Fatalf("espeak: %v", err)
		}
	})
	return ttsInst
}

// speech synthesises a caller line at 16 kHz in the caller's voice.
func speech(t *testing.T, text string) []int16 {
	t.Helper()
	var pcm []int16
	err := callerTTS(t).Synthesize(context.Background(), pipeline.TTSRequest{Text: text, SampleRate: 16000, Voice: "en-us+m3"},
		func(p []int16) error { pcm = append(pcm, p...); return nil })
	if err != nil {
		t.Fatal(err)
	}
	return pcm
}

type audioFrame struct {
	at    time.Time
	level float64
}

type nativeEvent = native.ClientEvent

// phone is a caller that streams a frame every 20 ms (speech when queued,
// silence otherwise) and records everything the server sends, with times.
type phone struct {
	t  *testing.T
	cl *native.Client

	mu      sync.Mutex
	queue   [][]int16
	onsets  []time.Time // when the first loud frame of each queued line was sent
	pending bool        // a line was queued and its onset not yet seen
	audio   []audioFrame
	clears  []time.Time
	evs     []native.ClientEvent
	evc     chan native.ClientEvent
	stop    chan struct{}
	wg      sync.WaitGroup
}

func dial(t *testing.T, url string) *phone {
	t.Helper()
	p := &phone{t: t, evc: make(chan native.ClientEvent, 4096), stop: make(chan struct{})}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl, err := native.Dial(ctx, url, nil, native.Control{Agent: "demo", From: "+15550123"}, native.ClientHandler{
		OnAudio: func(pcm []int16, at time.Time) {
			p.mu.Lock()
			p.audio = append(p.audio, audioFrame{at: at, level: media.RMSdBFS(pcm)})
			p.mu.Unlock()
		},
		OnClear: func(at time.Time) {
			p.mu.Lock()
			p.clears = append(p.clears, at)
			p.mu.Unlock()
		},
		OnEvent: func(e native.ClientEvent) {
			p.mu.Lock()
			p.evs = append(p.evs, e)
			p.mu.Unlock()
			p.evc <- e
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	p.cl = cl
	p.wg.Add(1)
	go p.send()
	t.Cleanup(p.close)
	return p
}

func (p *phone) close() {
	select {
	case <-p.stop:
		return
	default:
	}
	close(p.stop)
	p.wg.Wait()
	p.cl.Close()
}

func (p *phone) send() {
	defer p.wg.Done()
	silence := make([]int16, 320)
	tick := time.NewTicker(media.FrameDuration)
	defer tick.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-p.cl.Done():
			return
		case <-tick.C:
		}
		p.mu.Lock()
		f := silence
		if len(p.queue) > 0 {
			f = p.queue[0]
			p.queue = p.queue[1:]
		}
		loud := p.pending && media.RMSdBFS(f) > -60 // the first audible frame
		p.mu.Unlock()
		if err := p.cl.SendAudio(f); err != nil {
			return
		}
		if loud {
			p.mu.Lock()
			p.onsets = append(p.onsets, time.Now())
			p.pending = false
			p.mu.Unlock()
		}
	}
}

// say queues a line; it starts going out on the next frame tick.
func (p *phone) say(pcm []int16) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for off := 0; off < len(pcm); off += 320 {
		f := make([]int16, 320)
		copy(f, pcm[off:min(off+320, len(pcm))])
		p.queue = append(p.queue, f)
	}
	p.pending = true
}

// saidAll reports whether every queued frame has been sent.
func (p *phone) saidAll() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.queue) == 0
}

// await waits for an event of the given type (and optional predicate).
func (p *phone) await(typ string, timeout time.Duration, pred func(native.ClientEvent) bool) native.ClientEvent {
	p.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case e := <-p.evc:
			if e.Type == typ && (pred == nil || pred(e)) {
				return e
			}
		case <-deadline:
			p.t.Fatalf("no %s within %s; events so far: %s", typ, timeout, p.eventTypes())
			return native.ClientEvent{}
		}
	}
}

// absent fails if an event of typ arrives within d.
func (p *phone) absent(typ string, d time.Duration) {
	p.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case e := <-p.evc:
			if e.Type == typ {
				p.t.Fatalf("unexpected %s: %v", typ, e.Payload)
			}
		case <-deadline:
			return
		}
	}
}

func (p *phone) eventTypes() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var s []string
	for _, e := range p.evs {
		s = append(s, e.Type)
	}
	return strings.Join(s, " ")
}

// audioBetween returns agent frames received in [from, to).
func (p *phone) audioBetween(from, to time.Time) []audioFrame {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []audioFrame
	for _, f := range p.audio {
		if !f.at.Before(from) && f.at.Before(to) {
			out = append(out, f)
		}
	}
	return out
}

func (p *phone) lastOnset() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.onsets) == 0 {
		return time.Time{}
	}
	return p.onsets[len(p.onsets)-1]
}
