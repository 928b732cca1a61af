package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/media/codec"
	"github.com/parley-voice/parley/media/resample"
	"github.com/parley-voice/parley/media/twilio"
	"github.com/parley-voice/parley/pipeline"
	"github.com/parley-voice/parley/runtime/events"
	"github.com/parley-voice/parley/runtime/server"
)

const (
	twilioToken  = "e2e-twilio-token"
	twilioStream = "MZ00000000000000000000000000000e2e"
	twilioCall   = "CA00000000000000000000000000000e2e"
	// jitterDelay is how long the fake Twilio holds agent audio before playing
	// it, like a real network and jitter buffer: what Parley has written and
	// what the caller has heard differ by this much, and only marks tell.
	jitterDelay = 800 * time.Millisecond
)

// startTwilioServer runs the demo agent with Twilio signature checking on.
func startTwilioServer(t *testing.T) (*server.Server, string, *events.Subscription) {
	t.Helper()
	data, err := os.ReadFile("../../configs/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := agents.Parse("configs/demo.yaml", data, os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{Agents: []*agents.Config{cfg}, TwilioAuthToken: twilioToken})
	if err != nil {
		t.Fatal(err)
	}
	sub := srv.Bus().Subscribe(100000, "")
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		hs.CloseClientConnections()
		hs.Close()
	})
	return srv, "ws" + strings.TrimPrefix(hs.URL, "http") + "/v1/twilio/media", sub
}

// queued is one item of the fake's playback queue: a frame of agent audio or a mark.
type queued struct {
	ulaw   []byte
	mark   string
	playAt time.Time
}

// fakeTwilio behaves like Twilio's side of a bidirectional media stream: it
// streams the caller's μ-law audio in real time, buffers the agent's audio and
// plays it in real time after jitterDelay, echoes each mark when playback
// reaches it, and on clear drops its buffer and returns every pending mark.
type fakeTwilio struct {
	t  *testing.T
	ws *websocket.Conn

	wmu sync.Mutex // serialises writes

	mu        sync.Mutex
	say       [][]byte // caller frames to send
	onset     time.Time
	queue     []queued
	received  int // agent μ-law bytes received
	played    int // agent μ-law bytes played to the caller
	clears    []clearRecord
	echoed    []string
	stop      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
}

type clearRecord struct {
	at       time.Time
	played   int // bytes played before the clear
	received int // bytes received before the clear
	flushed  []string
}

func dialTwilio(t *testing.T, url string) *fakeTwilio {
	t.Helper()
	hdr := http.Header{twilio.SignatureHeader: {twilio.Signature(twilioToken, url, nil)}}
	ws, _, err := websocket.DefaultDialer.Dial(url, hdr)
	if err != nil {
		t.Fatalf("dialing the twilio media stream: %v", err)
	}
	f := &fakeTwilio{t: t, ws: ws, stop: make(chan struct{})}
	f.send(map[string]any{"event": "connected", "protocol": "Call", "version": "1.0.0"})
	f.send(map[string]any{"event": "start", "sequenceNumber": "1", "streamSid": twilioStream, "start": map[string]any{
		"streamSid": twilioStream, "accountSid": "AC00000000000000000000000000000e2e", "callSid": twilioCall,
		"tracks":           []string{"inbound"},
		"customParameters": map[string]string{"agent": "demo", "from": "+15550123", "to": "+15550199", "call_sid": twilioCall},
		"mediaFormat":      map[string]any{"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
	}})
	f.wg.Add(3)
	go f.sender()
	go f.reader()
	go f.player()
	t.Cleanup(f.close)
	return f
}

func (f *fakeTwilio) send(v any) {
	b, _ := json.Marshal(v)
	f.wmu.Lock()
	defer f.wmu.Unlock()
	_ = f.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_ = f.ws.WriteMessage(websocket.TextMessage, b)
}

func (f *fakeTwilio) close() {
	f.closeOnce.Do(func() {
		close(f.stop)
		f.ws.Close()
		f.wg.Wait()
	})
}

// hangup sends stop, as Twilio does when the caller hangs up.
func (f *fakeTwilio) hangup() {
	f.send(map[string]any{"event": "stop", "sequenceNumber": "99999", "streamSid": twilioStream,
		"stop": map[string]any{"accountSid": "AC00000000000000000000000000000e2e", "callSid": twilioCall}})
}

// sayLine queues caller speech (16 kHz PCM) as 8 kHz μ-law frames.
func (f *fakeTwilio) sayLine(pcm16 []int16) {
	pcm8, err := resample.Convert(pcm16, 16000, 8000)
	if err != nil {
		f.t.Fatal(err)
	}
	ulaw := codec.EncodeMulaw(nil, pcm8)
	f.mu.Lock()
	defer f.mu.Unlock()
	for off := 0; off < len(ulaw); off += twilio.BytesPerFrame {
		fr := make([]byte, twilio.BytesPerFrame)
		for i := range fr {
			fr[i] = 0xff
		}
		copy(fr, ulaw[off:min(off+twilio.BytesPerFrame, len(ulaw))])
		f.say = append(f.say, fr)
	}
	f.onset = time.Time{}
}

func (f *fakeTwilio) sender() {
	defer f.wg.Done()
	silence := make([]byte, twilio.BytesPerFrame)
	for i := range silence {
		silence[i] = 0xff
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	seq, chunk := 1, 0
	for {
		select {
		case <-f.stop:
			return
		case <-tick.C:
		}
		f.mu.Lock()
		fr := silence
		if len(f.say) > 0 {
			fr = f.say[0]
			f.say = f.say[1:]
			if f.onset.IsZero() {
				f.onset = time.Now()
			}
		}
		f.mu.Unlock()
		seq++
		chunk++
		f.send(map[string]any{"event": "media", "sequenceNumber": fmt.Sprint(seq), "streamSid": twilioStream,
			"media": map[string]any{"track": "inbound", "chunk": fmt.Sprint(chunk), "timestamp": fmt.Sprint(chunk * 20),
				"payload": base64.StdEncoding.EncodeToString(fr)}})
	}
}

func (f *fakeTwilio) reader() {
	defer f.wg.Done()
	for {
		_, data, err := f.ws.ReadMessage()
		if err != nil {
			return
		}
		var m struct {
			Event     string `json:"event"`
			StreamSid string `json:"streamSid"`
			Media     struct {
				Payload string `json:"payload"`
			} `json:"media"`
			Mark struct {
				Name string `json:"name"`
			} `json:"mark"`
		}
		if err := json.Unmarshal(data, &m); err != nil || m.StreamSid != twilioStream {
			f.t.Errorf("Parley sent %s: not a message for this stream", data)
			continue
		}
		now := time.Now()
		switch m.Event {
		case "media":
			b, err := base64.StdEncoding.DecodeString(m.Media.Payload)
			if err != nil {
				f.t.Errorf("media payload: %v", err)
				continue
			}
			f.mu.Lock()
			f.received += len(b)
			f.queue = append(f.queue, queued{ulaw: b, playAt: now.Add(jitterDelay)})
			f.mu.Unlock()
		case "mark":
			f.mu.Lock()
			f.queue = append(f.queue, queued{mark: m.Mark.Name})
			f.mu.Unlock()
		case "clear":
			f.mu.Lock()
			rec := clearRecord{at: now, played: f.played, received: f.received}
			for _, q := range f.queue {
				if q.mark != "" {
					rec.flushed = append(rec.flushed, q.mark)
				}
			}
			f.queue = nil
			f.clears = append(f.clears, rec)
			f.mu.Unlock()
			for _, name := range rec.flushed {
				f.send(map[string]any{"event": "mark", "sequenceNumber": "0", "streamSid": twilioStream, "mark": map[string]string{"name": name}})
			}
		default:
			f.t.Errorf("Parley sent an event Twilio does not take: %s", data)
		}
	}
}

// player plays one 20 ms frame per tick once it is due, echoing marks as
// playback reaches them.
func (f *fakeTwilio) player() {
	defer f.wg.Done()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-f.stop:
			return
		case <-tick.C:
		}
		var marks []string
		f.mu.Lock()
		for len(f.queue) > 0 && f.queue[0].mark != "" {
			marks = append(marks, f.queue[0].mark)
			f.queue = f.queue[1:]
		}
		if len(f.queue) > 0 && !time.Now().Before(f.queue[0].playAt) {
			f.played += len(f.queue[0].ulaw)
			f.queue = f.queue[1:]
		}
		f.echoed = append(f.echoed, marks...)
		f.mu.Unlock()
		for _, name := range marks {
			f.send(map[string]any{"event": "mark", "sequenceNumber": "0", "streamSid": twilioStream, "mark": map[string]string{"name": name}})
		}
	}
}

func (f *fakeTwilio) playedMS() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.played / 8
}

// busWaiter reads one call's events from the server's bus.
type busWaiter struct {
	t      *testing.T
	sub    *events.Subscription
	callID string
	seen   []string
}

func (b *busWaiter) await(typ string, timeout time.Duration) map[string]any {
	b.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case e := <-b.sub.C():
			if b.callID == "" && e.Type == events.CallStarted {
				b.callID = e.CallID
			}
			if e.CallID != b.callID {
				continue
			}
			b.seen = append(b.seen, e.Type)
			if e.Type == typ {
				raw, _ := json.Marshal(e.Payload)
				var p map[string]any
				_ = json.Unmarshal(raw, &p)
				return p
			}
		case <-deadline:
			b.t.Fatalf("no %s within %s; events so far: %s", typ, timeout, strings.Join(b.seen, " "))
			return nil
		}
	}
}

// TestTwilioConversation: a call over the Twilio protocol is authenticated,
// carries the numbers and call SID into call.started, and the demo agent
// greets the caller and answers "i would like to book an appointment" with audio.
func TestTwilioConversation(t *testing.T) {
	requireSpeech(t)
	checkLeaks(t)
	_, url, sub := startTwilioServer(t)
	f := dialTwilio(t, url)
	bw := &busWaiter{t: t, sub: sub}
	st := bw.await(events.CallStarted, 10*time.Second)
	meta, _ := st["metadata"].(map[string]any)
	if st["transport"] != "twilio" || st["from"] != "+15550123" || st["to"] != "+15550199" || st["sample_rate"] != 16000.0 ||
		meta["call_sid"] != twilioCall || meta["stream_sid"] != twilioStream {
		t.Errorf("call.started = %v", st)
	}
	bw.await(events.AgentSpeechEnded, 20*time.Second)
	time.Sleep(jitterDelay + 200*time.Millisecond) // the caller hears the end of the greeting
	greetingMS := f.playedMS()
	if greetingMS < 4000 {
		t.Fatalf("the caller heard %d ms of greeting, want the whole greeting (~6.7 s)", greetingMS)
	}
	f.sayLine(speech(t, "i would like to book an appointment"))
	tr := bw.await(events.SpeechTranscribed, 20*time.Second)
	if tr["text"] != "i would like to book an appointment" {
		t.Errorf("recognised %q over μ-law 8 kHz", tr["text"])
	}
	bw.await(events.AgentSpeechEnded, 20*time.Second)
	time.Sleep(jitterDelay + 200*time.Millisecond)
	if got := f.playedMS() - greetingMS; got < 1000 {
		t.Errorf("the reply played %d ms of audio to the caller, want at least 1 s", got)
	}
	f.hangup()
	ended := bw.await(events.CallEnded, 10*time.Second)
	if ended["reason"] != "caller_hangup" {
		t.Errorf("call ended with %v, want caller_hangup", ended["reason"])
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.echoed) == 0 || len(f.clears) != 0 {
		t.Errorf("%d marks echoed, %d clears: want marks and no clear", len(f.echoed), len(f.clears))
	}
}

var sentenceEnd = regexp.MustCompile(`[.?!]\s+`)

// TestTwilioBargeInKeepsWhatWasHeard: the caller talks over the greeting.
// Parley sends clear, reports call.interrupted, and keeps in played_text and
// the transcript only what the caller heard according to the marks, which lag
// what Parley wrote by the fake network's jitterDelay.
func TestTwilioBargeInKeepsWhatWasHeard(t *testing.T) {
	requireSpeech(t)
	checkLeaks(t)
	srv, url, sub := startTwilioServer(t)
	f := dialTwilio(t, url)
	bw := &busWaiter{t: t, sub: sub}
	bw.await(events.AgentSpeechStarted, 20*time.Second)
	for f.playedMS() < 1200 { // the caller has heard a few words
		time.Sleep(10 * time.Millisecond)
	}
	f.sayLine(speech(t, "i would like to book an appointment"))
	intr := bw.await(events.CallInterrupted, 15*time.Second)

	f.mu.Lock()
	clears := append([]clearRecord(nil), f.clears...)
	f.mu.Unlock()
	if len(clears) != 1 {
		t.Fatalf("Parley sent %d clears, want 1", len(clears))
	}
	c := clears[0]
	t.Logf("at the clear the caller had heard %d ms, Parley had sent %d ms; %d marks flushed",
		c.played/8, c.received/8, len(c.flushed))
	if len(c.flushed) == 0 {
		t.Errorf("no mark was pending at the clear: the jitter buffer should hold some")
	}

	// What the caller heard, in words: map the fake's played audio onto the
	// greeting's sentences as synthesised by the agent's own TTS.
	greeting := "Hello, thanks for calling Parley Dental. I can book you an appointment, or put you through to the front desk. How can I help?"
	heardWords, sentWords := wordsHeard(t, srv, greeting, c.played*2), wordsHeard(t, srv, greeting, c.received*2)
	played, _ := intr["played_text"].(string)
	unplayed, _ := intr["unplayed_text"].(string)
	got := len(strings.Fields(played))
	t.Logf("played_text %q (%d words); the caller heard ~%d words, Parley had sent ~%d", played, got, heardWords, sentWords)
	if played == "" || unplayed == "" || !strings.HasPrefix(greeting, played) {
		t.Errorf("played %q / unplayed %q: want a non-empty prefix of the greeting and the rest", played, unplayed)
	}
	if sentWords-heardWords < 2 {
		t.Fatalf("the jitter buffer held only %d words: the test cannot tell heard from sent", sentWords-heardWords)
	}
	// Marks confirm playback up to 100 ms late, so played_text may be a word
	// short of what was heard, never more than heard.
	if got > heardWords || got < heardWords-2 {
		t.Errorf("played_text has %d words; the caller heard %d (Parley had sent %d)", got, heardWords, sentWords)
	}

	bw.await(events.AgentSpeechStarted, 15*time.Second) // the reply to the caller's words
	f.hangup()
	ended := bw.await(events.CallEnded, 10*time.Second)
	if ended["reason"] != "caller_hangup" {
		t.Errorf("call ended with %v", ended["reason"])
	}
	tx, _ := ended["transcript"].([]any)
	var first map[string]any
	for _, l := range tx {
		if m, ok := l.(map[string]any); ok && m["role"] == "agent" {
			first = m
			break
		}
	}
	if first == nil || first["text"] != played || first["interrupted"] != true {
		t.Errorf("transcript's first agent line %v, want %q marked interrupted", first, played)
	}
}

// wordsHeard returns how many words of text a caller has heard after samples
// (16 kHz) of its audio, the way the call counts them: per sentence, the
// fraction of its audio played times its words.
func wordsHeard(t *testing.T, srv *server.Server, text string, samples int) int {
	t.Helper()
	a, ok := srv.Agent("demo")
	if !ok {
		t.Fatal("no demo agent")
	}
	cfg := a.Config
	words := 0
	for _, s := range sentenceEnd.Split(text, -1) {
		s = strings.TrimSpace(s)
		n := 0
		err := a.TTS.Synthesize(context.Background(), pipeline.TTSRequest{Text: s, SampleRate: 16000, Voice: cfg.TTS.Voice,
			Language: cfg.Language, Rate: cfg.TTS.Rate}, func(p []int16) error { n += len(p); return nil })
		if err != nil {
			t.Fatal(err)
		}
		w := len(strings.Fields(s))
		if samples >= n {
			words += w
			samples -= n
			continue
		}
		return words + int(float64(samples)/float64(n)*float64(w))
	}
	return words
}
