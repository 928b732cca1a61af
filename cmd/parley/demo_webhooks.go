package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/parley-voice/parley/runtime/events"
	"github.com/parley-voice/parley/runtime/webhooks"
	"github.com/parley-voice/parley/runtime/webhooks/dispatch"
	"github.com/parley-voice/parley/runtime/webhooks/receiver"
	"github.com/parley-voice/parley/runtime/webhooks/signature"
)

// demoWebhooks is the demo's downstream: the durable dispatcher (embedded NATS
// JetStream in a temporary directory) delivering every event, signed, to a
// CRM-style receiver on loopback that verifies and deduplicates with the
// receiver package, as a customer's backend would.
type demoWebhooks struct {
	d    *dispatch.Dispatcher
	http *http.Server
	url  string
	dir  string

	mu       sync.Mutex
	received map[string]string // event_id → event_type
	turns    int               // transcript lines of call.ended
}

func startDemoWebhooks(ctx context.Context, log *slog.Logger) (*demoWebhooks, error) {
	secret, err := signature.GenerateSecret()
	if err != nil {
		return nil, err
	}
	v, err := receiver.NewVerifier([]string{secret.Encode()})
	if err != nil {
		return nil, err
	}
	h := &demoWebhooks{received: map[string]string{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	h.url = "http://" + ln.Addr().String() + "/webhooks"
	mux := http.NewServeMux()
	mux.Handle("POST /webhooks", receiver.Middleware(v, http.HandlerFunc(h.receive)))
	h.http = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = h.http.Serve(ln) }()

	if h.dir, err = os.MkdirTemp("", "parley-demo-queue-"); err != nil {
		h.close()
		return nil, err
	}
	h.d, err = dispatch.Open(ctx, dispatch.Config{
		DataDir: h.dir, Logger: log,
		Endpoints: []webhooks.Endpoint{{
			ID: "demo-crm", URL: h.url, Secrets: []string{secret.Encode()}, AllowInsecureLoopback: true,
		}},
	})
	if err != nil {
		h.close()
		return nil, err
	}
	return h, nil
}

func (h *demoWebhooks) receive(w http.ResponseWriter, r *http.Request) {
	d, _ := receiver.FromContext(r.Context())
	h.mu.Lock()
	h.received[d.ID] = d.Event.EventType
	if d.Event.EventType == events.CallEnded {
		var p struct {
			Transcript []any `json:"transcript"`
		}
		if d.Event.DecodePayload(&p) == nil {
			h.turns = len(p.Transcript)
		}
	}
	h.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// finish waits until every event the dispatcher stored reached the receiver
// and prints what was delivered.
func (h *demoWebhooks) finish(ctx context.Context, out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := h.d.Flush(ctx); err != nil {
		return err
	}
	st := h.d.Stats()
	for {
		h.mu.Lock()
		got, turns := len(h.received), h.turns
		h.mu.Unlock()
		if uint64(got) >= st.Stored {
			fmt.Fprintf(out, "» webhooks: %d of %d events stored in JetStream and delivered, signed, to the CRM receiver at %s (signatures verified; call.ended carried %d transcript lines)\n",
				got, st.Accepted, h.url, turns)
			if st.Dropped > 0 {
				return fmt.Errorf("webhooks: %d events dropped", st.Dropped)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("webhooks: the receiver got %d of %d stored events: %w", got, st.Stored, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func (h *demoWebhooks) close() {
	var errs []error
	if h.d != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		errs = append(errs, h.d.Close(ctx))
		cancel()
	}
	if h.http != nil {
		_ = h.http.Close()
	}
	if h.dir != "" {
		errs = append(errs, os.RemoveAll(h.dir))
	}
	_ = errors.Join(errs...)
}
