package webhooks

import (
	"testing"
	"time"

	"github.com/parley-voice/parley/runtime/webhooks/internal/whtest"
	"github.com/parley-voice/parley/runtime/webhooks/signature"
	"go.uber.org/goleak"
)

// fakeClock is a Clock that only moves when told to.
type fakeClock = whtest.Clock

func newFakeClock() *fakeClock { return whtest.NewClock() }

// newSecret returns a fresh whsec_ secret.
func newSecret(t testing.TB) string {
	t.Helper()
	s, err := signature.GenerateSecret()
	if err != nil {
		t.Fatal(err)
	}
	return s.Encode()
}

func parseSecrets(t testing.TB, ss ...string) []signature.Secret {
	t.Helper()
	out, err := signature.ParseSecrets(ss)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// waitFor polls cond for up to 5 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestMain fails the run if a test leaves a goroutine behind: every
// deliverer, server and waiter must be stopped by its owner.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
