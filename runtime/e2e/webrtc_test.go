package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/media/resample"
	"github.com/parley-voice/parley/media/wav"
	"github.com/parley-voice/parley/media/webrtc"
	"github.com/parley-voice/parley/runtime/events"
	"github.com/parley-voice/parley/runtime/server"
)

// chromiumPath is where Debian's chromium package installs the browser.
const chromiumPath = "/usr/bin/chromium"

// requireChromium fails (never skips) when the browser is missing: make deps
// installs it, and the acceptance test must run in make test.
func requireChromium(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("headless Chromium is required for the WebRTC browser test: %s is missing (run make deps, which installs the Debian package chromium): %v", chromiumPath, err)
	}
	return chromiumPath
}

// callerWAV writes the fake microphone: silence while the greeting plays, the
// caller's line, then a pause that ends the turn; 48 kHz mono 16-bit, as
// Chromium's fake capture device wants.
func callerWAV(t *testing.T, lead time.Duration, text string) string {
	t.Helper()
	const rate = 48000
	line, err := resample.Convert(speech(t, text), 16000, rate)
	if err != nil {
		t.Fatal(err)
	}
	pcm := make([]int16, int(lead.Seconds()*rate), int(lead.Seconds()*rate)+len(line)+3*rate)
	pcm = append(pcm, line...)
	pcm = append(pcm, make([]int16, 3*rate)...)
	path := filepath.Join(t.TempDir(), "caller.wav")
	if err := wav.WriteFile(path, pcm, rate); err != nil {
		t.Fatal(err)
	}
	return path
}

// browser is a headless Chromium showing one page, in its own process group.
type browser struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	stderr bytes.Buffer
	done   chan struct{}
}

func (b *browser) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stderr.Len() < 1<<20 {
		b.stderr.Write(p)
	}
	return len(p), nil
}

func (b *browser) output() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.stderr.String()
	if len(s) > 4000 {
		s = "…" + s[len(s)-4000:]
	}
	return s
}

func launchChromium(t *testing.T, path, url, micWAV string) *browser {
	t.Helper()
	b := &browser{done: make(chan struct{})}
	b.cmd = exec.Command(path,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--autoplay-policy=no-user-gesture-required",
		"--user-data-dir="+t.TempDir(),
		"--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
		"--use-file-for-fake-audio-capture="+micWAV,
		url)
	b.cmd.Stdout, b.cmd.Stderr = b, b
	// Its own group, so stop reaches every Chromium process; killed with the
	// test binary too, should a test timeout skip the cleanups.
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := b.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	go func() { _ = b.cmd.Wait(); close(b.done) }()
	return b
}

// stop kills the browser's whole process group (renderers, GPU and utility
// processes) and waits for the main process.
func (b *browser) stop() {
	_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-b.done:
	case <-time.After(10 * time.Second):
	}
}

// TestWebRTCBrowserCall is the browser acceptance test: headless Chromium opens
// the page at /, which calls the demo agent over WebRTC with a fake microphone
// fed from an espeak-ng WAV file. The agent must recognise the caller's line,
// and the page must report, over the data channel, that the agent's audio
// reached it.
func TestWebRTCBrowserCall(t *testing.T) {
	requireSpeech(t)
	chromium := requireChromium(t)
	checkLeaks(t)
	started := time.Now()

	data, err := os.ReadFile("../../configs/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := agents.Parse("configs/demo.yaml", data, os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	reports := make(chan webrtc.ClientReport, 1000)
	srv, err := server.New(server.Config{Agents: []*agents.Config{cfg}, WebRTC: server.WebRTCConfig{
		OnClientReport: func(_ string, r webrtc.ClientReport) {
			select {
			case reports <- r:
			default:
			}
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	sub := srv.Bus().Subscribe(100000, "")
	hs := httptest.NewServer(srv.Handler())
	shutdown := sync.OnceFunc(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		srv.Shutdown(ctx) // ends the live call with server_shutdown
		hs.CloseClientConnections()
		hs.Close()
	})
	t.Cleanup(shutdown)

	// The greeting lasts about ten seconds; the caller speaks after it.
	const phrase = "i would like to book an appointment"
	mic := callerWAV(t, 11*time.Second, phrase)
	b := launchChromium(t, chromium, hs.URL+"/?agent=demo&autostart=1", mic)
	t.Cleanup(b.stop)

	var callID, transcript, intent string
	var endedReason string
	deadline := time.After(45 * time.Second)
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("%s\nbrowser output:\n%s", fmt.Sprintf(format, args...), b.output())
	}
	for transcript == "" || intent == "" {
		select {
		case e, ok := <-sub.C():
			if !ok {
				fail("event bus closed")
			}
			p, _ := e.Payload.(map[string]any)
			switch e.Type {
			case events.CallStarted:
				if p["transport"] != "webrtc" {
					fail("call.started with transport %v, want webrtc", p["transport"])
				}
				callID = e.CallID
				t.Logf("call %s started after %s", callID, time.Since(started).Round(time.Millisecond))
			case events.SpeechTranscribed:
				transcript, _ = p["text"].(string)
				t.Logf("transcribed %q after %s", transcript, time.Since(started).Round(time.Millisecond))
			case events.IntentMatched:
				intent, _ = p["intent"].(string)
			case events.CallEnded:
				endedReason, _ = p["reason"].(string)
				fail("call ended early (%s); transcript %q", endedReason, transcript)
			}
		case <-b.done:
			fail("chromium exited before the call was done")
		case <-deadline:
			fail("no transcript and intent within 45 s (call %q, transcript %q, intent %q)", callID, transcript, intent)
		}
	}
	if transcript != phrase {
		t.Errorf("recognised %q, the browser said %q", transcript, phrase)
	}
	if intent != "book" {
		t.Errorf("intent %q, want book", intent)
	}

	// The page reports what it received every second; one second of the
	// agent's audio is 50 packets.
	var last webrtc.ClientReport
	heard := time.After(10 * time.Second)
	for last.PacketsReceived < 100 || last.TotalAudioEnergy <= 0 || last.Events == 0 || last.Codec == "" || last.MicCodec == "" {
		select {
		case last = <-reports:
		case <-heard:
			fail("the page did not report receiving the agent's audio; last report %+v", last)
		}
	}
	t.Logf("page received %d packets (%d bytes, %d lost) in %s, audio energy %.4f, %d events; microphone sent %s",
		last.PacketsReceived, last.BytesReceived, last.PacketsLost, last.Codec, last.TotalAudioEnergy, last.Events, last.MicCodec)
	// Chromium offers Opus first: with Opus built in, both directions use it.
	want := "audio/opus"
	if webrtc.OpusAvailable() != nil {
		want = "audio/PCMU"
	}
	if !strings.EqualFold(last.Codec, want) || !strings.EqualFold(last.MicCodec, want) {
		t.Errorf("agent audio in %q and microphone in %q, want %s both ways", last.Codec, last.MicCodec, want)
	}

	shutdown()
	for endedReason == "" {
		select {
		case e, ok := <-sub.C():
			if !ok {
				fail("event bus closed before call.ended")
			}
			if e.Type == events.CallEnded && e.CallID == callID {
				endedReason, _ = e.Payload.(map[string]any)["reason"].(string)
			}
		case <-time.After(5 * time.Second):
			fail("no call.ended after shutdown")
		}
	}
	if endedReason != "server_shutdown" {
		t.Errorf("call ended with %q, want server_shutdown", endedReason)
	}
	t.Logf("whole test took %s", time.Since(started).Round(time.Millisecond))
}
