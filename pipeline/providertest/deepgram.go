package providertest

import (
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

// DeepgramConfig configures a fake Deepgram. Only APIKey is required.
type DeepgramConfig struct {
	// APIKey is what clients must send as "Authorization: Token <key>".
	APIKey string
	// Transcripts are the lines "recognised", one per utterance detected, in
	// order across every connection. Utterances beyond the script are answered
	// with an empty transcript, as Deepgram answers noise.
	Transcripts []string
	// SpeechLevel is the RMS level, in dBFS, above which a 20 ms window of
	// audio counts as speech. Default -45.
	SpeechLevel float64
	// MinSpeech is how much speech makes an utterance; shorter sounds are
	// ignored. Default 100 ms.
	MinSpeech time.Duration
	// Silence is the trailing silence, in audio time, that ends an utterance
	// (and, unless the client sent endpointing=false, sets speech_final).
	// Default 300 ms. The endpointing query parameter is recorded but does not
	// change it: word gaps in real speech are longer than Deepgram's 10 ms default.
	Silence time.Duration
	// IdleTimeout closes a connection that received neither audio nor a text
	// message for this long, with close code 1011 and reason NET-0001, as
	// Deepgram does after about 10 s. Default 10 s.
	IdleTimeout time.Duration
}

// DeepgramSession is what the fake saw of one /v1/listen connection.
type DeepgramSession struct {
	// Query is the handshake's query string.
	Query url.Values
	// Encoding, SampleRate and Channels are the audio format the client declared.
	Encoding   string
	SampleRate int
	Channels   int
	// AudioBytes counts the bytes of binary frames received; Audio is the
	// audio time they carry.
	AudioBytes int
	Audio      time.Duration
	// Utterances are the utterances answered, in order.
	Utterances []DeepgramUtterance
	// KeepAlives, Finalizes and CloseStream count the control messages received.
	KeepAlives, Finalizes int
	CloseStream           bool
	// Ended is set once the connection has closed.
	Ended bool
}

// DeepgramUtterance is one utterance the fake answered.
type DeepgramUtterance struct {
	// Start and End are in audio time from the start of the connection.
	Start, End time.Duration
	// Transcript is the scripted line sent back.
	Transcript string
	// FromFinalize is set when a Finalize (or CloseStream) ended it rather than silence.
	FromFinalize bool
}

// Deepgram is a fake of Deepgram's live transcription WebSocket API.
type Deepgram struct {
	cfg DeepgramConfig
	srv *server

	mu         sync.Mutex
	next       int // next line of the script
	sessions   []*DeepgramSession
	rejections []string
}

// NewDeepgram starts a fake Deepgram on a loopback port.
func NewDeepgram(cfg DeepgramConfig) (*Deepgram, error) {
	if cfg.APIKey == "" {
		return nil, errors.New("providertest: DeepgramConfig.APIKey is empty; a fake that accepts any key proves nothing")
	}
	if cfg.SpeechLevel == 0 {
		cfg.SpeechLevel = -45
	}
	if cfg.MinSpeech <= 0 {
		cfg.MinSpeech = 100 * time.Millisecond
	}
	if cfg.Silence <= 0 {
		cfg.Silence = 300 * time.Millisecond
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 10 * time.Second
	}
	d := &Deepgram{cfg: cfg}
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/listen", d.listen)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		d.reject(w, http.StatusNotFound, "NOT_FOUND", "no such endpoint "+r.URL.Path)
	})
	srv, err := startServer("deepgram", mux)
	if err != nil {
		return nil, err
	}
	d.srv = srv
	return d, nil
}

// URL is the listen endpoint, ws://127.0.0.1:port/v1/listen, for the client's base URL.
func (d *Deepgram) URL() string { return "ws://" + d.srv.addr() + "/v1/listen" }

// Close closes every connection and stops the server.
func (d *Deepgram) Close() error { return d.srv.Close() }

// Sessions returns a copy of what every connection so far has seen.
func (d *Deepgram) Sessions() []DeepgramSession {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]DeepgramSession, len(d.sessions))
	for i, s := range d.sessions {
		out[i] = *s
		out[i].Utterances = slices.Clone(s.Utterances)
	}
	return out
}

// Rejections lists the handshakes refused, with the reason given to the client.
func (d *Deepgram) Rejections() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.rejections)
}

// reject answers a handshake with Deepgram's HTTP error body.
func (d *Deepgram) reject(w http.ResponseWriter, status int, code, msg string) {
	d.mu.Lock()
	d.rejections = append(d.rejections, fmt.Sprintf("%d %s: %s", status, code, msg))
	d.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("dg-error", msg)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"err_code": code, "err_msg": msg, "request_id": "providertest"})
}

// deepgramEncodings are the raw encodings Deepgram accepts; decodable marks
// the ones this fake can measure.
var deepgramEncodings = map[string]bool{"linear16": true, "mulaw": true, "alaw": true,
	"flac": false, "amr-nb": false, "amr-wb": false, "opus": false, "ogg-opus": false, "speex": false, "g729": false}

// listenParams is the validated handshake.
type listenParams struct {
	encoding     string
	rate         int
	channels     int
	interim      bool
	vadEvents    bool
	speechFinal  bool // endpointing is not "false"
	utteranceEnd time.Duration
}

// parseListen checks the query as Deepgram would, plus what the fake needs
// (raw audio it can decode). It returns the error code and message on failure.
func parseListen(q url.Values) (listenParams, string, string) {
	p := listenParams{channels: 1, speechFinal: true}
	boolParam := func(name string) (bool, bool) {
		v := q.Get(name)
		switch v {
		case "", "false":
			return false, true
		case "true":
			return true, true
		}
		return false, false
	}
	p.encoding = q.Get("encoding")
	if p.encoding == "" {
		return p, "UNSUPPORTED_AUDIO", "providertest: the fake needs raw audio: set encoding (linear16, mulaw or alaw) and sample_rate"
	}
	decodable, known := deepgramEncodings[p.encoding]
	if !known {
		return p, "INVALID_QUERY_PARAMETER", fmt.Sprintf("unknown encoding %q", p.encoding)
	}
	if !decodable {
		return p, "UNSUPPORTED_AUDIO", fmt.Sprintf("providertest: the fake cannot decode encoding %q (use linear16, mulaw or alaw)", p.encoding)
	}
	sr := q.Get("sample_rate")
	if sr == "" {
		return p, "INVALID_QUERY_PARAMETER", "sample_rate is required for raw audio (encoding " + p.encoding + ")"
	}
	rate, err := strconv.Atoi(sr)
	if err != nil || rate < 8000 || rate > 48000 {
		return p, "INVALID_QUERY_PARAMETER", fmt.Sprintf("invalid sample_rate %q", sr)
	}
	p.rate = rate
	if ch := q.Get("channels"); ch != "" {
		n, err := strconv.Atoi(ch)
		if err != nil || n < 1 {
			return p, "INVALID_QUERY_PARAMETER", fmt.Sprintf("invalid channels %q", ch)
		}
		if n != 1 {
			return p, "UNSUPPORTED_AUDIO", "providertest: the fake handles mono audio only"
		}
	}
	var ok bool
	if p.interim, ok = boolParam("interim_results"); !ok {
		return p, "INVALID_QUERY_PARAMETER", "interim_results must be true or false"
	}
	if p.vadEvents, ok = boolParam("vad_events"); !ok {
		return p, "INVALID_QUERY_PARAMETER", "vad_events must be true or false"
	}
	for _, name := range []string{"smart_format", "punctuate", "diarize", "filler_words", "numerals", "profanity_filter"} {
		if _, ok := boolParam(name); !ok {
			return p, "INVALID_QUERY_PARAMETER", name + " must be true or false"
		}
	}
	if ep := q.Get("endpointing"); ep != "" {
		if ep == "false" {
			p.speechFinal = false
		} else if n, err := strconv.Atoi(ep); err != nil || n < 0 {
			return p, "INVALID_QUERY_PARAMETER", fmt.Sprintf("endpointing %q must be false or a number of milliseconds", ep)
		}
	}
	if ue := q.Get("utterance_end_ms"); ue != "" {
		n, err := strconv.Atoi(ue)
		if err != nil || n < 0 {
			return p, "INVALID_QUERY_PARAMETER", fmt.Sprintf("invalid utterance_end_ms %q", ue)
		}
		if !p.interim {
			return p, "INVALID_QUERY_PARAMETER", "utterance_end_ms requires interim_results=true"
		}
		p.utteranceEnd = time.Duration(n) * time.Millisecond
	}
	if m, ok := q["model"]; ok && (len(m) != 1 || m[0] == "") {
		return p, "INVALID_QUERY_PARAMETER", "model must be one non-empty value"
	}
	return p, "", ""
}

func (d *Deepgram) listen(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Token "+d.cfg.APIKey {
		d.reject(w, http.StatusUnauthorized, "INVALID_AUTH", "Invalid credentials.")
		return
	}
	if !websocket.IsWebSocketUpgrade(r) {
		d.reject(w, http.StatusBadRequest, "BAD_REQUEST", "live transcription needs a WebSocket upgrade")
		return
	}
	p, code, msg := parseListen(r.URL.Query())
	if code != "" {
		d.reject(w, http.StatusBadRequest, code, msg)
		return
	}
	ws := d.srv.upgrade(w, r, http.Header{"dg-request-id": {"providertest"}})
	if ws == nil {
		return
	}
	defer d.srv.untrack(ws)
	sess := &DeepgramSession{Query: r.URL.Query(), Encoding: p.encoding, SampleRate: p.rate, Channels: 1}
	d.mu.Lock()
	d.sessions = append(d.sessions, sess)
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		sess.Ended = true
		d.mu.Unlock()
	}()
	c := &dgConn{d: d, ws: ws, p: p, sess: sess, window: p.rate / 50}
	c.run()
}

// dgConn is one connection: the handler goroutine reads, detects utterances
// and writes every answer, so nothing else touches the socket.
type dgConn struct {
	d    *Deepgram
	ws   *websocket.Conn
	p    listenParams
	sess *DeepgramSession

	window  int     // samples per 20 ms analysis window
	pending []int16 // samples not yet analysed
	odd     []byte  // a trailing odd byte of linear16
	pos     int     // samples analysed so far

	inSpeech    bool
	uttStart    int // sample where the utterance began
	voiced      int // voiced samples in it
	voiceEnd    int // end of its last voiced window
	silence     int // silent samples since then
	line        string
	lineTaken   bool
	sentStarted bool
	sentInterim bool
	lastWordEnd int // end of the last answered utterance; -1 none
	sentUttEnd  bool
}

func (c *dgConn) run() {
	c.lastWordEnd = -1
	for {
		c.ws.SetReadDeadline(time.Now().Add(c.d.cfg.IdleTimeout))
		typ, data, err := c.ws.ReadMessage()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				c.closeWith(websocket.CloseInternalServerErr, "NET-0001: Deepgram did not receive audio data or a text message within the timeout window")
			}
			return
		}
		if typ == websocket.BinaryMessage {
			c.audio(data)
			continue
		}
		var m struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(data, &m) != nil {
			c.closeWith(websocket.CloseInvalidFramePayloadData, "providertest: text frames must be JSON control messages")
			return
		}
		switch m.Type {
		case "KeepAlive":
			c.count(func(s *DeepgramSession) { s.KeepAlives++ })
		case "Finalize":
			c.count(func(s *DeepgramSession) { s.Finalizes++ })
			c.finalize(true)
		case "CloseStream":
			c.count(func(s *DeepgramSession) { s.CloseStream = true })
			if c.inSpeech && c.voiced >= c.samples(c.d.cfg.MinSpeech) {
				c.answer(false)
			}
			c.send(map[string]any{"type": "Metadata", "transaction_key": "deprecated", "request_id": "providertest",
				"created": time.Now().UTC().Format(time.RFC3339), "duration": c.seconds(c.pos), "channels": 1})
			c.closeWith(websocket.CloseNormalClosure, "")
			return
		default:
			c.closeWith(websocket.ClosePolicyViolation, fmt.Sprintf("providertest: unknown control message type %q", m.Type))
			return
		}
	}
}

func (c *dgConn) count(f func(*DeepgramSession)) {
	c.d.mu.Lock()
	f(c.sess)
	c.d.mu.Unlock()
}

func (c *dgConn) samples(d time.Duration) int {
	return int(int64(d) * int64(c.p.rate) / int64(time.Second))
}

func (c *dgConn) seconds(samples int) float64 { return float64(samples) / float64(c.p.rate) }

// audio decodes one binary frame and analyses every whole window.
func (c *dgConn) audio(data []byte) {
	n := len(data)
	switch c.p.encoding {
	case "linear16":
		if len(c.odd) > 0 {
			data = append(c.odd, data...)
			c.odd = nil
		}
		if len(data)%2 == 1 {
			c.odd = []byte{data[len(data)-1]}
			data = data[:len(data)-1]
		}
		c.pending = codec.DecodeL16LE(c.pending, data)
	case "mulaw":
		c.pending = codec.DecodeMulaw(c.pending, data)
	case "alaw":
		c.pending = codec.DecodeAlaw(c.pending, data)
	}
	// Recorded before any answer goes out, so a client that has its answer
	// finds the audio that led to it counted.
	got := len(c.pending) / c.window * c.window
	c.count(func(s *DeepgramSession) {
		s.AudioBytes += n
		s.Audio += time.Duration(int64(got) * int64(time.Second) / int64(c.p.rate))
	})
	for len(c.pending) >= c.window {
		c.analyse(c.pending[:c.window])
		c.pending = c.pending[c.window:]
	}
	c.pending = append([]int16(nil), c.pending...)
}

// analyse follows one 20 ms window: speech starts an utterance, enough
// trailing silence ends it, and a long enough gap after it sends UtteranceEnd.
func (c *dgConn) analyse(win []int16) {
	start := c.pos
	c.pos += len(win)
	minSpeech := c.samples(c.d.cfg.MinSpeech)
	if levelDBFS(win) > c.d.cfg.SpeechLevel {
		if !c.inSpeech {
			c.inSpeech, c.uttStart, c.voiced, c.silence = true, start, 0, 0
			c.sentStarted, c.sentInterim, c.lineTaken = false, false, false
		}
		c.voiced += len(win)
		c.voiceEnd, c.silence = c.pos, 0
		if c.voiced >= minSpeech && !c.lineTaken {
			c.takeLine()
			if c.p.vadEvents && !c.sentStarted {
				c.sentStarted = true
				c.send(map[string]any{"type": "SpeechStarted", "channel": []int{0, 1}, "timestamp": c.seconds(c.uttStart)})
			}
		}
		if c.p.interim && c.lineTaken && !c.sentInterim && c.voiced >= 3*minSpeech {
			c.sentInterim = true
			if first, _, _ := strings.Cut(c.line, " "); first != "" {
				c.send(c.results(first, c.uttStart, c.pos, false, false, false))
			}
		}
		return
	}
	if c.inSpeech {
		c.silence += len(win)
		if c.silence >= c.samples(c.d.cfg.Silence) {
			if c.voiced >= minSpeech {
				c.answer(false)
			} else {
				c.inSpeech = false // a click, not speech
			}
		}
		return
	}
	if c.p.utteranceEnd > 0 && c.lastWordEnd >= 0 && !c.sentUttEnd && c.pos-c.lastWordEnd >= c.samples(c.p.utteranceEnd) {
		c.sentUttEnd = true
		c.send(map[string]any{"type": "UtteranceEnd", "channel": []int{0, 1}, "last_word_end": c.seconds(c.lastWordEnd)})
	}
}

// takeLine reserves the next line of the script for the current utterance.
func (c *dgConn) takeLine() {
	c.d.mu.Lock()
	c.line = ""
	if c.d.next < len(c.d.cfg.Transcripts) {
		c.line = c.d.cfg.Transcripts[c.d.next]
	}
	c.d.next++
	c.d.mu.Unlock()
	c.lineTaken = true
}

// finalize answers a Finalize: the utterance in progress as a final, or an
// empty final when there is none, both marked from_finalize.
func (c *dgConn) finalize(explicit bool) {
	if c.inSpeech && c.voiced >= c.samples(c.d.cfg.MinSpeech) {
		c.answer(explicit)
		return
	}
	c.inSpeech = false
	c.send(c.results("", c.pos, c.pos, true, false, explicit))
}

// answer sends the final of the current utterance and records it.
func (c *dgConn) answer(fromFinalize bool) {
	if !c.lineTaken {
		c.takeLine()
	}
	end := c.voiceEnd
	u := DeepgramUtterance{Start: time.Duration(int64(c.uttStart) * int64(time.Second) / int64(c.p.rate)),
		End: time.Duration(int64(end) * int64(time.Second) / int64(c.p.rate)), Transcript: c.line, FromFinalize: fromFinalize}
	c.count(func(s *DeepgramSession) { s.Utterances = append(s.Utterances, u) })
	c.send(c.results(c.line, c.uttStart, end, true, c.p.speechFinal && !fromFinalize, fromFinalize))
	c.inSpeech, c.lineTaken = false, false
	c.lastWordEnd, c.sentUttEnd = end, false
}

// results builds a Results message as Deepgram sends it, with the words of
// text spread evenly over [from, to).
func (c *dgConn) results(text string, from, to int, isFinal, speechFinal, fromFinalize bool) map[string]any {
	words := []any{}
	fields := strings.Fields(text)
	span := c.seconds(to - from)
	for i, wd := range fields {
		ws := c.seconds(from) + span*float64(i)/float64(len(fields))
		we := c.seconds(from) + span*float64(i+1)/float64(len(fields))
		words = append(words, map[string]any{"word": strings.ToLower(strings.Trim(wd, ".,?!")), "start": ws, "end": we,
			"confidence": 0.98, "punctuated_word": wd})
	}
	conf := 0.0
	if text != "" {
		conf = 0.98
	}
	return map[string]any{
		"type": "Results", "channel_index": []int{0, 1}, "start": c.seconds(from), "duration": span,
		"is_final": isFinal, "speech_final": speechFinal, "from_finalize": fromFinalize,
		"channel":  map[string]any{"alternatives": []any{map[string]any{"transcript": text, "confidence": conf, "words": words}}},
		"metadata": map[string]any{"request_id": "providertest", "model_info": map[string]any{"name": "general-nova-3", "version": "providertest", "arch": "nova-3"}},
	}
}

// send writes one JSON text frame; a failed write ends the connection at the next read.
func (c *dgConn) send(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if c.ws.WriteMessage(websocket.TextMessage, b) != nil {
		c.ws.Close()
	}
}

func (c *dgConn) closeWith(code int, reason string) {
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
}
