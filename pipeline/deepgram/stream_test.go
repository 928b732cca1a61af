package deepgram

import (
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/parley-voice/parley/pipeline"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const testKey = "dg-secret-key-123"

func open(t *testing.T, f *fakeDeepgram, cfg Config, scfg pipeline.STTConfig) (pipeline.STTStream, *serverConn, collector) {
	t.Helper()
	cfg.APIKey = testKey
	cfg.BaseURL = f.url()
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if scfg.SampleRate == 0 {
		scfg.SampleRate = 16000
	}
	c := newCollector()
	st, err := p.NewStream(context.Background(), scfg, c.sink)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, f.accept(t), c
}

func ramp(n int) []int16 {
	pcm := make([]int16, n)
	for i := range pcm {
		pcm[i] = int16(i*37 - 3000)
	}
	return pcm
}

func TestHandshakeAndAudio(t *testing.T) {
	f := newFake(t)
	st, sc, _ := open(t, f, Config{Model: "nova-2-phonecall"}, pipeline.STTConfig{Language: "en-US", Phrases: []string{"check order"}})
	pcm := ramp(320)
	if err := st.Write(pcm); err != nil {
		t.Fatal(err)
	}
	got := sc.audioBytes(t, 640)
	for i, v := range pcm {
		if s := int16(binary.LittleEndian.Uint16(got[2*i:])); s != v {
			t.Fatalf("sample %d = %d, want %d (linear16 little-endian)", i, s, v)
		}
	}
	f.mu.Lock()
	auth, q := f.auth[0], f.queries[0]
	f.mu.Unlock()
	if auth != "Token "+testKey {
		t.Errorf("Authorization = %q", auth)
	}
	want := map[string]string{"model": "nova-2-phonecall", "encoding": "linear16", "sample_rate": "16000", "channels": "1",
		"interim_results": "true", "endpointing": "300", "utterance_end_ms": "1000", "language": "en-US", "keywords": "check order"}
	for k, v := range want {
		if q.Get(k) != v {
			t.Errorf("query %s = %q, want %q", k, q.Get(k), v)
		}
	}
}

func TestInterimFinalsAndSpeechFinal(t *testing.T) {
	f := newFake(t)
	_, sc, c := open(t, f, Config{}, pipeline.STTConfig{})
	sc.send(t, map[string]any{"type": "SpeechStarted", "channel": []int{0, 1}, "timestamp": 0.1})
	sc.send(t, results("", 0, false, false, false, 0, 0.5)) // silence: nothing emitted
	sc.send(t, results("hello", 0.8, false, false, false, 0, 1))
	sc.send(t, results("hello world", 0.9, true, false, false, 0, 1.2))
	sc.send(t, results("how", 0.7, false, false, false, 1.2, 0.3))
	sc.send(t, results("how are you", 0.7, true, true, false, 1.2, 0.8))
	sc.send(t, utteranceEnd(2.0)) // same utterance: de-duplicated
	sc.send(t, map[string]any{"type": "Metadata", "request_id": "req-1", "duration": 2.0, "channels": 1})

	for _, want := range []string{"hello", "hello world how"} {
		r := c.next(t)
		if r.Kind != pipeline.STTPartial || r.Text != want {
			t.Fatalf("got %v %q, want partial %q", r.Kind, r.Text, want)
		}
	}
	r := c.next(t)
	if r.Kind != pipeline.STTFinal || r.Text != "hello world how are you" {
		t.Fatalf("got %v %q, want the final utterance", r.Kind, r.Text)
	}
	if r.Confidence < 0.79 || r.Confidence > 0.81 {
		t.Errorf("confidence = %v, want the mean 0.8", r.Confidence)
	}
	if r.AudioDuration != 2*time.Second {
		t.Errorf("AudioDuration = %v, want 2s", r.AudioDuration)
	}
	c.none(t, 150*time.Millisecond)

	// The next utterance starts fresh.
	sc.send(t, results("bye", 0.9, true, true, false, 3, 0.4))
	if r := c.next(t); r.Kind != pipeline.STTFinal || r.Text != "bye" {
		t.Fatalf("got %v %q, want final bye", r.Kind, r.Text)
	}
}

func TestUtteranceEndEndsTurn(t *testing.T) {
	f := newFake(t)
	_, sc, c := open(t, f, Config{}, pipeline.STTConfig{})
	sc.send(t, results("yes please", 0.9, true, false, false, 0, 1))
	c.none(t, 100*time.Millisecond) // is_final alone does not end the turn
	sc.send(t, utteranceEnd(1.0))
	if r := c.next(t); r.Kind != pipeline.STTFinal || r.Text != "yes please" {
		t.Fatalf("got %v %q, want final", r.Kind, r.Text)
	}
	sc.send(t, results("", 0, true, true, false, 1, 1)) // empty speech_final after it: dropped
	c.none(t, 100*time.Millisecond)
}

func TestFinalizeFromFinalize(t *testing.T) {
	f := newFake(t)
	st, sc, c := open(t, f, Config{}, pipeline.STTConfig{})
	st.Write(ramp(160))
	if err := st.Finalize(); err != nil {
		t.Fatal(err)
	}
	sc.audioBytes(t, 320)
	sc.expectText(t, "Finalize")
	sc.send(t, results("book a table", 0.95, false, false, false, 0, 1))
	sc.send(t, results("book a table", 0.95, true, false, true, 0, 1))
	if r := c.next(t); r.Kind != pipeline.STTPartial {
		t.Fatalf("got %v, want partial", r.Kind)
	}
	if r := c.next(t); r.Kind != pipeline.STTFinal || r.Text != "book a table" {
		t.Fatalf("got %v %q, want final", r.Kind, r.Text)
	}
	// Finalize with nothing new: Deepgram answers with an empty from_finalize result.
	st.Finalize()
	sc.expectText(t, "Finalize")
	sc.send(t, results("", 0, true, false, true, 1, 0))
	if r := c.next(t); r.Kind != pipeline.STTFinal || r.Text != "" {
		t.Fatalf("got %v %q, want empty final", r.Kind, r.Text)
	}
}

func TestFinalizeTimeout(t *testing.T) {
	f := newFake(t)
	st, sc, c := open(t, f, Config{FinalizeTimeout: 100 * time.Millisecond}, pipeline.STTConfig{})
	sc.send(t, results("half an answer", 0.9, true, false, false, 0, 1))
	st.Finalize()
	sc.expectText(t, "Finalize")
	start := time.Now()
	if r := c.next(t); r.Kind != pipeline.STTFinal || r.Text != "half an answer" {
		t.Fatalf("got %v %q, want final from the timeout", r.Kind, r.Text)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("final after %v, before the timeout", d)
	}
}

func TestKeepAliveWhenIdle(t *testing.T) {
	f := newFake(t)
	st, sc, _ := open(t, f, Config{KeepAlive: 100 * time.Millisecond}, pipeline.STTConfig{})
	sc.expectText(t, "KeepAlive")
	sc.expectText(t, "KeepAlive")
	// While audio flows no KeepAlive is needed.
	stop := time.After(400 * time.Millisecond)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	drain := func() {
		for len(sc.text) > 0 {
			<-sc.text
		}
	}
	st.Write(ramp(160))
	time.Sleep(20 * time.Millisecond)
	drain()
loop:
	for {
		select {
		case <-tick.C:
			st.Write(ramp(160))
		case <-stop:
			break loop
		}
	}
	if n := len(sc.text); n != 0 {
		t.Errorf("%d KeepAlive messages while audio was flowing", n)
	}
}

func TestHandshakeRefused(t *testing.T) {
	for _, tc := range []struct {
		status    int
		body      string
		temporary bool
	}{
		{401, `{"err_code":"INVALID_AUTH","err_msg":"Invalid credentials."}`, false},
		{429, `{"err_code":"TOO_MANY_REQUESTS","err_msg":"Too many requests."}`, true},
	} {
		f := newFake(t)
		f.refuseStatus.Store(int32(tc.status))
		f.refuseBody = tc.body
		p, err := New(Config{APIKey: testKey, BaseURL: f.url()})
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.NewStream(context.Background(), pipeline.STTConfig{SampleRate: 16000}, func(pipeline.STTResult) {})
		var he *HandshakeError
		if !errors.As(err, &he) {
			t.Fatalf("HTTP %d: err = %v, want *HandshakeError", tc.status, err)
		}
		if he.StatusCode != tc.status || he.Temporary() != tc.temporary || !strings.Contains(err.Error(), "err_msg") {
			t.Errorf("HTTP %d: got %+v (%v)", tc.status, he, err)
		}
		var pe *pipeline.ProviderError
		if !errors.As(err, &pe) || pe.Status != tc.status || pe.Stage != "stt" || pipeline.ShouldFallback(err) != tc.temporary {
			t.Errorf("HTTP %d: provider error %+v", tc.status, pe)
		}
		if strings.Contains(err.Error(), testKey) {
			t.Errorf("error leaks the API key: %v", err)
		}
	}
}

func TestConnectionDropMidUtteranceAndReconnect(t *testing.T) {
	f := newFake(t)
	st, sc, c := open(t, f, Config{}, pipeline.STTConfig{})
	st.Write(ramp(160))
	sc.audioBytes(t, 320)
	sc.send(t, results("i want to", 0.9, true, false, false, 0, 1))
	sc.ws.Close() // abrupt: no close frame
	r := c.next(t)
	if r.Kind != pipeline.STTError || !errors.Is(r.Err, ErrConnectionLost) || !pipeline.ShouldFallback(r.Err) {
		t.Fatalf("got %v %v, want STTError wrapping ErrConnectionLost", r.Kind, r.Err)
	}
	if strings.Contains(r.Err.Error(), testKey) {
		t.Errorf("error leaks the API key: %v", r.Err)
	}
	// The rest of the utterance is skipped; Finalize ends it with what was heard.
	st.Write(ramp(160))
	st.Finalize()
	if r := c.next(t); r.Kind != pipeline.STTFinal || r.Text != "i want to" {
		t.Fatalf("got %v %q, want final with the words heard before the drop", r.Kind, r.Text)
	}
	// The next utterance reconnects.
	st.Write(ramp(160))
	sc2 := f.accept(t)
	sc2.audioBytes(t, 320)
	sc2.send(t, results("again", 0.9, true, true, false, 0, 1))
	if r := c.next(t); r.Kind != pipeline.STTFinal || r.Text != "again" {
		t.Fatalf("got %v %q after reconnecting", r.Kind, r.Text)
	}
}

func TestServerErrorMessage(t *testing.T) {
	f := newFake(t)
	_, sc, c := open(t, f, Config{}, pipeline.STTConfig{})
	sc.send(t, map[string]any{"type": "Error", "variant": "DATA-0000", "description": "bad audio"})
	r := c.next(t)
	var se *ServerError
	if r.Kind != pipeline.STTError || !errors.As(r.Err, &se) || se.Description != "bad audio" {
		t.Fatalf("got %v %v", r.Kind, r.Err)
	}
}

func TestCloseSendsCloseStream(t *testing.T) {
	f := newFake(t)
	st, sc, c := open(t, f, Config{}, pipeline.STTConfig{})
	done := make(chan string, 1)
	go func() {
		// Deepgram's answer to CloseStream: the last results, Metadata, then a close.
		var got string
		select {
		case got = <-sc.text:
		case <-time.After(3 * time.Second):
		}
		sc.ws.WriteJSON(results("late", 0.9, true, true, false, 0, 1))
		sc.ws.WriteJSON(map[string]any{"type": "Metadata", "request_id": "req-1"})
		sc.ws.Close()
		done <- got
	}()
	start := time.Now()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if got := <-done; got != `{"type":"CloseStream"}` {
		t.Errorf("server got %q, want CloseStream", got)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v", d)
	}
	c.none(t, 50*time.Millisecond) // no results after Close began
	if err := st.Write(ramp(10)); !errors.Is(err, pipeline.ErrClosed) {
		t.Errorf("Write after Close = %v", err)
	}
	if err := st.Finalize(); !errors.Is(err, pipeline.ErrClosed) {
		t.Errorf("Finalize after Close = %v", err)
	}
	st.Close()
	select {
	case <-sc.ended:
	case <-time.After(2 * time.Second):
		t.Error("server connection still open")
	}
}

func TestBackpressure(t *testing.T) {
	f := newFake(t)
	st, _, _ := open(t, f, Config{MaxQueued: 10 * time.Millisecond}, pipeline.STTConfig{})
	if err := st.Write(ramp(161)); !errors.Is(err, pipeline.ErrBackpressure) {
		t.Fatalf("Write beyond MaxQueued = %v, want ErrBackpressure", err)
	}
	if err := st.Write(ramp(160)); err != nil {
		t.Fatalf("Write within MaxQueued = %v", err)
	}
}

func TestNarrowbandSentAt8k(t *testing.T) {
	f := newFake(t)
	st, sc, _ := open(t, f, Config{}, pipeline.STTConfig{SampleRate: 16000, Bandwidth: 4000})
	f.mu.Lock()
	rate := f.queries[0].Get("sample_rate")
	f.mu.Unlock()
	if rate != "8000" {
		t.Fatalf("sample_rate = %s, want 8000 for phone-band audio", rate)
	}
	for range 10 {
		st.Write(ramp(320))
	}
	st.Finalize()
	got := sc.audioBytes(t, 1600*2)
	sc.expectText(t, "Finalize")
	if len(got) != 1600*2 {
		t.Errorf("sent %d bytes, want 3200 (3200 samples at 16 kHz halved)", len(got))
	}
}

func TestConfigErrors(t *testing.T) {
	if _, err := New(Config{}); !errors.Is(err, ErrNoAPIKey) {
		t.Errorf("no key: %v", err)
	}
	if _, err := New(Config{APIKey: "k", UtteranceEnd: 500 * time.Millisecond}); err == nil {
		t.Error("UtteranceEnd below 1s accepted")
	}
	p, _ := New(Config{APIKey: "k"})
	if _, err := p.NewStream(context.Background(), pipeline.STTConfig{}, func(pipeline.STTResult) {}); !errors.Is(err, pipeline.ErrUnsupportedRate) {
		t.Errorf("zero rate: %v", err)
	}
}

func TestReconnectRefused(t *testing.T) {
	f := newFake(t)
	st, sc, c := open(t, f, Config{}, pipeline.STTConfig{})
	sc.ws.Close()
	if r := c.next(t); r.Kind != pipeline.STTError {
		t.Fatalf("got %v, want the drop reported", r.Kind)
	}
	st.Finalize()
	if r := c.next(t); r.Kind != pipeline.STTFinal || r.Text != "" {
		t.Fatalf("got %v %q, want an empty final", r.Kind, r.Text)
	}
	f.refuseStatus.Store(503)
	st.Write(ramp(160))
	r := c.next(t)
	var pe *pipeline.ProviderError
	if r.Kind != pipeline.STTError || !errors.As(r.Err, &pe) || pe.Status != 503 || !pipeline.ShouldFallback(r.Err) {
		t.Fatalf("got %v %v, want a retryable 503", r.Kind, r.Err)
	}
	st.Write(ramp(160)) // the rest of the utterance is skipped, not redialled per frame
	c.none(t, 100*time.Millisecond)
	st.Finalize()
	if r := c.next(t); r.Kind != pipeline.STTFinal {
		t.Fatalf("got %v, want final", r.Kind)
	}
}

// The agent's language reaches Deepgram as a code it knows.
func TestLanguageOnTheWire(t *testing.T) {
	for tag, want := range map[string]string{"de-DE": "de", "fr-FR": "fr", "fr-CA": "fr-CA", "pt-br": "pt-BR", "en-GB": "en-GB", "es-419": "es-419", "ja": "ja"} {
		f := newFake(t)
		open(t, f, Config{Model: "nova-3"}, pipeline.STTConfig{Language: tag})
		f.mu.Lock()
		got := f.queries[0].Get("language")
		f.mu.Unlock()
		if got != want {
			t.Errorf("language %q sent as %q, want %q", tag, got, want)
		}
	}
	if Language("") != "" {
		t.Error("an empty language must stay unset (Deepgram's default)")
	}
}
