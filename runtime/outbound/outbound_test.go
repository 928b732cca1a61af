package outbound

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeTwilio follows Twilio's Calls API documentation
// (POST /2010-04-01/Accounts/{AccountSid}/Calls.json): HTTP Basic auth with
// the account SID and auth token, form-encoded parameters, 201 with the call
// resource as JSON; errors as {"code","message","more_info","status"}.
type fakeTwilio struct {
	*httptest.Server
	mu       sync.Mutex
	calls    []url.Values
	failNext []int // statuses to answer before succeeding
}

const (
	testSID   = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	testToken = "your_auth_token"
)

func newFakeTwilio(t *testing.T) *fakeTwilio {
	f := &fakeTwilio{}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func twilioError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"code": code, "message": msg,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code), "status": status})
}

func (f *fakeTwilio) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/2010-04-01/Accounts/"+testSID+"/Calls.json" {
		twilioError(w, http.StatusNotFound, 20404, "The requested resource was not found")
		return
	}
	user, pass, ok := r.BasicAuth()
	if !ok || user != testSID || pass != testToken {
		twilioError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	if err := r.ParseForm(); err != nil {
		twilioError(w, http.StatusBadRequest, 20001, "bad form")
		return
	}
	f.mu.Lock()
	f.calls = append(f.calls, r.PostForm)
	var fail int
	if len(f.failNext) > 0 {
		fail, f.failNext = f.failNext[0], f.failNext[1:]
	}
	f.mu.Unlock()
	switch fail {
	case 0:
	case http.StatusTooManyRequests:
		twilioError(w, fail, 20429, "Too Many Requests")
		return
	default:
		twilioError(w, fail, 20500, "Internal Server Error")
		return
	}
	to := r.PostForm.Get("To")
	if !strings.HasPrefix(to, "+") {
		twilioError(w, http.StatusBadRequest, 21211, fmt.Sprintf("The 'To' number %s is not a valid phone number.", to))
		return
	}
	if r.PostForm.Get("Url") == "" && r.PostForm.Get("Twiml") == "" {
		twilioError(w, http.StatusBadRequest, 21205, "Url parameter is required.")
		return
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{"sid": "CA" + hex.EncodeToString(b), "status": "queued",
		"to": to, "from": r.PostForm.Get("From"), "account_sid": testSID})
}

func (f *fakeTwilio) requests() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func newTwilio(f *fakeTwilio) *Twilio {
	return &Twilio{AccountSID: testSID, AuthToken: testToken, PublicURL: "https://parley.example.com", BaseURL: f.URL}
}

func TestTwilioDialPlacesACallThatComesBackToTheAgent(t *testing.T) {
	f := newFakeTwilio(t)
	p, err := newTwilio(f).Dial(context.Background(), Request{Agent: "demo", To: "+15558675310", From: "+15017122661"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p.CarrierCallID, "CA") || p.Status != "queued" {
		t.Fatalf("placed %+v", p)
	}
	got := f.requests()[0]
	want := map[string]string{
		"To": "+15558675310", "From": "+15017122661", "Url": "https://parley.example.com/v1/twilio/voice/demo",
		"Method": "POST", "StatusCallback": "https://parley.example.com/v1/twilio/status", "Timeout": "30",
	}
	for k, v := range want {
		if got.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, got.Get(k), v)
		}
	}
	if ev := got["StatusCallbackEvent"]; !slices.Equal(ev, []string{"initiated", "ringing", "answered", "completed"}) {
		t.Errorf("StatusCallbackEvent = %v", ev)
	}
}

func TestTwilioDialErrors(t *testing.T) {
	f := newFakeTwilio(t)
	ctx := context.Background()
	ok := Request{Agent: "demo", To: "+15558675310", From: "+15017122661"}

	bad := newTwilio(f)
	bad.AuthToken = "wrong"
	_, err := bad.Dial(ctx, ok)
	var ce *CarrierError
	if !errors.As(err, &ce) || ce.Status != 401 || ce.Code != 20003 || ce.Retryable() || strings.Contains(err.Error(), "wrong") {
		t.Errorf("wrong token: %v", err)
	}
	f.failNext = []int{429}
	_, err = newTwilio(f).Dial(ctx, ok)
	if !errors.As(err, &ce) || ce.Code != 20429 || !ce.Retryable() {
		t.Errorf("429: %v", err)
	}
	f.failNext = []int{500}
	if _, err = newTwilio(f).Dial(ctx, ok); !errors.As(err, &ce) || !ce.Retryable() {
		t.Errorf("500: %v", err)
	}
	if _, err := newTwilio(f).Dial(ctx, Request{Agent: "demo", To: "555", From: "+15017122661"}); err == nil || !strings.Contains(err.Error(), "E.164") {
		t.Errorf("bad number: %v", err)
	}
	insecure := newTwilio(f)
	insecure.PublicURL = "http://parley.example.com"
	if _, err := insecure.Dial(ctx, ok); err == nil || !strings.Contains(err.Error(), "https") {
		t.Errorf("http public URL: %v", err)
	}
	down := newTwilio(f)
	down.BaseURL = "http://127.0.0.1:1"
	if _, err := down.Dial(ctx, ok); err == nil || strings.Contains(err.Error(), testSID) {
		t.Errorf("unreachable: %v (must not quote the account SID)", err)
	}
	if _, err := (&Twilio{PublicURL: "https://x.example.com"}).Dial(ctx, ok); err == nil || !strings.Contains(err.Error(), "auth token") {
		t.Errorf("no credentials: %v", err)
	}
}

// recordingDialer places calls instantly and records when and how many are
// in progress (placed and not yet finished).
type recordingDialer struct {
	mu       sync.Mutex
	starts   []time.Time
	inFlight atomic.Int32
	maxSeen  atomic.Int32
	failures []error
	n        int
}

func (d *recordingDialer) Dial(ctx context.Context, r Request) (Placed, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.failures) > 0 {
		err := d.failures[0]
		d.failures = d.failures[1:]
		return Placed{}, err
	}
	d.starts = append(d.starts, time.Now())
	d.n++
	v := d.inFlight.Add(1)
	for {
		m := d.maxSeen.Load()
		if v <= m || d.maxSeen.CompareAndSwap(m, v) {
			break
		}
	}
	return Placed{CarrierCallID: fmt.Sprintf("CA%04d", d.n), Status: "queued"}, nil
}

func waitCampaign(t *testing.T, m *Manager, id string) CampaignStatus {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, _ := m.Campaign(id)
		if st.State != "running" {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("campaign still running: %+v", st.Counts)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestCampaignKeepsItsConcurrencyCapAndPace(t *testing.T) {
	d := &recordingDialer{failures: []error{&CarrierError{Carrier: "twilio", Status: 429, Code: 20429}}}
	m := &Manager{Dialer: d, HasAgent: func(id string) bool { return id == "demo" }}
	var numbers []string
	for i := range 12 {
		numbers = append(numbers, fmt.Sprintf("+1555010%04d", i))
	}
	st, err := m.StartCampaign(CampaignRequest{Agent: "demo", From: "+15017122661", Numbers: numbers, Concurrency: 3, Rate: 20})
	if err != nil {
		t.Fatal(err)
	}
	// The "calls" end 50 ms after they are placed, as the carrier would say.
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			cur, _ := m.Campaign(st.ID)
			for _, c := range cur.Calls {
				if c.Status == "placed" && time.Since(c.PlacedAt) > 50*time.Millisecond {
					d.inFlight.Add(-1)
					m.Finished(c.CarrierCallID, "completed")
				}
			}
		}
	}()
	end := waitCampaign(t, m, st.ID)
	close(stop)
	if end.State != "done" || end.Counts["completed"] != 12 {
		t.Fatalf("campaign ended %s with %v", end.State, end.Counts)
	}
	if got := d.maxSeen.Load(); got > 3 {
		t.Errorf("%d calls in progress at once, cap 3", got)
	}
	for i := 1; i < len(d.starts); i++ {
		if gap := d.starts[i].Sub(d.starts[i-1]); gap < 45*time.Millisecond {
			t.Errorf("calls %d and %d started %s apart; rate 20/s means ≥ 50 ms", i-1, i, gap)
		}
	}
	if end.Calls[0].Attempts != 2 {
		t.Errorf("the 429 was not retried: %+v", end.Calls[0])
	}
}

func TestCampaignCancelAndErrors(t *testing.T) {
	d := &recordingDialer{}
	m := &Manager{Dialer: d, HasAgent: func(id string) bool { return id == "demo" }}
	st, err := m.StartCampaign(CampaignRequest{Agent: "demo", From: "+15017122661",
		Numbers: []string{"+15550100001", "+15550100002", "+15550100003"}, Concurrency: 1, Rate: 1})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	m.Cancel(st.ID)
	m.Finished("CA0001", "busy")
	end := waitCampaign(t, m, st.ID)
	if end.State != "canceled" || end.Calls[0].Status != "busy" || end.Counts["canceled"] != 2 {
		t.Fatalf("after cancel: %s %v %+v", end.State, end.Counts, end.Calls)
	}
	for _, c := range []struct {
		req  CampaignRequest
		want string
	}{
		{CampaignRequest{Agent: "demo", From: "+15017122661"}, "at least one"},
		{CampaignRequest{Agent: "demo", From: "+15017122661", Numbers: []string{"12"}}, "E.164"},
		{CampaignRequest{Agent: "nope", From: "+15017122661", Numbers: []string{"+15550100001"}}, "no agent"},
		{CampaignRequest{Agent: "demo", From: "+15017122661", Numbers: []string{"+15550100001"}, Concurrency: 1000}, "concurrency"},
		{CampaignRequest{Agent: "demo", From: "+15017122661", Numbers: []string{"+15550100001"}, Rate: 500}, "rate"},
	} {
		if _, err := m.StartCampaign(c.req); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.req, err, c.want)
		}
	}
}

func TestHTTPAPI(t *testing.T) {
	f := newFakeTwilio(t)
	m := &Manager{Dialer: newTwilio(f), HasAgent: func(id string) bool { return id == "demo" }}
	srv := httptest.NewServer(NewHandler(m, "s3cret", nil))
	defer srv.Close()
	do := func(method, path, token, body string) (int, map[string]any) {
		req, _ := http.NewRequest(method, srv.URL+path, bytes.NewBufferString(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	call := `{"agent":"demo","to":"+15558675310","from":"+15017122661"}`
	if code, _ := do("POST", "/v1/calls", "", call); code != 401 {
		t.Errorf("no token: %d", code)
	}
	if code, _ := do("POST", "/v1/calls", "nope", call); code != 401 {
		t.Errorf("wrong token: %d", code)
	}
	code, out := do("POST", "/v1/calls", "s3cret", call)
	if code != 201 || !strings.HasPrefix(fmt.Sprint(out["carrier_call_id"]), "CA") {
		t.Errorf("call: %d %v", code, out)
	}
	if code, out := do("POST", "/v1/calls", "s3cret", `{"agent":"demo","to":"12","from":"+15017122661"}`); code != 400 || !strings.Contains(fmt.Sprint(out["error"]), "E.164") {
		t.Errorf("bad number: %d %v", code, out)
	}
	if code, _ := do("POST", "/v1/calls", "s3cret", `{"agent":"demo","too":"+1"}`); code != 400 {
		t.Errorf("unknown field: %d", code)
	}
	f.failNext = []int{429}
	if code, out := do("POST", "/v1/calls", "s3cret", call); code != 429 || out["code"] != "carrier_error" {
		t.Errorf("carrier 429: %d %v", code, out)
	}
	code, out = do("POST", "/v1/campaigns", "s3cret", `{"agent":"demo","from":"+15017122661","numbers":["+15550100001"],"rate":10}`)
	if code != 201 {
		t.Fatalf("campaign: %d %v", code, out)
	}
	id := fmt.Sprint(out["id"])
	if code, out := do("GET", "/v1/campaigns/"+id, "s3cret", ""); code != 200 || out["id"] != id {
		t.Errorf("get campaign: %d %v", code, out)
	}
	if code, _ := do("POST", "/v1/campaigns/"+id+"/cancel", "s3cret", ""); code != 200 {
		t.Errorf("cancel: %d", code)
	}
	if code, _ := do("GET", "/v1/campaigns/cmp_nope", "s3cret", ""); code != 404 {
		t.Errorf("unknown campaign: %d", code)
	}
	closed := httptest.NewServer(NewHandler(m, "", nil))
	defer closed.Close()
	req, _ := http.NewRequest("POST", closed.URL+"/v1/calls", strings.NewReader(call))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("no admin token configured: %d", resp.StatusCode)
	}
}

func TestTwilioStatusCallbackEndsTheCall(t *testing.T) {
	d := &recordingDialer{}
	m := &Manager{Dialer: d}
	var checked atomic.Int32
	validate := func(r *http.Request) error {
		checked.Add(1)
		if r.Header.Get("X-Twilio-Signature") != "good" {
			return errors.New("bad signature")
		}
		return nil
	}
	srv := httptest.NewServer(TwilioStatusHandler(m, validate, nil))
	defer srv.Close()
	st, err := m.StartCampaign(CampaignRequest{Agent: "demo", From: "+15017122661", Numbers: []string{"+15550100001"}, Rate: 10})
	if err != nil {
		t.Fatal(err)
	}
	post := func(sig, status string) int {
		form := url.Values{"CallSid": {"CA0001"}, "CallStatus": {status}, "AccountSid": {testSID}}
		req, _ := http.NewRequest("POST", srv.URL, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		cur, _ := m.Campaign(st.ID)
		if cur.Calls[0].Status == "placed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("call never placed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if code := post("forged", "completed"); code != 403 {
		t.Fatalf("forged callback: %d", code)
	}
	if code := post("good", "ringing"); code != 204 {
		t.Fatalf("ringing: %d", code)
	}
	if cur, _ := m.Campaign(st.ID); cur.Calls[0].Status != "placed" {
		t.Fatalf("a ringing callback ended the call: %+v", cur.Calls[0])
	}
	if code := post("good", "no-answer"); code != 204 {
		t.Fatalf("no-answer: %d", code)
	}
	end := waitCampaign(t, m, st.ID)
	if end.Calls[0].Status != "no-answer" || checked.Load() != 3 {
		t.Fatalf("after the callback: %+v (signature checked %d times)", end.Calls[0], checked.Load())
	}
}
