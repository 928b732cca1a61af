package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func reloadAgent(greeting string) string {
	return "id: test\ngreeting: " + greeting + "\nstt: {provider: fake}\ntts: {provider: fake}\nllm: {provider: fake}\n"
}

// agentVersion is the version /v1/agents reports for the agent "test".
func agentVersion(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/v1/agents")
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

// awaitVersion waits until the agent's version starts with prefix.
func awaitVersion(t *testing.T, base, prefix, why string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.HasPrefix(agentVersion(t, base), prefix) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: version %q, want %s…", why, agentVersion(t, base), prefix)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func replaceFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path+".new", []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
}

// TestServeReloadsOnSIGHUP: serve reloads its agent configs on SIGHUP, and a
// broken config is refused while the running version serves on.
func TestServeReloadsOnSIGHUP(t *testing.T) {
	t.Setenv("PARLEY_SERVER_CONFIG", "")
	t.Setenv("PARLEY_ADMIN_TOKEN", "")
	dir := t.TempDir()
	file := filepath.Join(dir, "test.yaml")
	replaceFile(t, file, reloadAgent("One."))
	base, stop := startServe(t, dir)
	awaitVersion(t, base, "1-", "at start")

	replaceFile(t, file, reloadAgent("Two."))
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	awaitVersion(t, base, "2-", "after SIGHUP")

	replaceFile(t, file, "id: test\ngreeting: [broken\n")
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	// Refused: no version is made of it, so the next good config is
	// generation 3, and until then generation 2 serves.
	if v := agentVersion(t, base); !strings.HasPrefix(v, "2-") {
		t.Errorf("version %q after SIGHUP with a broken file, want 2-…", v)
	}
	replaceFile(t, file, reloadAgent("Three."))
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	awaitVersion(t, base, "3-", "after SIGHUP with a fixed file")
	stop()
}

// TestServeWatch: with --watch, a config file replaced on disk takes effect
// without a signal; the admin API reports the new version.
func TestServeWatch(t *testing.T) {
	t.Setenv("PARLEY_SERVER_CONFIG", "")
	t.Setenv("PARLEY_ADMIN_TOKEN", "")
	dir := t.TempDir()
	file := filepath.Join(dir, "test.yaml")
	replaceFile(t, file, reloadAgent("One."))
	base, stop := startServe(t, "--watch", "--admin-token", "watch-admin", file)
	awaitVersion(t, base, "1-", "at start")
	replaceFile(t, file, reloadAgent("Two."))
	awaitVersion(t, base, "2-", "after the file changed")

	req, _ := http.NewRequest(http.MethodGet, base+"/v1/admin/agents", nil)
	req.Header.Set("Authorization", "Bearer watch-admin")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"version":"2-`) || !strings.Contains(string(body), `"source":"`+strings.ReplaceAll(file, `\`, `\\`)+`"`) {
		t.Errorf("GET /v1/admin/agents: %d %s", resp.StatusCode, body)
	}
	stop()
}

// TestServeWatchNeedsPaths: --watch with the embedded configs is an error.
func TestServeWatchNeedsPaths(t *testing.T) {
	t.Setenv("PARLEY_SERVER_CONFIG", "")
	var out, errOut strings.Builder
	code := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--watch"}, &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "--watch needs agent config files") {
		t.Errorf("exit %d, stderr %q", code, errOut.String())
	}
}
