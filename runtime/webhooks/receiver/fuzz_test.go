package receiver

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/parley-voice/parley/runtime/webhooks/signature"
)

// FuzzMiddleware sends arbitrary headers and bodies, signed or not, through the
// Middleware: it must never panic and must answer one of its documented
// statuses.
func FuzzMiddleware(f *testing.F) {
	s, clk := newSender(f, 1), newClock()
	body := event(f, "evt_1", "call_1", 1, "call.started", map[string]any{"from": "+15550100"})
	f.Add("evt_1", "1795738825", "v1,AAAA", body, true)
	f.Add("evt_1", "hello", "", []byte(`{"event_type":1}`), false)
	f.Add("", "", "", []byte(nil), true)
	f.Add("evt_2", "0", "v1a,x v1,", []byte(`{"event_type":"a","event_id":"b","sequence":-1}`), true)
	f.Add("evt_3", "1795738825", "v1,", []byte(`{"event_type":"a","event_id":"b","timestamp":"yesterday"}`), true)
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte, sign bool) {
		v := mustVerifier(t, s.encoded, WithClock(clk.Now), WithMaxBodyBytes(4096))
		h := Middleware(v, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		if sign && validHeaderValue(id) {
			signature.SetHeaders(r.Header, s.secrets, id, clk.Now().Add(-time.Second), body)
		} else {
			for k, val := range map[string]string{signature.HeaderID: id, signature.HeaderTimestamp: ts, signature.HeaderSignature: sig} {
				if validHeaderValue(val) {
					r.Header.Set(k, val)
				}
			}
		}
		switch a := serve(h, r); a.status {
		case 200, 400, 401, 409, 413:
		default:
			t.Fatalf("status %d", a.status)
		}
	})
}

// validHeaderValue reports whether net/http could carry v as a header value.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
