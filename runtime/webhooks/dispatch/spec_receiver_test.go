package dispatch_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-voice/parley/runtime/webhooks"
	"github.com/parley-voice/parley/runtime/webhooks/dispatch"
	"github.com/parley-voice/parley/runtime/webhooks/internal/whtest"
)

// specVerify is a receiver's check written only from the Standard Webhooks
// spec (standardwebhooks.com, "Verifying webhook authenticity"), sharing no
// code with Parley's signature package: the secret is the base64 after
// "whsec_"; the signed content is "{webhook-id}.{webhook-timestamp}.{body}";
// the signature is base64 HMAC-SHA256 under the key, in webhook-signature as
// space-separated "v1,<sig>" entries, any one of which may match; the
// timestamp must be within 5 minutes of now.
func specVerify(secret string, h http.Header, body []byte, now time.Time) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return err
	}
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return errors.New("missing headers")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return err
	}
	if math.Abs(float64(now.Unix()-sec)) > 300 {
		return errors.New("timestamp outside tolerance")
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	for _, entry := range strings.Split(sigs, " ") {
		version, sig, ok := strings.Cut(entry, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return errors.New("no matching signature")
}

func TestSpecOnlyReceiverVerifiesDeliveries(t *testing.T) {
	const oldSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" // the spec's example secret
	const newSecret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
	var mu sync.Mutex
	verified := map[string]int{} // event id → receivers (old, new key) that verified it
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		n := 0
		for _, s := range []string{oldSecret, newSecret} {
			if specVerify(s, r.Header, body, time.Now()) == nil {
				n++
			}
		}
		if n != 2 {
			http.Error(w, "not verified with both secrets", http.StatusUnauthorized)
			return
		}
		mu.Lock()
		verified[r.Header.Get("webhook-id")] = n
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	ep := webhooks.Endpoint{ID: "spec", URL: srv.URL, Secrets: []string{oldSecret, newSecret}, AllowInsecureLoopback: true}
	d := open(t, dispatch.Config{Endpoints: []webhooks.Endpoint{ep}})
	for i := range 20 {
		d.Accept(whtest.Event("call_spec", uint64(i+1)))
	}
	eventually(t, "20 verified deliveries", func() bool { mu.Lock(); defer mu.Unlock(); return len(verified) == 20 })
	// And a wrong key is refused by the same code, so the check can fail.
	h := http.Header{}
	h.Set("webhook-id", "evt_x")
	h.Set("webhook-timestamp", strconv.FormatInt(time.Now().Unix(), 10))
	h.Set("webhook-signature", "v1,"+base64.StdEncoding.EncodeToString(make([]byte, 32)))
	if specVerify(oldSecret, h, []byte("{}"), time.Now()) == nil {
		t.Fatal("the spec check accepted a zero signature")
	}
}
