package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/pipeline/fake"
	"github.com/parley-voice/parley/runtime/call"
	"github.com/parley-voice/parley/runtime/dashboard"
	"github.com/parley-voice/parley/runtime/server"
	"github.com/parley-voice/parley/runtime/webhooks/dispatch"
)

// nullConn is a transport that drops the agent's audio.
type nullConn struct{}

func (nullConn) WriteFrame([]int16) error { return nil }
func (nullConn) Clear() error             { return nil }
func (nullConn) Close(string) error       { return nil }

func TestDashboardMountedOnTheServer(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv, err := server.New(server.Config{Agents: []*agents.Config{parseAgent(t, testAgent)},
		Providers: &server.Providers{FakeSTT: &fake.STT{Text: "hello"}, FakeTTS: &fake.TTS{}, FakeLLM: &fake.LLM{}}})
	if err != nil {
		t.Fatal(err)
	}
	const token = "server-dashboard-token"
	// A stand-in for the webhook admin API: the dashboard must see it is there.
	srv.Mount(dispatch.AdminPrefix, http.NotFoundHandler())
	srv.MountDashboard(token)
	hs := httptest.NewServer(srv.Handler())
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		srv.Shutdown(ctx)
		hs.Close()
	}()
	get := func(path, tok string, v any) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, hs.URL+path, nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		res, err := hs.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if v != nil && res.StatusCode == http.StatusOK {
			if err := json.Unmarshal(b, v); err != nil {
				t.Fatalf("%s: %v in %s", path, err, b)
			}
		}
		return res.StatusCode
	}

	if status := get("/dashboard/", "", nil); status != http.StatusOK {
		t.Fatalf("page: %d", status)
	}
	if status := get("/dashboard", "", nil); status != http.StatusOK { // redirected
		t.Fatalf("/dashboard: %d", status)
	}
	if status := get(dashboard.APIPrefix+"calls", "wrong", nil); status != http.StatusUnauthorized {
		t.Fatalf("wrong token: %d", status)
	}
	var info dashboard.Info
	if status := get(dashboard.APIPrefix+"info", token, &info); status != http.StatusOK || !info.Webhooks || len(info.Agents) != 1 || info.Agents[0] != "test" {
		t.Fatalf("info %d %+v", status, info)
	}

	c, err := srv.StartCall("test", call.Params{Transport: "test", From: "+15550100", To: "+15550199", SampleRate: 16000}, nullConn{})
	if err != nil {
		t.Fatal(err)
	}
	live := srv.Calls()
	if len(live) != 1 || live[0].ID != c.ID() || live[0].Transport != "test" || live[0].From != "+15550100" || live[0].To != "+15550199" ||
		live[0].AgentID != "test" || live[0].State == "" || live[0].Started.IsZero() {
		t.Fatalf("Calls() = %+v", live)
	}
	var list dashboard.CallList
	deadline := time.Now().Add(wait)
	for len(list.Live) == 0 && time.Now().Before(deadline) {
		if get(dashboard.APIPrefix+"calls", token, &list); len(list.Live) == 0 {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if len(list.Live) != 1 || list.Live[0].ID != c.ID() || list.Live[0].Transport != "test" || !list.Live[0].Live {
		t.Fatalf("live list %+v", list)
	}

	c.Hangup(call.ReasonCallerHangup)
	c.Wait()
	if n := len(srv.Calls()); n != 0 {
		t.Fatalf("%d live calls after the hang-up", n)
	}
	list = dashboard.CallList{}
	get(dashboard.APIPrefix+"calls", token, &list)
	if len(list.Live) != 0 || len(list.Recent) != 1 || list.Recent[0].Reason != call.ReasonCallerHangup || list.Recent[0].State != "ended" {
		t.Fatalf("lists after the call %+v", list)
	}
	var d dashboard.CallDetail
	if status := get(dashboard.APIPrefix+"calls/"+c.ID(), token, &d); status != http.StatusOK || d.Started == nil || d.Ended == nil || len(d.Events) == 0 {
		t.Fatalf("call detail %d: %+v", status, d.Call)
	}
}
