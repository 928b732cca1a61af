package dispatch_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/parley-voice/parley/runtime/webhooks"
	"github.com/parley-voice/parley/runtime/webhooks/dispatch"
	"github.com/parley-voice/parley/runtime/webhooks/internal/whtest"
)

func endpoint(id, url string) webhooks.Endpoint {
	return webhooks.Endpoint{ID: id, URL: url, Secrets: []string{whtest.Secret}, AllowInsecureLoopback: true}
}

func open(t testing.TB, cfg dispatch.Config) *dispatch.Dispatcher {
	t.Helper()
	if cfg.DataDir == "" && cfg.URL == "" {
		cfg.DataDir = t.TempDir()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	d, err := dispatch.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = d.Close(ctx)
	})
	return d
}

func TestDeliversEveryEventSignedAndInCallOrder(t *testing.T) {
	rcv := whtest.NewReceiver(t)
	d := open(t, dispatch.Config{Endpoints: []webhooks.Endpoint{endpoint("crm", rcv.URL)}})
	const calls, per = 20, 50
	for s := uint64(1); s <= per; s++ {
		for c := range calls {
			d.Accept(whtest.Event(fmt.Sprintf("call_%02d", c), s))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	rcv.WaitDistinct(t, calls*per, 20*time.Second)
	if rcv.BadSignatures() != 0 {
		t.Fatalf("%d requests failed signature verification", rcv.BadSignatures())
	}
	last := map[string]uint64{}
	for _, r := range rcv.Receipts() {
		if r.Sequence <= last[r.CallID] {
			t.Fatalf("call %s: sequence %d arrived after %d (per-call ordering)", r.CallID, r.Sequence, last[r.CallID])
		}
		last[r.CallID] = r.Sequence
	}
	st := d.Stats()
	if st.Accepted != calls*per || st.Stored != calls*per || st.Dropped != 0 {
		t.Fatalf("producer stats %+v", st)
	}
}
