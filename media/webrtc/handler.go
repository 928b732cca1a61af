package webrtc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	pion "github.com/pion/webrtc/v4"
)

// CallHandle is what the transport needs from a started call.
type CallHandle interface {
	ID() string
	Audio(pcm []int16)
	DTMF(digit string)
	Hangup(reason string)
	Done() <-chan struct{}
}

// StartRequest describes a browser asking for a call.
type StartRequest struct {
	Agent      string
	RemoteAddr string
	UserAgent  string
}

// StartFunc starts a call whose audio goes out through conn. Returning an error
// refuses the call (a *RefusalError picks the HTTP status); its text is shown
// to the page.
type StartFunc func(ctx context.Context, req StartRequest, conn *Conn) (CallHandle, error)

// RefusalError lets StartFunc or Authenticate pick the HTTP status and error code.
type RefusalError struct {
	Status int    // e.g. 503 for capacity, 404 for an unknown agent
	Code   string // e.g. "capacity", "unknown_agent"
	Err    error
}

func (e *RefusalError) Error() string { return e.Err.Error() }
func (e *RefusalError) Unwrap() error { return e.Err }

// Handler answers WHIP-style offers: POST /…/{agent} with an application/sdp
// offer, answered 201 with the complete SDP answer (ICE candidates included).
// Its fields must not change after the first request.
type Handler struct {
	Start StartFunc
	// Authenticate, when set, runs first; an error answers 401 (or the status
	// of a *RefusalError).
	Authenticate func(r *http.Request, agent string) error
	Logger       *slog.Logger
	// OnClientReport, when set, receives the page's playback statistics.
	OnClientReport func(callID string, r ClientReport)

	// ICEServers are STUN (or TURN) URLs for gathering, e.g.
	// "stun:stun.example.org:3478". None are needed on a LAN.
	ICEServers []string
	// PublicIPs replace the host candidates' addresses, for a server behind a
	// 1:1 NAT (a cloud VM with a public address mapped to a private one).
	PublicIPs []string
	// IncludeLoopback offers 127.0.0.1 candidates (a browser on the same host).
	IncludeLoopback bool
	// UDPPortMin and UDPPortMax, when both set, bound the media ports (firewalls).
	UDPPortMin, UDPPortMax uint16

	// Limits; zero values take the defaults in parentheses.
	MaxOfferBytes  int64         // largest SDP offer (64 KiB)
	ReadTimeout    time.Duration // time to read the offer (10 s)
	GatherTimeout  time.Duration // ICE gathering before answering with what was found (5 s)
	ConnectTimeout time.Duration // from answer to connected, else transport_error (20 s)

	once   sync.Once
	api    *pion.API
	apiErr error
}

func (h *Handler) logger() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}

func orDefault[T int64 | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// buildAPI makes the pion API every peer connection of this handler shares:
// Opus (when built in) then PCMU, default interceptors (RTCP reports, NACK),
// no mDNS. The registration order is the preference the answer states, so a
// browser that offered both sends Opus.
func (h *Handler) buildAPI() (*pion.API, error) {
	h.once.Do(func() {
		m := &pion.MediaEngine{}
		for _, wc := range wireCodecs() {
			if err := m.RegisterCodec(wc.params, pion.RTPCodecTypeAudio); err != nil {
				h.apiErr = fmt.Errorf("registering %s: %w", wc.name(), err)
				return
			}
		}
		reg := &interceptor.Registry{}
		if err := pion.RegisterDefaultInterceptors(m, reg); err != nil {
			h.apiErr = fmt.Errorf("registering interceptors: %w", err)
			return
		}
		se := pion.SettingEngine{}
		se.SetIncludeLoopbackCandidate(h.IncludeLoopback)
		se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
		// A dropped network gets 10 s to come back before the call ends.
		se.SetICETimeouts(5*time.Second, 10*time.Second, 2*time.Second)
		if h.UDPPortMin > 0 && h.UDPPortMax >= h.UDPPortMin {
			if err := se.SetEphemeralUDPPortRange(h.UDPPortMin, h.UDPPortMax); err != nil {
				h.apiErr = fmt.Errorf("setting UDP port range: %w", err)
				return
			}
		}
		if len(h.PublicIPs) > 0 {
			if err := se.SetICEAddressRewriteRules(pion.ICEAddressRewriteRule{
				External: h.PublicIPs, AsCandidateType: pion.ICECandidateTypeHost,
			}); err != nil {
				h.apiErr = fmt.Errorf("setting public IPs: %w", err)
				return
			}
		}
		h.api = pion.NewAPI(pion.WithMediaEngine(m), pion.WithInterceptorRegistry(reg), pion.WithSettingEngine(se))
	})
	return h.api, h.apiErr
}

// httpError answers with a JSON error body the page can show.
func httpError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func refusal(w http.ResponseWriter, err error, status int, code string) {
	var re *RefusalError
	if errors.As(err, &re) {
		status, code = re.Status, re.Code
	}
	httpError(w, status, code, err.Error())
}

// ServeHTTP negotiates one call.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	agent := r.PathValue("agent")
	log := h.logger().With("transport", "webrtc", "remote", r.RemoteAddr, "agent", agent)
	if agent == "" {
		httpError(w, http.StatusBadRequest, "bad_request", "no agent in the URL: POST /v1/webrtc/{agent}")
		return
	}
	if h.Authenticate != nil {
		if err := h.Authenticate(r, agent); err != nil {
			var re *RefusalError
			if !errors.As(err, &re) {
				err = fmt.Errorf("unauthorized: %w", err)
			}
			refusal(w, err, http.StatusUnauthorized, "unauthorized")
			return
		}
	}
	offer, wc, status, code, err := h.readOffer(w, r)
	if err != nil {
		httpError(w, status, code, err.Error())
		return
	}
	api, err := h.buildAPI()
	if err != nil {
		log.Error("webrtc setup", "err", err)
		httpError(w, http.StatusInternalServerError, "internal", "WebRTC is not available on this server")
		return
	}
	answer, conn, sess, err := h.negotiate(r.Context(), api, offer, wc, log)
	if err != nil {
		var bad *badOfferError
		if errors.As(err, &bad) {
			httpError(w, http.StatusBadRequest, "bad_offer", err.Error())
		} else {
			log.Warn("webrtc negotiation", "err", err)
			httpError(w, http.StatusInternalServerError, "negotiation_failed", err.Error())
		}
		return
	}
	call, err := h.Start(r.Context(), StartRequest{Agent: agent, RemoteAddr: r.RemoteAddr, UserAgent: r.UserAgent()}, conn)
	if err != nil {
		conn.Close("refused")
		log.Info("call refused", "err", err)
		refusal(w, err, http.StatusServiceUnavailable, "start_failed")
		return
	}
	conn.log.Store(log.With("call_id", call.ID()))
	conn.log.Load().Info("webrtc call answered", "codec", wc.name())
	sess.bind(call)
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("X-Parley-Call-Id", call.ID())
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, answer)
}

// readOffer reads and checks the SDP offer (content type, size, read
// deadline) and picks the codec of the agent's audio.
func (h *Handler) readOffer(w http.ResponseWriter, r *http.Request) (string, *wireCodec, int, string, error) {
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/sdp" {
		return "", nil, http.StatusUnsupportedMediaType, "unsupported_media_type",
			fmt.Errorf("the offer must be sent as Content-Type: application/sdp, got %q", r.Header.Get("Content-Type"))
	}
	limit := orDefault(h.MaxOfferBytes, 64<<10)
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(orDefault(h.ReadTimeout, 10*time.Second)))
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return "", nil, http.StatusBadRequest, "bad_request", fmt.Errorf("reading the offer: %w", err)
	}
	if int64(len(body)) > limit {
		return "", nil, http.StatusRequestEntityTooLarge, "offer_too_large",
			fmt.Errorf("%w: offers are limited to %d bytes", ErrOfferTooLarge, limit)
	}
	wc, err := offerCodec(body)
	if err != nil {
		return "", nil, http.StatusBadRequest, "bad_offer", err
	}
	return string(body), wc, 0, "", nil
}

type badOfferError struct{ err error }

func (e *badOfferError) Error() string { return e.err.Error() }
func (e *badOfferError) Unwrap() error { return e.err }

// negotiate builds the peer connection for offer, with the agent's audio in
// codec wc, and returns the complete answer.
func (h *Handler) negotiate(ctx context.Context, api *pion.API, offer string, wc *wireCodec, log *slog.Logger) (string, *Conn, *session, error) {
	cfg := pion.Configuration{}
	if len(h.ICEServers) > 0 {
		cfg.ICEServers = []pion.ICEServer{{URLs: h.ICEServers}}
	}
	pc, err := api.NewPeerConnection(cfg)
	if err != nil {
		return "", nil, nil, fmt.Errorf("creating peer connection: %w", err)
	}
	enc, err := wc.newEncoder()
	if err != nil {
		_ = pc.Close()
		return "", nil, nil, err
	}
	track, err := pion.NewTrackLocalStaticSample(wc.params.RTPCodecCapability, "audio", "parley")
	if err != nil {
		_ = pc.Close()
		return "", nil, nil, fmt.Errorf("creating audio track: %w", err)
	}
	sender, err := pc.AddTrack(track)
	if err != nil {
		_ = pc.Close()
		return "", nil, nil, fmt.Errorf("adding audio track: %w", err)
	}
	conn := newConn(pc, track, wc, enc, log)
	sess := newSession(h, conn, log)
	sess.wire(sender)
	fail := func(err error) (string, *Conn, *session, error) {
		conn.Close("negotiation_failed")
		return "", nil, nil, err
	}
	if err := pc.SetRemoteDescription(pion.SessionDescription{Type: pion.SDPTypeOffer, SDP: offer}); err != nil {
		return fail(&badOfferError{fmt.Errorf("%w: %v", ErrBadOffer, err)})
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return fail(&badOfferError{fmt.Errorf("%w: no answer possible: %v", ErrBadOffer, err)})
	}
	gathered := pion.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return fail(fmt.Errorf("setting the answer: %w", err))
	}
	t := time.NewTimer(orDefault(h.GatherTimeout, 5*time.Second))
	defer t.Stop()
	select {
	case <-gathered:
	case <-t.C:
		log.Warn("ICE gathering not complete; answering with the candidates found so far")
	case <-ctx.Done():
		return fail(fmt.Errorf("gathering ICE candidates: %w", ctx.Err()))
	}
	return pc.LocalDescription().SDP, conn, sess, nil
}

// CheckOffer checks that b is an SDP offer with an audio section that offers
// a codec this transport speaks (Opus when built in, PCMU), so a useless
// offer is refused with a clear message before any peer connection is built.
func CheckOffer(b []byte) error {
	_, err := offerCodec(b)
	return err
}

// offerCodec checks the offer as CheckOffer does and picks the codec of the
// agent's audio: the most preferred of wireCodecs that the offer has.
func offerCodec(b []byte) (*wireCodec, error) {
	desc := pion.SessionDescription{Type: pion.SDPTypeOffer, SDP: string(b)}
	sd, err := desc.Unmarshal()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	var formats, rtpmaps []string
	audio := false
	for _, m := range sd.MediaDescriptions {
		if m.MediaName.Media != "audio" {
			continue
		}
		audio = true
		formats = append(formats, m.MediaName.Formats...)
		for _, a := range m.Attributes {
			if a.Key == "rtpmap" {
				rtpmaps = append(rtpmaps, a.Value)
			}
		}
	}
	if !audio {
		return nil, fmt.Errorf("%w: no audio section (add a microphone track before creating the offer)", ErrBadOffer)
	}
	var names []string
	for _, wc := range wireCodecs() {
		if wc.offeredIn(formats, rtpmaps) {
			return wc, nil
		}
		names = append(names, wc.name())
	}
	return nil, fmt.Errorf("%w: the audio section offers none of %s, the codecs this server speaks", ErrBadOffer, strings.Join(names, ", "))
}
