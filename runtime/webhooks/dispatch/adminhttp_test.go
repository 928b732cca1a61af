package dispatch_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/runtime/webhooks"
	"github.com/parley-voice/parley/runtime/webhooks/dispatch"
	"github.com/parley-voice/parley/runtime/webhooks/internal/whtest"
)

const adminToken = "s3cret-admin-token-for-tests"

// adminServer serves the admin API of d over real HTTP.
func adminServer(t *testing.T, d *dispatch.Dispatcher, token string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(dispatch.NewAdminHandler(d, token, slog.New(slog.DiscardHandler)))
	t.Cleanup(srv.Close)
	return srv
}

type adminResp struct {
	status int
	header http.Header
	body   []byte
}

// errBody decodes an error answer, failing the test if it is not the
// documented {"error", "code"} JSON.
func (r adminResp) errBody(t *testing.T) (msg, code string) {
	t.Helper()
	var e struct {
		Error     string `json:"error"`
		Code      string `json:"code"`
		RequestID string `json:"request_id"`
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("error answer with Content-Type %q: %s", ct, r.body)
	}
	if err := json.Unmarshal(r.body, &e); err != nil || e.Error == "" || e.Code == "" || e.RequestID == "" {
		t.Fatalf("error answer is not {error, code, request_id}: %s (%v)", r.body, err)
	}
	return e.Error, e.Code
}

// do sends one admin request; token "" sends no Authorization header.
func do(t *testing.T, srv *httptest.Server, method, path, token, body string) adminResp {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return adminResp{res.StatusCode, res.Header, b}
}

// get sends an authorised request that must succeed and decodes its answer.
func get[T any](t *testing.T, srv *httptest.Server, method, path, body string) T {
	t.Helper()
	r := do(t, srv, method, path, adminToken, body)
	if r.status != http.StatusOK {
		t.Fatalf("%s %s: %d %s", method, path, r.status, r.body)
	}
	var v T
	dec := json.NewDecoder(strings.NewReader(string(r.body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%s %s: decoding %s: %v", method, path, r.body, err)
	}
	return v
}

func TestAdminAuth(t *testing.T) {
	d := open(t, dispatch.Config{Endpoints: []webhooks.Endpoint{endpoint("crm", "http://127.0.0.1:9/hook")}, NoDeliver: true})
	srv := adminServer(t, d, adminToken)
	const path = "/v1/admin/webhooks/endpoints"
	cases := []struct {
		name, auth string
		status     int
		challenge  string
	}{
		{"no header", "", 401, `Bearer realm="parley-admin"`},
		{"wrong token", "Bearer not-the-token", 401, `error="invalid_token"`},
		{"a prefix of the token", "Bearer " + adminToken[:10], 401, `error="invalid_token"`},
		{"basic scheme", "Basic " + adminToken, 401, `Bearer realm=`},
		{"bearer without a token", "Bearer ", 401, `Bearer realm=`},
		{"right token", "Bearer " + adminToken, 200, ""},
		{"scheme in lower case", "bearer " + adminToken, 200, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
			if c.auth != "" {
				req.Header.Set("Authorization", c.auth)
			}
			res, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			r := adminResp{res.StatusCode, res.Header, b}
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %s", r.status, c.status, b)
			}
			if strings.Contains(string(b), adminToken) || strings.Contains(string(b), "not-the-token") {
				t.Fatalf("the answer echoes a token: %s", b)
			}
			if c.status == 401 {
				if got := res.Header.Get("WWW-Authenticate"); !strings.Contains(got, c.challenge) {
					t.Errorf("WWW-Authenticate %q, want it to contain %q", got, c.challenge)
				}
				if _, code := r.errBody(t); code != "unauthorized" {
					t.Errorf("code %q", code)
				}
			}
		})
	}
	// A token in the query string is not accepted: it would end up in logs.
	if r := do(t, srv, http.MethodGet, path+"?token="+adminToken, "", ""); r.status != 401 {
		t.Errorf("token in the query: status %d", r.status)
	}
	// Unknown routes are hidden behind authentication too.
	if r := do(t, srv, http.MethodGet, "/v1/admin/webhooks/nope", "", ""); r.status != 401 {
		t.Errorf("unauthenticated unknown route: status %d, want 401", r.status)
	}

	// No token configured: everything is refused, whatever is sent.
	closed := adminServer(t, d, "")
	for _, auth := range []string{"", "Bearer ", "Bearer anything"} {
		r := do(t, closed, http.MethodGet, path, strings.TrimPrefix(auth, "Bearer "), "")
		if r.status != http.StatusForbidden {
			t.Fatalf("empty-token config, auth %q: status %d, want 403", auth, r.status)
		}
		msg, code := r.errBody(t)
		if code != "admin_disabled" || !strings.Contains(msg, "configure an admin token") {
			t.Fatalf("empty-token config: %q %q", code, msg)
		}
	}
	if r := do(t, closed, http.MethodPost, "/v1/admin/webhooks/replay", "x", `{"endpoint":"crm","all":true}`); r.status != http.StatusForbidden {
		t.Fatalf("empty-token config, replay: status %d", r.status)
	}
}

func TestAdminEndpointsEventsAndAttempts(t *testing.T) {
	crm, analytics := whtest.NewReceiver(t), whtest.NewReceiver(t)
	an := endpoint("analytics", analytics.URL+"/in?key=hidden")
	an.Events = []string{"call.*"}
	d := open(t, dispatch.Config{Endpoints: []webhooks.Endpoint{endpoint("crm", crm.URL), an}})
	srv := adminServer(t, d, adminToken)
	var ids []string
	for s := uint64(1); s <= 3; s++ {
		for _, call := range []string{"call_a", "call_b"} {
			ev := whtest.Event(call, s)
			d.Accept(ev)
			ids = append(ids, ev.ID)
		}
	}
	crm.WaitDistinct(t, 6, 10*time.Second)

	list := get[dispatch.EndpointList](t, srv, http.MethodGet, "/v1/admin/webhooks/endpoints", "")
	if len(list.Endpoints) != 2 || list.Endpoints[0].ID != "crm" || list.Endpoints[1].ID != "analytics" {
		t.Fatalf("endpoints: %+v", list.Endpoints)
	}
	if list.Producer.Accepted != 6 || list.Producer.Stored != 6 {
		t.Errorf("producer: %+v", list.Producer)
	}
	eventually(t, "crm's counters", func() bool {
		st := get[dispatch.EndpointStatus](t, srv, http.MethodGet, "/v1/admin/webhooks/endpoints/crm", "")
		return st.Node.Delivered == 6 && st.Pending == 0
	})
	st := get[dispatch.EndpointStatus](t, srv, http.MethodGet, "/v1/admin/webhooks/endpoints/analytics", "")
	if st.URL != analytics.URL+"/in" || st.Secrets != 1 || !st.Health.Enabled {
		t.Errorf("analytics status: %+v", st)
	}
	raw := do(t, srv, http.MethodGet, "/v1/admin/webhooks/endpoints", adminToken, "")
	if strings.Contains(string(raw.body), whtest.Secret) || strings.Contains(string(raw.body), "hidden") {
		t.Fatalf("the endpoint list shows a secret or the URL's query: %s", raw.body)
	}
	r := do(t, srv, http.MethodGet, "/v1/admin/webhooks/endpoints/nope", adminToken, "")
	if msg, code := r.errBody(t); r.status != 404 || code != "unknown_endpoint" || !strings.Contains(msg, `"nope"`) {
		t.Errorf("unknown endpoint: %d %s %s", r.status, code, msg)
	}

	// Events, newest first, filtered and paged.
	evs := get[dispatch.EventList](t, srv, http.MethodGet, "/v1/admin/webhooks/events", "")
	if len(evs.Events) != 6 || evs.Events[0].EventID != ids[5] || evs.NextBefore != 0 || evs.Events[0].Body != nil {
		t.Fatalf("events: %+v", evs)
	}
	evs = get[dispatch.EventList](t, srv, http.MethodGet, "/v1/admin/webhooks/events?call_id=call_a&limit=2&body=true", "")
	if len(evs.Events) != 2 || evs.Events[0].EventID != ids[4] || evs.Events[1].EventID != ids[2] || evs.NextBefore == 0 {
		t.Fatalf("call_a page 1: %+v", evs)
	}
	var env struct {
		ID string `json:"event_id"`
	}
	if err := json.Unmarshal(evs.Events[0].Body, &env); err != nil || env.ID != ids[4] {
		t.Fatalf("body of %s: %s", ids[4], evs.Events[0].Body)
	}
	evs = get[dispatch.EventList](t, srv, http.MethodGet, "/v1/admin/webhooks/events?call_id=call_a&limit=2&before="+strconv.FormatUint(evs.NextBefore, 10), "")
	if len(evs.Events) != 1 || evs.Events[0].EventID != ids[0] {
		t.Fatalf("call_a page 2: %+v", evs)
	}
	if evs := get[dispatch.EventList](t, srv, http.MethodGet, "/v1/admin/webhooks/events?type=call.*", ""); len(evs.Events) != 0 {
		t.Fatalf("type call.*: %+v", evs)
	}
	if evs := get[dispatch.EventList](t, srv, http.MethodGet, "/v1/admin/webhooks/events?type=speech.*", ""); len(evs.Events) != 6 {
		t.Fatalf("type speech.*: %d events", len(evs.Events))
	}

	// Attempts of one event: crm delivered it; analytics skipped it (filter).
	var att dispatch.AttemptList
	eventually(t, "the attempt log", func() bool {
		att = get[dispatch.AttemptList](t, srv, http.MethodGet, "/v1/admin/webhooks/events/"+url.PathEscape(ids[0])+"/attempts", "")
		return len(att.Attempts) == 1
	})
	a := att.Attempts[0]
	if a.EndpointID != "crm" || a.EventID != ids[0] || a.N != 1 || a.Status != 204 || a.Outcome != webhooks.OutcomeDelivered {
		t.Fatalf("attempt: %+v", a)
	}
	if att := get[dispatch.AttemptList](t, srv, http.MethodGet, "/v1/admin/webhooks/events/"+ids[0]+"/attempts?endpoint=analytics", ""); len(att.Attempts) != 0 {
		t.Fatalf("analytics attempts: %+v", att)
	}
	r = do(t, srv, http.MethodGet, "/v1/admin/webhooks/events/"+ids[0]+"/attempts?endpoint=nope", adminToken, "")
	if _, code := r.errBody(t); r.status != 404 || code != "unknown_endpoint" {
		t.Errorf("attempts at an unknown endpoint: %d %s", r.status, code)
	}
}

func TestAdminDeadLetterListAndReplay(t *testing.T) {
	rcv := whtest.NewReceiver(t)
	var down atomic.Bool
	down.Store(true)
	rcv.SetRespond(func(*whtest.Receipt, int) (int, time.Duration) {
		if down.Load() {
			return http.StatusInternalServerError, 0
		}
		return http.StatusNoContent, 0
	})
	ep := endpoint("crm", rcv.URL)
	ep.Retry = &webhooks.RetryPolicy{Schedule: []agents.Duration{0}} // one attempt, then the DLQ
	d := open(t, dispatch.Config{Endpoints: []webhooks.Endpoint{ep}})
	srv := adminServer(t, d, adminToken)
	before := time.Now().UTC()
	ev := whtest.Event("call_dlq", 1)
	d.Accept(ev)

	var dlq dispatch.DeadLetterList
	eventually(t, "the dead letter", func() bool {
		dlq = get[dispatch.DeadLetterList](t, srv, http.MethodGet, "/v1/admin/webhooks/dlq?endpoint=crm", "")
		return len(dlq.DeadLetters) == 1
	})
	dl := dlq.DeadLetters[0]
	if dl.EventID != ev.ID || dl.EndpointID != "crm" || dl.CallID != "call_dlq" || dl.Attempts != 1 ||
		!strings.Contains(dl.Reason, "500") || dl.DeadAt.Before(before.Add(-time.Second)) {
		t.Fatalf("dead letter: %+v", dl)
	}
	st := get[dispatch.EndpointStatus](t, srv, http.MethodGet, "/v1/admin/webhooks/endpoints/crm", "")
	if st.DeadLettered != 1 || st.Health.LastStatus != 500 {
		t.Fatalf("status after the dead letter: %+v", st)
	}
	// Time filters, in RFC 3339.
	since := url.QueryEscape(before.Add(-time.Minute).Format(time.RFC3339))
	future := url.QueryEscape(time.Now().Add(time.Hour).Format(time.RFC3339))
	if l := get[dispatch.DeadLetterList](t, srv, http.MethodGet, "/v1/admin/webhooks/dlq?since="+since+"&until="+future, ""); len(l.DeadLetters) != 1 {
		t.Fatalf("DLQ in range: %+v", l)
	}
	if l := get[dispatch.DeadLetterList](t, srv, http.MethodGet, "/v1/admin/webhooks/dlq?since="+future, ""); len(l.DeadLetters) != 0 {
		t.Fatalf("DLQ since the future: %+v", l)
	}
	if l := get[dispatch.DeadLetterList](t, srv, http.MethodGet, "/v1/admin/webhooks/dlq?event_id=evt_other", ""); len(l.DeadLetters) != 0 {
		t.Fatalf("DLQ of another event: %+v", l)
	}
	r := do(t, srv, http.MethodGet, "/v1/admin/webhooks/dlq?endpoint=nope", adminToken, "")
	if _, code := r.errBody(t); r.status != 404 || code != "unknown_endpoint" {
		t.Errorf("DLQ of an unknown endpoint: %d %s", r.status, code)
	}

	// The receiver recovers; the replay delivers the same event_id.
	down.Store(false)
	res := get[dispatch.ReplayResult](t, srv, http.MethodPost, "/v1/admin/webhooks/replay",
		`{"endpoint": "crm", "event_id": "`+ev.ID+`"}`)
	if res.Replayed != 1 || len(res.EventIDs) != 1 || res.EventIDs[0] != ev.ID {
		t.Fatalf("replay: %+v", res)
	}
	rcv.WaitDistinct(t, 1, 10*time.Second)
	if got := rcv.Receipts()[0]; got.EventID != ev.ID || got.CallID != "call_dlq" {
		t.Fatalf("the receiver got %+v, want event %s", got, ev.ID)
	}
	if seen := rcv.Seen(); len(seen) != 2 || seen[0] != ev.ID || seen[1] != ev.ID {
		t.Fatalf("requests with event ids %v, want %s twice", seen, ev.ID)
	}
	if l := get[dispatch.DeadLetterList](t, srv, http.MethodGet, "/v1/admin/webhooks/dlq", ""); len(l.DeadLetters) != 0 {
		t.Fatalf("DLQ after the replay: %+v", l)
	}
	var att dispatch.AttemptList
	eventually(t, "both attempts in the log", func() bool {
		att = get[dispatch.AttemptList](t, srv, http.MethodGet, "/v1/admin/webhooks/events/"+ev.ID+"/attempts?endpoint=crm", "")
		return len(att.Attempts) == 2
	})
	if a0, a1 := att.Attempts[0], att.Attempts[1]; a0.Status != 500 || !a0.DeadLettered || a1.Status != 204 || a1.DeadLettered {
		t.Fatalf("attempts: %+v", att.Attempts)
	}
	// Nothing left: a second replay queues nothing.
	if res := get[dispatch.ReplayResult](t, srv, http.MethodPost, "/v1/admin/webhooks/replay", `{"endpoint":"crm","all":true}`); res.Replayed != 0 || res.EventIDs == nil {
		t.Fatalf("replay of an empty DLQ: %+v", res)
	}
	r = do(t, srv, http.MethodPost, "/v1/admin/webhooks/replay", adminToken, `{"endpoint":"nope","all":true}`)
	if _, code := r.errBody(t); r.status != 404 || code != "unknown_endpoint" {
		t.Errorf("replay at an unknown endpoint: %d %s", r.status, code)
	}
}

func TestAdminDisableEnable(t *testing.T) {
	rcv := whtest.NewReceiver(t)
	off := endpoint("off", rcv.URL)
	off.Enabled = new(false)
	d := open(t, dispatch.Config{Endpoints: []webhooks.Endpoint{endpoint("crm", rcv.URL), off}, RetryPoll: 20 * time.Millisecond})
	srv := adminServer(t, d, adminToken)

	st := get[dispatch.EndpointStatus](t, srv, http.MethodPost, "/v1/admin/webhooks/endpoints/crm/disable", `{"reason": "receiver maintenance"}`)
	if st.ID != "crm" || st.Health.Enabled || st.Health.DisabledReason != "receiver maintenance" {
		t.Fatalf("after disable: %+v", st.Health)
	}
	if st := get[dispatch.EndpointStatus](t, srv, http.MethodGet, "/v1/admin/webhooks/endpoints/crm", ""); st.Health.Enabled {
		t.Fatalf("GET after disable: %+v", st.Health)
	}
	ev := whtest.Event("call_held", 1)
	d.Accept(ev)
	never(t, "a delivery to a disabled endpoint", func() bool { return rcv.Requests() > 0 })

	st = get[dispatch.EndpointStatus](t, srv, http.MethodPost, "/v1/admin/webhooks/endpoints/crm/enable", "")
	if !st.Health.Enabled || st.Health.DisabledReason != "" {
		t.Fatalf("after enable: %+v", st.Health)
	}
	// The held event goes once enabled (while disabled it waits RetryPoll at a time).
	eventually(t, "the held event", func() bool { return rcv.Has(ev.ID) })

	// No body: the default reason.
	if st := get[dispatch.EndpointStatus](t, srv, http.MethodPost, "/v1/admin/webhooks/endpoints/crm/disable", ""); st.Health.Enabled || st.Health.DisabledReason != "disabled by an operator" {
		t.Fatalf("disable without a body: %+v", st.Health)
	}
	if st := get[dispatch.EndpointStatus](t, srv, http.MethodPost, "/v1/admin/webhooks/endpoints/crm/enable", ""); !st.Health.Enabled {
		t.Fatalf("enable again: %+v", st.Health)
	}

	r := do(t, srv, http.MethodPost, "/v1/admin/webhooks/endpoints/off/enable", adminToken, "")
	if msg, code := r.errBody(t); r.status != http.StatusConflict || code != "disabled_in_config" || !strings.Contains(msg, "config") {
		t.Errorf("enabling a config-disabled endpoint: %d %s %s", r.status, code, msg)
	}
	for _, p := range []string{"/v1/admin/webhooks/endpoints/nope/enable", "/v1/admin/webhooks/endpoints/nope/disable"} {
		if r := do(t, srv, http.MethodPost, p, adminToken, ""); r.status != 404 {
			t.Errorf("POST %s: %d", p, r.status)
		}
	}
}

func TestAdminRefusesBadRequests(t *testing.T) {
	d := open(t, dispatch.Config{Endpoints: []webhooks.Endpoint{endpoint("crm", "http://127.0.0.1:9/hook")}, NoDeliver: true})
	srv := adminServer(t, d, adminToken)
	big := `{"endpoint": "crm", "event_id": "` + strings.Repeat("x", dispatch.MaxAdminBody) + `"}`
	cases := []struct {
		name, method, path, ctype, body string
		status                          int
		code, msg                       string
	}{
		{"bad JSON", "POST", "/v1/admin/webhooks/replay", "", `{"endpoint": "crm",`, 400, "bad_json", "unexpected EOF"},
		{"unknown field", "POST", "/v1/admin/webhooks/replay", "", `{"endpoint": "crm", "everything": true}`, 400, "bad_json", `unknown field "everything"`},
		{"two values", "POST", "/v1/admin/webhooks/replay", "", `{"endpoint": "crm", "all": true} {}`, 400, "bad_json", "found more"},
		{"empty body", "POST", "/v1/admin/webhooks/replay", "", ``, 400, "bad_json", "expected a JSON object"},
		{"not JSON", "POST", "/v1/admin/webhooks/replay", "text/plain", `endpoint=crm`, 415, "unsupported_media_type", "application/json"},
		{"oversized body", "POST", "/v1/admin/webhooks/replay", "", big, 413, "body_too_large", "65536"},
		{"oversized disable", "POST", "/v1/admin/webhooks/endpoints/crm/disable", "", `{"reason": "` + strings.Repeat("r", 70000) + `"}`, 413, "body_too_large", "65536"},
		{"bad since in replay", "POST", "/v1/admin/webhooks/replay", "", `{"endpoint": "crm", "since": "yesterday"}`, 400, "bad_json", "yesterday"},
		{"replay without endpoint", "POST", "/v1/admin/webhooks/replay", "", `{"all": true}`, 400, "bad_request", "name the endpoint"},
		{"replay of nothing", "POST", "/v1/admin/webhooks/replay", "", `{"endpoint": "crm"}`, 400, "bad_request", "say what to replay"},
		{"replay all and one", "POST", "/v1/admin/webhooks/replay", "", `{"endpoint": "crm", "all": true, "event_id": "e"}`, 400, "bad_request", "do not combine"},
		{"replay backwards range", "POST", "/v1/admin/webhooks/replay", "", `{"endpoint": "crm", "since": "2026-11-02T00:00:00Z", "until": "2026-11-01T00:00:00Z"}`, 400, "bad_request", "must be before"},
		{"reason with a newline", "POST", "/v1/admin/webhooks/endpoints/crm/disable", "", `{"reason": "a\nb"}`, 400, "bad_request", "one line"},
		{"limit zero", "GET", "/v1/admin/webhooks/events?limit=0", "", "", 400, "bad_request", "1 to 1000"},
		{"limit too big", "GET", "/v1/admin/webhooks/events?limit=1001", "", "", 400, "bad_request", "1 to 1000"},
		{"limit not a number", "GET", "/v1/admin/webhooks/dlq?limit=ten", "", "", 400, "bad_request", "1 to 10000"},
		{"negative before", "GET", "/v1/admin/webhooks/events?before=-3", "", "", 400, "bad_request", "queue position"},
		{"bad body flag", "GET", "/v1/admin/webhooks/events?body=yes", "", "", 400, "bad_request", "true or false"},
		{"bad glob", "GET", "/v1/admin/webhooks/events?type=%5Bcall", "", "", 400, "bad_request", "glob"},
		{"misspelt filter", "GET", "/v1/admin/webhooks/events?calll_id=x", "", "", 400, "bad_request", `"calll_id"`},
		{"repeated filter", "GET", "/v1/admin/webhooks/events?call_id=a&call_id=b", "", "", 400, "bad_request", "2 times"},
		{"since not RFC 3339", "GET", "/v1/admin/webhooks/dlq?since=2026-11-01", "", "", 400, "bad_request", "RFC 3339"},
		{"since after until", "GET", "/v1/admin/webhooks/dlq?since=2026-11-02T00:00:00Z&until=2026-11-01T00:00:00Z", "", "", 400, "bad_request", "must be before"},
		{"query on a route without one", "GET", "/v1/admin/webhooks/endpoints?all=1", "", "", 400, "bad_request", "takes none"},
		{"unknown route", "GET", "/v1/admin/webhooks/frobs", "", "", 404, "not_found", "no admin route"},
		{"wrong method on a GET route", "DELETE", "/v1/admin/webhooks/endpoints/crm", "", "", 405, "method_not_allowed", "use GET"},
		{"wrong method on a POST route", "GET", "/v1/admin/webhooks/replay", "", "", 405, "method_not_allowed", "use POST"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var rd io.Reader
			if c.body != "" {
				rd = strings.NewReader(c.body)
			}
			req, _ := http.NewRequest(c.method, srv.URL+c.path, rd)
			req.Header.Set("Authorization", "Bearer "+adminToken)
			if c.ctype != "" {
				req.Header.Set("Content-Type", c.ctype)
			}
			res, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			r := adminResp{res.StatusCode, res.Header, b}
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %s", r.status, c.status, b)
			}
			msg, code := r.errBody(t)
			if code != c.code || !strings.Contains(msg, c.msg) {
				t.Fatalf("got %q %q, want code %q and a message containing %q", code, msg, c.code, c.msg)
			}
			if len(b) > 2000 {
				t.Fatalf("the error answer echoes the request (%d bytes)", len(b))
			}
			if c.status == 405 && res.Header.Get("Allow") == "" {
				t.Error("405 without Allow")
			}
		})
	}
	// The dispatcher is untouched by all of that.
	if st, err := d.Endpoint(context.Background(), "crm"); err != nil || !st.Health.Enabled {
		t.Fatalf("crm after bad requests: %+v %v", st.Health, err)
	}
}

func TestAdminAfterCloseSaysTheQueueIsUnavailable(t *testing.T) {
	d := open(t, dispatch.Config{Endpoints: []webhooks.Endpoint{endpoint("crm", "http://127.0.0.1:9/hook")}, NoDeliver: true})
	srv := adminServer(t, d, adminToken)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Close(ctx); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/v1/admin/webhooks/endpoints", "/v1/admin/webhooks/dlq", "/v1/admin/webhooks/events"} {
		r := do(t, srv, http.MethodGet, p, adminToken, "")
		if msg, code := r.errBody(t); r.status != http.StatusServiceUnavailable || code != "queue_unavailable" || !strings.Contains(msg, "unavailable") {
			t.Errorf("GET %s after Close: %d %s %s", p, r.status, code, msg)
		}
	}
}
