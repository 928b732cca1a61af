package receiver

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/parley-voice/parley/runtime/webhooks/signature"
)

// Middleware verifies each request with v before next sees it. Rejected requests
// get a short JSON answer ({"error": "...", "code": "...", "webhook_id": "..."})
// with the status of v.StatusCode: 400, 401, 409 or 413. A delivery already
// processed gets the replay status (200 by default, {"status": "duplicate"})
// without reaching next.
//
// next finds the Delivery with FromContext; r.Body is restored, so it may also
// read the raw body. When next answers 2xx (or writes nothing, which is a 200)
// the webhook-id is recorded as processed (Done); any other status, or a panic,
// releases it so that Parley's retry is processed.
func Middleware(v *Verifier, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, err := v.Verify(r)
		if err != nil {
			v.reject(w, r, d, err)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(d.Body))
		r = r.WithContext(NewContext(r.Context(), d))
		rec := &statusRecorder{ResponseWriter: w}
		settled := false
		defer func() {
			if settled && rec.status() >= 200 && rec.status() < 300 {
				v.Done(d.ID)
			} else {
				v.release(d)
			}
		}()
		next.ServeHTTP(rec, r)
		settled = true
	})
}

// errorBody is what the Middleware answers to a rejected request.
type errorBody struct {
	Error     string `json:"error,omitempty"`
	Code      string `json:"code,omitempty"`
	Status    string `json:"status,omitempty"`
	WebhookID string `json:"webhook_id,omitempty"`
}

func (v *Verifier) reject(w http.ResponseWriter, r *http.Request, d Delivery, err error) {
	status := v.StatusCode(err)
	id := d.ID
	if id == "" {
		// Unverified, but useful to correlate with Parley's attempt log.
		id = r.Header.Get(signature.HeaderID)
		if len(id) > 128 {
			id = id[:128]
		}
	}
	body := errorBody{Error: publicMessage(err), Code: errorCode(err), WebhookID: id}
	if errors.Is(err, ErrReplay) && status < 300 {
		body = errorBody{Status: "duplicate", WebhookID: id}
	}
	if errors.Is(err, ErrInFlight) {
		w.Header().Set("Retry-After", "5")
	}
	if v.log != nil {
		level, msg := slog.LevelWarn, "webhook rejected"
		if errors.Is(err, ErrReplay) {
			level, msg = slog.LevelInfo, "webhook already processed"
		}
		v.log.Log(r.Context(), level, msg, "status", status, "webhook_id", id, "remote", r.RemoteAddr, "err", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// publicMessage is the error text sent back. A failed signature gets only the
// sentinel's text: how many signatures and secrets were compared is for the
// receiver's log, not for whoever sent the request.
func publicMessage(err error) string {
	if errors.Is(err, signature.ErrNoMatchingSignature) {
		return signature.ErrNoMatchingSignature.Error()
	}
	return err.Error()
}

func errorCode(err error) string {
	for _, c := range []struct {
		err  error
		code string
	}{
		{ErrBodyTooLarge, "body_too_large"},
		{ErrBodyRead, "body_unreadable"},
		{signature.ErrMissingHeaders, "missing_headers"},
		{signature.ErrBadTimestamp, "bad_timestamp"},
		{signature.ErrTimestampTooOld, "timestamp_too_old"},
		{signature.ErrTimestampTooNew, "timestamp_too_new"},
		{signature.ErrNoMatchingSignature, "bad_signature"},
		{ErrInvalidEnvelope, "invalid_envelope"},
		{ErrInFlight, "in_flight"},
		{ErrReplay, "replay"},
	} {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return "bad_request"
}

// statusRecorder notes the status the wrapped handler answers.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 && code >= 200 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(p []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(p)
}

// Flush passes flushes through for handlers that stream.
func (s *statusRecorder) Flush() {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	_ = http.NewResponseController(s.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// status is the answer's status; a handler that wrote nothing answered 200.
func (s *statusRecorder) status() int {
	if s.code == 0 {
		return http.StatusOK
	}
	return s.code
}
