package providertest

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-voice/parley/media/codec"
)

// ElevenLabsConfig configures a fake ElevenLabs. APIKey is required.
type ElevenLabsConfig struct {
	// APIKey is what clients must send as the xi-api-key handshake header (or
	// as xi_api_key in the first message).
	APIKey string
	// MsPerChar is the audio generated per character (default DefaultMsPerChar).
	MsPerChar float64
	// FirstAudioDelay is waited before the first audio message of a socket
	// (uninterruptibly: keep it short, Close waits for it).
	FirstAudioDelay time.Duration
}

// ElevenLabsSession is what the fake saw of one stream-input socket.
type ElevenLabsSession struct {
	Header       http.Header
	VoiceID      string
	ModelID      string
	OutputFormat string
	Query        url.Values
	// Init is the first message (text " ", voice settings, generation config).
	Init map[string]any
	// Texts are the text messages after it, end of stream excluded.
	Texts []string
	// Flushes counts messages with flush: true.
	Flushes int
	// Audio is the length of the audio sent; Final is set once isFinal was sent.
	Audio time.Duration
	Final bool
}

// ElevenLabs is a fake of ElevenLabs' stream-input WebSocket
// (/v1/text-to-speech/{voice_id}/stream-input, one context per socket). It
// generates a tone of a length proportional to the text, as pcm_* or
// ulaw_8000/alaw_8000; mp3 and opus formats are refused with a clear error.
type ElevenLabs struct {
	cfg ElevenLabsConfig
	srv *server

	mu       sync.Mutex
	sessions []*ElevenLabsSession
}

// NewElevenLabs starts a fake ElevenLabs on a loopback port.
func NewElevenLabs(cfg ElevenLabsConfig) (*ElevenLabs, error) {
	if cfg.APIKey == "" {
		return nil, errors.New("providertest: ElevenLabsConfig.APIKey is empty; a fake that accepts any key proves nothing")
	}
	f := &ElevenLabs{cfg: cfg}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/text-to-speech/{voice_id}/stream-input", f.streamInput)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		elevenError(w, http.StatusNotFound, "not_found", "no such endpoint "+r.URL.Path)
	})
	srv, err := startServer("elevenlabs", mux)
	if err != nil {
		return nil, err
	}
	f.srv = srv
	return f, nil
}

// URL is the WebSocket API root, ws://127.0.0.1:port/v1, for the client's base URL.
func (f *ElevenLabs) URL() string { return "ws://" + f.srv.addr() + "/v1" }

// Close closes every socket and stops the server.
func (f *ElevenLabs) Close() error { return f.srv.Close() }

// Sessions returns a copy of what every socket so far has seen.
func (f *ElevenLabs) Sessions() []ElevenLabsSession {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]ElevenLabsSession, len(f.sessions))
	for i, s := range f.sessions {
		out[i] = *s
		out[i].Texts = slices.Clone(s.Texts)
	}
	return out
}

func elevenError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"detail": map[string]string{"status": code, "message": msg}})
}

// outputFormat parses output_format into a sample rate and an encoding
// ("pcm", "ulaw" or "alaw"), or returns the reason it is refused.
func outputFormat(v string) (int, string, string) {
	if v == "" {
		v = "mp3_44100_128"
	}
	kind, rest, _ := strings.Cut(v, "_")
	switch kind {
	case "mp3", "opus":
		return 0, "", fmt.Sprintf("providertest: the fake generates only pcm_*, ulaw_8000 and alaw_8000, not %s", v)
	case "pcm":
		rate, err := strconv.Atoi(rest)
		if err == nil && slices.Contains([]int{8000, 16000, 22050, 24000, 44100, 48000}, rate) {
			return rate, "pcm", ""
		}
	case "ulaw", "alaw":
		if rest == "8000" {
			return 8000, kind, ""
		}
	}
	return 0, "", fmt.Sprintf("invalid output_format %q", v)
}

func (f *ElevenLabs) streamInput(w http.ResponseWriter, r *http.Request) {
	headerKey := r.Header.Get("xi-api-key")
	if headerKey != "" && headerKey != f.cfg.APIKey {
		elevenError(w, http.StatusUnauthorized, "invalid_api_key", "Invalid API key")
		return
	}
	q := r.URL.Query()
	rate, enc, why := outputFormat(q.Get("output_format"))
	if why != "" {
		elevenError(w, http.StatusBadRequest, "invalid_output_format", why)
		return
	}
	if m, ok := q["model_id"]; ok && (len(m) != 1 || m[0] == "") {
		elevenError(w, http.StatusBadRequest, "invalid_model_id", "model_id must be one non-empty value")
		return
	}
	inactivity := 20 * time.Second
	if v := q.Get("inactivity_timeout"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 180 {
			elevenError(w, http.StatusBadRequest, "invalid_inactivity_timeout", "inactivity_timeout must be 1 to 180 seconds")
			return
		}
		inactivity = time.Duration(n) * time.Second
	}
	if !websocket.IsWebSocketUpgrade(r) {
		elevenError(w, http.StatusBadRequest, "bad_request", "stream-input needs a WebSocket upgrade")
		return
	}
	ws := f.srv.upgrade(w, r, nil)
	if ws == nil {
		return
	}
	defer f.srv.untrack(ws)
	sess := &ElevenLabsSession{Header: r.Header.Clone(), VoiceID: r.PathValue("voice_id"), ModelID: q.Get("model_id"),
		OutputFormat: q.Get("output_format"), Query: q}
	f.mu.Lock()
	f.sessions = append(f.sessions, sess)
	f.mu.Unlock()
	c := &elConn{f: f, ws: ws, sess: sess, rate: rate, enc: enc, inactivity: inactivity, needKey: headerKey == ""}
	c.run()
}

// elConn is one socket, served entirely by its handler goroutine.
type elConn struct {
	f          *ElevenLabs
	ws         *websocket.Conn
	sess       *ElevenLabsSession
	rate       int
	enc        string
	inactivity time.Duration
	needKey    bool // no xi-api-key header: the first message must carry the key

	buf      strings.Builder
	schedule []int
	sent     bool // audio was sent already (the first-audio delay is past)
}

func (c *elConn) update(f func(*ElevenLabsSession)) {
	c.f.mu.Lock()
	f(c.sess)
	c.f.mu.Unlock()
}

func (c *elConn) run() {
	first := true
	for {
		c.ws.SetReadDeadline(time.Now().Add(c.inactivity))
		typ, data, err := c.ws.ReadMessage()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				c.closeWith(websocket.ClosePolicyViolation, fmt.Sprintf("Have not received a new text input within the timeout of %d seconds.", int(c.inactivity.Seconds())))
			}
			return
		}
		var m map[string]any
		if typ != websocket.TextMessage || json.Unmarshal(data, &m) != nil {
			c.closeWith(websocket.ClosePolicyViolation, "providertest: messages must be JSON text frames")
			return
		}
		text, isString := m["text"].(string)
		if !isString {
			c.closeWith(websocket.ClosePolicyViolation, "Invalid message: 'text' is required.")
			return
		}
		if first {
			first = false
			if text != " " {
				c.closeWith(websocket.ClosePolicyViolation, "The first message must have text set to a single space \" \".")
				return
			}
			if c.needKey && m["xi_api_key"] != c.f.cfg.APIKey {
				c.closeWith(websocket.ClosePolicyViolation, "invalid_api_key: send the xi-api-key header or xi_api_key in the first message")
				return
			}
			c.schedule = []int{120, 160, 250, 290}
			if gc, ok := m["generation_config"].(map[string]any); ok {
				if s, ok := gc["chunk_length_schedule"].([]any); ok && len(s) > 0 {
					c.schedule = c.schedule[:0]
					for _, v := range s {
						n, _ := v.(float64)
						if n < 50 || n > 500 {
							c.closeWith(websocket.ClosePolicyViolation, "chunk_length_schedule values must be between 50 and 500")
							return
						}
						c.schedule = append(c.schedule, int(n))
					}
				}
			}
			delete(m, "xi_api_key") // never keep the key in the record
			c.update(func(s *ElevenLabsSession) { s.Init = m })
			continue
		}
		if _, ok := m["generation_config"]; ok {
			c.closeWith(websocket.ClosePolicyViolation, "generation_config is only allowed in the first message")
			return
		}
		if text == "" {
			if !c.generate(c.buf.String()) {
				return
			}
			c.buf.Reset()
			// Recorded before sending: the client may return, and the test
			// read the session, as soon as isFinal arrives.
			c.update(func(s *ElevenLabsSession) { s.Final = true })
			c.send(map[string]any{"audio": nil, "isFinal": true, "normalizedAlignment": nil, "alignment": nil})
			c.drain()
			return
		}
		flush, _ := m["flush"].(bool)
		c.update(func(s *ElevenLabsSession) {
			s.Texts = append(s.Texts, text)
			if flush {
				s.Flushes++
			}
		})
		c.buf.WriteString(text)
		if flush || c.buf.Len() >= c.schedule[0] {
			if len(c.schedule) > 1 {
				c.schedule = c.schedule[1:]
			}
			if !c.generate(c.buf.String()) {
				return
			}
			c.buf.Reset()
		}
	}
}

// generate sends the audio for text in messages of up to 250 ms, the first
// carrying the character alignment.
func (c *elConn) generate(text string) bool {
	if strings.TrimSpace(text) == "" {
		return true
	}
	if !c.sent && c.f.cfg.FirstAudioDelay > 0 {
		time.Sleep(c.f.cfg.FirstAudioDelay)
	}
	c.sent = true
	d := speechLength(strings.TrimSpace(text), c.f.cfg.MsPerChar, 1)
	pcm := Tone(c.rate, d)
	var audio []byte
	switch c.enc {
	case "pcm":
		audio = le16(pcm)
	case "ulaw":
		audio = codec.EncodeMulaw(nil, pcm)
	case "alaw":
		audio = codec.EncodeAlaw(nil, pcm)
	}
	c.update(func(s *ElevenLabsSession) { s.Audio += d })
	step := len(audio) / max(1, int(d/(250*time.Millisecond))+1)
	step = max(step-step%2, 2)
	for off := 0; off < len(audio); off += step {
		piece := audio[off:min(off+step, len(audio))]
		m := map[string]any{"audio": base64.StdEncoding.EncodeToString(piece), "isFinal": nil,
			"normalizedAlignment": nil, "alignment": nil}
		if off == 0 {
			m["normalizedAlignment"] = alignment(text, d)
			m["alignment"] = alignment(text, d)
		}
		if !c.send(m) {
			return false
		}
	}
	return true
}

// alignment spreads the characters of text evenly over d.
func alignment(text string, d time.Duration) map[string]any {
	chars := []string{}
	for _, r := range text {
		chars = append(chars, string(r))
	}
	starts, durs := make([]int, len(chars)), make([]int, len(chars))
	per := int(d.Milliseconds()) / max(len(chars), 1)
	for i := range chars {
		starts[i], durs[i] = i*per, per
	}
	return map[string]any{"chars": chars, "charStartTimesMs": starts, "charDurationsMs": durs}
}

func (c *elConn) send(v any) bool {
	b, err := json.Marshal(v)
	if err != nil {
		return false
	}
	c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.ws.WriteMessage(websocket.TextMessage, b) == nil
}

// drain waits briefly for the client to close after isFinal, then closes.
func (c *elConn) drain() {
	c.ws.SetReadDeadline(time.Now().Add(2 * time.Second))
	for {
		if _, _, err := c.ws.ReadMessage(); err != nil {
			c.closeWith(websocket.CloseNormalClosure, "")
			return
		}
	}
}

func (c *elConn) closeWith(code int, reason string) {
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
}
