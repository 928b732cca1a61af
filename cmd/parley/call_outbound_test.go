package main

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-voice/parley/runtime/outbound"
)

type instantDialer struct{ n int }

func (d *instantDialer) Dial(_ context.Context, r outbound.Request) (outbound.Placed, error) {
	d.n++
	return outbound.Placed{CarrierCallID: "CA" + strings.Repeat("0", 31) + string(rune('0'+d.n)), Status: "queued"}, nil
}

func TestCallOutbound(t *testing.T) {
	d := &instantDialer{}
	m := &outbound.Manager{Dialer: d, HasAgent: func(id string) bool { return id == "demo" }}
	srv := httptest.NewServer(outbound.NewHandler(m, "tok", nil))
	defer srv.Close()

	code, out, errOut := runCLI(t, "call", "--outbound", "--server", srv.URL, "--admin-token", "tok",
		"--agent", "demo", "--from", "+15017122661", "--to", "+15558675310")
	if code != 0 || !strings.Contains(out, "call placed to +15558675310") || !strings.Contains(out, "CA") {
		t.Fatalf("outbound call: %d %q %q", code, out, errOut)
	}
	code, _, errOut = runCLI(t, "call", "--outbound", "--server", srv.URL, "--admin-token", "wrong",
		"--agent", "demo", "--from", "+15017122661", "--to", "+15558675310")
	if code == 0 || !strings.Contains(errOut, "401") {
		t.Fatalf("wrong token: %d %q", code, errOut)
	}
	code, _, errOut = runCLI(t, "call", "--outbound", "--server", srv.URL, "--admin-token", "tok",
		"--agent", "demo", "--from", "+15017122661", "--to", "12")
	if code == 0 || !strings.Contains(errOut, "E.164") {
		t.Fatalf("bad number: %d %q", code, errOut)
	}

	// A campaign of two numbers: both placed; the test ends them as the
	// carrier's status callback would, and the CLI prints the end.
	file := filepath.Join(t.TempDir(), "numbers.txt")
	if err := os.WriteFile(file, []byte("+15550100001\n# a comment\n+15550100002\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			m.Finished("CA"+strings.Repeat("0", 31)+"2", "completed")
			m.Finished("CA"+strings.Repeat("0", 31)+"3", "completed")
		}
	}()
	code, out, errOut = runCLI(t, "call", "--outbound", "--server", srv.URL, "--admin-token", "tok",
		"--agent", "demo", "--from", "+15017122661", "--campaign", file, "--rate", "20")
	close(stop)
	if code != 0 || !strings.Contains(out, "campaign cmp_") || !strings.Contains(out, "done:") || !strings.Contains(out, "completed:2") {
		t.Fatalf("campaign: %d %q %q", code, out, errOut)
	}
}
