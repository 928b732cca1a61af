package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/parley-voice/parley/runtime/webhooks/receiver"
)

// app wires the verifier, the store and the HTTP routes.
type app struct {
	store   *Store
	handler http.Handler
	log     *slog.Logger
}

func newApp(cfg config, now func() time.Time, log *slog.Logger) (*app, error) {
	v, err := receiver.NewVerifier(cfg.secrets,
		receiver.WithTolerance(cfg.tolerance), receiver.WithClock(now), receiver.WithLogger(log))
	if err != nil {
		return nil, err
	}
	store, err := NewStore(cfg.dataFile, cfg.gapWait, now, log)
	if err != nil {
		return nil, err
	}
	a := &app{store: store, log: log}
	mux := http.NewServeMux()
	mux.Handle("POST "+cfg.path, receiver.Middleware(v, http.HandlerFunc(a.receive)))
	mux.HandleFunc("GET /calls", a.listCalls)
	mux.HandleFunc("GET /calls/{id}", a.getCall)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	a.handler = mux
	return a, nil
}

// receive stores one verified event. A 2xx tells Parley (and the Middleware's
// dedupe) that the event is safely stored; a 500 makes Parley retry it.
func (a *app) receive(w http.ResponseWriter, r *http.Request) {
	d, _ := receiver.FromContext(r.Context())
	e := d.Event
	outcome, err := a.store.Apply(e)
	if err != nil {
		a.log.Error("storing an event failed", "event_id", e.EventID, "call_id", e.CallID, "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "storing the event failed", "event_id": e.EventID})
		return
	}
	a.log.Debug("event", "outcome", outcome, "event_type", e.EventType, "call_id", e.CallID,
		"sequence", e.Sequence, "event_id", e.EventID, "attempt_sent", d.Timestamp)
	writeJSON(w, http.StatusOK, map[string]string{"status": outcome, "event_id": e.EventID})
}

func (a *app) listCalls(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"calls": a.store.List()})
}

func (a *app) getCall(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	c, ok := a.store.Get(id)
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no call " + id})
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// flushGapsEvery gives up on long-missing events, until ctx ends.
func (a *app) flushGapsEvery(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := a.store.FlushGaps(); err != nil {
				a.log.Error("saving calls after a gap", "err", err)
			}
		}
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
