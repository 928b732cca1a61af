package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/media/native"
	"github.com/parley-voice/parley/pipeline"
	"github.com/parley-voice/parley/plugins"
	"github.com/parley-voice/parley/runtime/events"
	"github.com/parley-voice/parley/runtime/server"
)

const adminToken = "test-admin-token"

// versionedAgent is a flow agent whose greeting and reply name a version, so
// that a caller can tell which version answers. The fake recogniser hears
// "hello" in any utterance.
func versionedAgent(version string) string {
	return `id: test
name: Test agent ` + version + `
stt: {provider: fake}
tts: {provider: fake}
llm: {provider: flow}
flow:
  start: welcome
  intents:
    hi: {examples: [hello], keywords: [hello]}
  nodes:
    welcome:
      say: Welcome from ` + version + `.
      transitions: [{intent: hi, next: reply}]
    reply:
      say: Reply from ` + version + `.
      transitions: [{intent: hi, next: reply}]
`
}

// said waits for an agent.response whose text contains want.
func (p *phone) said(want string) {
	p.t.Helper()
	p.event(events.AgentResponse, func(e native.ClientEvent) bool {
		text, _ := e.Payload["text"].(string)
		return strings.Contains(text, want)
	})
}

// startedVersion waits for call.started and returns its agent_version.
func (p *phone) startedVersion() string {
	p.t.Helper()
	v, _ := p.event(events.CallStarted, nil).Payload["agent_version"].(string)
	return v
}

// admin sends an admin API request with the admin token and decodes the
// JSON answer.
func admin(t *testing.T, ts *testServer, method, path, body string) (int, map[string]any) {
	t.Helper()
	return adminAs(t, ts, adminToken, method, path, body)
}

func adminAs(t *testing.T, ts *testServer, token, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, ts.hs.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/yaml")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: %d, body not JSON: %q", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode, out
}

// currentVersion is the version GET /v1/agents reports for the test agent.
func currentVersion(t *testing.T, ts *testServer) string {
	t.Helper()
	resp, err := http.Get(ts.hs.URL + "/v1/agents")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Agents []struct{ ID, Version string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	for _, a := range body.Agents {
		if a.ID == "test" {
			return a.Version
		}
	}
	return ""
}

// TestAdminPutKeepsLiveCallOnItsVersion: an agent changed through the admin
// API takes new calls at once, while a call that started before the change
// goes on with the old config: its next reply comes from the old flow.
func TestAdminPutKeepsLiveCallOnItsVersion(t *testing.T) {
	ts := newTestServer(t, server.Config{Agents: []*agents.Config{parseAgent(t, versionedAgent("v1"))}, AdminToken: adminToken})
	v1 := currentVersion(t, ts)
	if !strings.HasPrefix(v1, "1-") {
		t.Fatalf("version at start %q, want generation 1", v1)
	}

	old := mustDial(t, ts)
	if got := old.startedVersion(); got != v1 {
		t.Errorf("call.started agent_version %q, want %q", got, v1)
	}
	old.said("Welcome from v1.")
	old.awaitListening()

	status, body := admin(t, ts, "PUT", "/v1/admin/agents/test", versionedAgent("v2"))
	if status != http.StatusOK || body["changed"] != true {
		t.Fatalf("PUT v2: %d %v", status, body)
	}
	v2 := currentVersion(t, ts)
	if v2 == v1 || !strings.HasPrefix(v2, "2-") {
		t.Fatalf("version after the change %q (before %q), want generation 2", v2, v1)
	}
	if got := body["agent"].(map[string]any)["version"]; got != v2 {
		t.Errorf("PUT answered version %v, GET /v1/agents %s", got, v2)
	}

	fresh := mustDial(t, ts)
	if got := fresh.startedVersion(); got != v2 {
		t.Errorf("new call's agent_version %q, want %q", got, v2)
	}
	fresh.said("Welcome from v2.")
	fresh.awaitListening()

	old.speak(640)
	old.said("Reply from v1.")
	fresh.speak(640)
	fresh.said("Reply from v2.")
	if old.count(events.AgentResponse) == 0 || hasText(old, "v2") {
		t.Errorf("the old call heard the new version")
	}

	// The same config again is no change: the version stays.
	status, body = admin(t, ts, "PUT", "/v1/admin/agents/test", versionedAgent("v2"))
	if status != http.StatusOK || body["changed"] != false || currentVersion(t, ts) != v2 {
		t.Errorf("PUT of the same config: %d %v, version %s; want unchanged %s", status, body, currentVersion(t, ts), v2)
	}
	old.hangUp()
	fresh.hangUp()
}

func hasText(p *phone, s string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range p.evs {
		if text, _ := e.Payload["text"].(string); strings.Contains(text, s) {
			return true
		}
	}
	return false
}

// TestAdminRefusesBadChanges: an invalid or unprovisionable config is refused
// with a clear error naming the field, and the old version keeps serving.
func TestAdminRefusesBadChanges(t *testing.T) {
	ts := newTestServer(t, server.Config{Agents: []*agents.Config{parseAgent(t, versionedAgent("v1"))}, AdminToken: adminToken})
	v1 := currentVersion(t, ts)
	for _, tc := range []struct {
		name, body string
		status     int
		code       string
		path       string // a problem's path, "" for none
		msg        string // in the error or a problem
	}{
		{"bad YAML", "id: test\nflow: [unclosed\n", 422, "invalid_config", "", "invalid YAML"},
		{"unknown field", strings.Replace(versionedAgent("v2"), "name:", "nmae:", 1), 422, "invalid_config", "", `unknown field \"nmae\"`},
		{"invalid value", versionedAgent("v2") + "turn: {endpointing: -1s}\n", 422, "invalid_config", "turn.endpointing", ""},
		{"unknown tool", versionedAgent("v2") + "tools: [{name: no_such_tool}]\n", 422, "provisioning_failed", "", "no_such_tool"},
		{"own webhooks changed", versionedAgent("v2") + "webhooks: [{id: crm, url: 'https://crm.example/hook', secrets: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw']}]\n", 422, "webhooks_changed", "", "restart"},
		{"id differs from the path", strings.Replace(versionedAgent("v2"), "id: test", "id: other", 1), 400, "id_mismatch", "id", ""},
		{"too large", versionedAgent("v2") + "description: " + strings.Repeat("x", server.MaxAgentBody) + "\n", 413, "too_large", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := admin(t, ts, "PUT", "/v1/admin/agents/test", tc.body)
			if status != tc.status || body["code"] != tc.code {
				t.Fatalf("PUT: %d %v; want %d %s", status, body, tc.status, tc.code)
			}
			all, _ := json.Marshal(body)
			if tc.msg != "" && !strings.Contains(string(all), tc.msg) {
				t.Errorf("answer %s does not say %q", all, tc.msg)
			}
			if tc.path != "" && !strings.Contains(string(all), `"path":"`+tc.path+`"`) {
				t.Errorf("answer %s names no problem at %s", all, tc.path)
			}
			if strings.Contains(string(all), "whsec_") {
				t.Errorf("answer %s shows a secret", all)
			}
			if v := currentVersion(t, ts); v != v1 {
				t.Errorf("version %s after a refused change, want %s", v, v1)
			}
		})
	}
	// The old version still answers.
	p := mustDial(t, ts)
	if got := p.startedVersion(); got != v1 {
		t.Errorf("agent_version %q, want %q", got, v1)
	}
	p.said("Welcome from v1.")
	p.hangUp()
}

// TestAdminAuthAndRemove: the admin API wants the token; DELETE makes new
// calls to the agent unknown while a live one finishes; PUT adds it again.
func TestAdminAuthAndRemove(t *testing.T) {
	ts := newTestServer(t, server.Config{Agents: []*agents.Config{parseAgent(t, versionedAgent("v1"))}, AdminToken: adminToken})
	for _, token := range []string{"", "wrong"} {
		if status, body := adminAs(t, ts, token, "DELETE", "/v1/admin/agents/test", ""); status != http.StatusUnauthorized {
			t.Errorf("DELETE with token %q: %d %v, want 401", token, status, body)
		}
	}
	status, body := admin(t, ts, "GET", "/v1/admin/agents", "")
	if list, _ := body["agents"].([]any); status != http.StatusOK || len(list) != 1 {
		t.Fatalf("GET list: %d %v", status, body)
	}
	live := mustDial(t, ts)
	live.said("Welcome from v1.")
	live.awaitListening()

	if status, body := admin(t, ts, "DELETE", "/v1/admin/agents/test", ""); status != http.StatusOK || body["live_calls"] != 1.0 {
		t.Fatalf("DELETE: %d %v; want 200 with one live call", status, body)
	}
	if status, _ := admin(t, ts, "DELETE", "/v1/admin/agents/test", ""); status != http.StatusNotFound {
		t.Errorf("second DELETE: %d, want 404", status)
	}
	refused, err := dial(t, ts.url, nil, native.Control{Agent: "test"})
	if err == nil {
		t.Fatalf("a call to a removed agent was admitted (%v)", refused)
	}
	if !strings.Contains(err.Error(), "unknown_agent") {
		t.Errorf("refusal %v, want unknown_agent", err)
	}
	// The live call still runs on its version.
	live.speak(640)
	live.said("Reply from v1.")
	live.hangUp()

	status, body = admin(t, ts, "PUT", "/v1/admin/agents/test", versionedAgent("v3"))
	if status != http.StatusCreated {
		t.Fatalf("PUT after DELETE: %d %v, want 201", status, body)
	}
	if v := currentVersion(t, ts); !strings.HasPrefix(v, "2-") {
		t.Errorf("version %q after removal and a new PUT, want generation 2", v)
	}
	p := mustDial(t, ts)
	p.said("Welcome from v3.")
	p.hangUp()
}

// TestAdminDisabledWithoutToken: with no admin token the API refuses all.
func TestAdminDisabledWithoutToken(t *testing.T) {
	ts := newTestServer(t, server.Config{})
	status, body := adminAs(t, ts, "anything", "GET", "/v1/admin/agents", "")
	if status != http.StatusForbidden || body["code"] != "admin_disabled" {
		t.Errorf("GET without a configured token: %d %v, want 403 admin_disabled", status, body)
	}
}

// writeAgentFile writes an agent config as deploy tools and editors do: a
// temporary file renamed over the old one.
func writeAgentFile(t *testing.T, path, yaml string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func dirLoader(dir string) func() ([]*agents.Config, error) {
	return func() ([]*agents.Config, error) { return agents.LoadDir(dir) }
}

// TestReloadFromFiles: Reload (what SIGHUP does) applies a changed file to
// new calls only, refuses a broken file while the old version serves,
// removes an agent whose file is gone, and adds a new one.
func TestReloadFromFiles(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "test.yaml")
	writeAgentFile(t, file, versionedAgent("v1"))
	cfgs, err := agents.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, server.Config{Agents: cfgs, LoadAgents: dirLoader(dir), AdminToken: adminToken})
	v1 := currentVersion(t, ts)

	res, err := ts.srv.Reload()
	if err != nil || !res.Empty() || fmt.Sprint(res.Unchanged) != "[test]" {
		t.Fatalf("reload of unchanged files: %+v, %v", res, err)
	}
	old := mustDial(t, ts)
	old.said("Welcome from v1.")
	old.awaitListening()

	writeAgentFile(t, file, versionedAgent("v2"))
	if res, err := ts.srv.Reload(); err != nil || fmt.Sprint(res.Changed) != "[test]" {
		t.Fatalf("reload of a changed file: %+v, %v", res, err)
	}
	v2 := currentVersion(t, ts)
	if v2 == v1 {
		t.Fatal("the version did not change")
	}
	fresh := mustDial(t, ts)
	fresh.said("Welcome from v2.")
	old.speak(640)
	old.said("Reply from v1.")

	// A broken file: refused, with the file and line, through the admin API too.
	writeAgentFile(t, file, strings.Replace(versionedAgent("v3"), "next: reply", "next: nowhere", 1))
	if _, err := ts.srv.Reload(); err == nil || !strings.Contains(err.Error(), "test.yaml:") || !strings.Contains(err.Error(), "nowhere") {
		t.Fatalf("reload of a broken file: %v; want an error naming the file and the unknown node", err)
	}
	status, body := admin(t, ts, "POST", "/v1/admin/agents/reload", "")
	if all, _ := json.Marshal(body); status != 422 || body["code"] != "reload_failed" || !bytes.Contains(all, []byte(`"line":`)) {
		t.Errorf("POST reload of a broken file: %d %s; want 422 with the problem's line", status, all)
	}
	if v := currentVersion(t, ts); v != v2 {
		t.Errorf("version %s after a refused reload, want %s", v, v2)
	}

	// Gone: new calls are refused, the live ones go on. A new file adds its agent.
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	writeAgentFile(t, filepath.Join(dir, "second.yaml"), strings.Replace(versionedAgent("s1"), "id: test", "id: second", 1))
	status, body = admin(t, ts, "POST", "/v1/admin/agents/reload", "")
	if status != 200 || fmt.Sprint(body["removed"]) != "[test]" || fmt.Sprint(body["added"]) != "[second]" {
		t.Fatalf("POST reload after removing a file: %d %v", status, body)
	}
	if _, err := dial(t, ts.url, nil, native.Control{Agent: "test"}); err == nil {
		t.Error("a call to the removed agent was admitted")
	}
	fresh.awaitListening()
	fresh.speak(640)
	fresh.said("Reply from v2.")
	old.hangUp()
	fresh.hangUp()
	p, err := dial(t, ts.url, nil, native.Control{Agent: "second"})
	if err != nil {
		t.Fatalf("calling the added agent: %v", err)
	}
	p.said("Welcome from s1.")
	p.hangUp()
}

// TestReloadKeepsAdminChanges: a reload applies only what changed in the
// files, so an agent changed through the admin API keeps its version when
// its file did not change.
func TestReloadKeepsAdminChanges(t *testing.T) {
	dir := t.TempDir()
	writeAgentFile(t, filepath.Join(dir, "test.yaml"), versionedAgent("v1"))
	cfgs, err := agents.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, server.Config{Agents: cfgs, LoadAgents: dirLoader(dir), AdminToken: adminToken})
	if status, body := admin(t, ts, "PUT", "/v1/admin/agents/test", versionedAgent("api")); status != 200 {
		t.Fatalf("PUT: %d %v", status, body)
	}
	want := currentVersion(t, ts)
	if res, err := ts.srv.Reload(); err != nil || !res.Empty() {
		t.Fatalf("reload: %+v, %v", res, err)
	}
	if v := currentVersion(t, ts); v != want {
		t.Errorf("version %s after a reload of unchanged files, want the admin API's %s", v, want)
	}
	var info server.AgentInfo
	for _, a := range ts.srv.Agents() {
		info = a
	}
	if info.Source != server.SourceAdminAPI {
		t.Errorf("source %q, want %q", info.Source, server.SourceAdminAPI)
	}
}

// TestWatchAgents: a config file replaced on disk (written and renamed, as
// editors do) is reloaded by the watch; a broken one is reported and refused.
func TestWatchAgents(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "test.yaml")
	writeAgentFile(t, file, versionedAgent("v1"))
	cfgs, err := agents.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, server.Config{Agents: cfgs, LoadAgents: dirLoader(dir)})
	v1 := currentVersion(t, ts)
	type outcome struct {
		res server.ReloadResult
		err error
	}
	reloads := make(chan outcome, 16)
	stop, err := ts.srv.WatchAgents(t.Context(), []string{file}, 0, func(res server.ReloadResult, err error) {
		reloads <- outcome{res, err}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	next := func() outcome {
		t.Helper()
		select {
		case o := <-reloads:
			return o
		case <-t.Context().Done():
		case <-time.After(wait):
		}
		t.Fatal("no reload after the file changed")
		return outcome{}
	}

	writeAgentFile(t, file, versionedAgent("v2"))
	if o := next(); o.err != nil || fmt.Sprint(o.res.Changed) != "[test]" {
		t.Fatalf("reload after the change: %+v, %v", o.res, o.err)
	}
	v2 := currentVersion(t, ts)
	if v2 == v1 {
		t.Fatal("the version did not change")
	}
	writeAgentFile(t, file, "id: test\nflow: [broken\n")
	if o := next(); o.err == nil || !strings.Contains(o.err.Error(), "invalid YAML") {
		t.Fatalf("reload of a broken file: %+v, %v; want invalid YAML", o.res, o.err)
	}
	if v := currentVersion(t, ts); v != v2 {
		t.Errorf("version %s after a broken file, want %s", v, v2)
	}
	p := mustDial(t, ts)
	p.said("Welcome from v2.")
	p.hangUp()
}

// closerTool reports when its toolset closes it.
type closerTool struct {
	n      int
	closed chan<- int
}

func (c *closerTool) Spec() pipeline.ToolSpec {
	return pipeline.ToolSpec{Name: "closer", Description: "Does nothing.", Parameters: json.RawMessage(`{"type":"object"}`)}
}

func (c *closerTool) Call(context.Context, json.RawMessage) (plugins.Result, error) {
	return plugins.Result{}, nil
}

func (c *closerTool) Close() error { c.closed <- c.n; return nil }

// TestReplacedVersionClosesItsTools: the tools of a replaced version are
// closed once the last call on it has ended, not before.
func TestReplacedVersionClosesItsTools(t *testing.T) {
	closed := make(chan int, 8)
	built := 0
	env := plugins.Default().Clone()
	if err := env.Register("closer", func(json.RawMessage) (plugins.Tool, error) {
		built++ // provisioning is serialised
		return &closerTool{n: built, closed: closed}, nil
	}); err != nil {
		t.Fatal(err)
	}
	withTool := func(greeting string) string {
		return strings.Replace(testAgent, "greeting: Hi.", "greeting: "+greeting, 1) + "tools: [{name: closer}]\n"
	}
	ts := newTestServer(t, server.Config{Agents: []*agents.Config{parseAgent(t, withTool("Hi."))}, Tools: env, AdminToken: adminToken})
	p := mustDial(t, ts)
	p.awaitListening()
	if status, body := admin(t, ts, "PUT", "/v1/admin/agents/test", withTool("Hello.")); status != 200 {
		t.Fatalf("PUT: %d %v", status, body)
	}
	select {
	case n := <-closed:
		t.Fatalf("the tools of version %d closed while a call ran on it", n)
	default:
	}
	p.hangUp()
	select {
	case n := <-closed:
		if n != 1 {
			t.Errorf("closed the tools of version %d, want 1", n)
		}
	case <-time.After(wait):
		t.Fatal("the replaced version's tools were not closed after its last call")
	}
	select {
	case n := <-closed:
		t.Errorf("the tools of version %d closed, but it serves", n)
	default:
	}
}

// TestOnAgentConfigSeesAdminPuts: a config put through the admin API reaches
// Config.OnAgentConfig with the values it took from the environment, so serve
// can register them with its log redactor like those of the files.
func TestOnAgentConfigSeesAdminPuts(t *testing.T) {
	t.Setenv("PARLEY_TEST_PUT_SECRET", "s3cret-from-the-env")
	var mu sync.Mutex
	var seen []string
	ts := newTestServer(t, server.Config{Agents: []*agents.Config{parseAgent(t, versionedAgent("v1"))}, AdminToken: adminToken,
		OnAgentConfig: func(c *agents.Config) {
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, c.Secrets()...)
		}})
	body := strings.Replace(versionedAgent("v2"), "name: Test agent v2", "name: ${PARLEY_TEST_PUT_SECRET}", 1)
	if status, resp := admin(t, ts, "PUT", "/v1/admin/agents/test", body); status != http.StatusOK {
		t.Fatalf("PUT: %d %v", status, resp)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Contains(seen, "s3cret-from-the-env") {
		t.Errorf("OnAgentConfig saw secrets %q, want the PUT config's env value", seen)
	}
}
