package main

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/parley-voice/parley/runtime/webhooks/receiver"
)

// maxPendingPerCall bounds the events buffered behind a gap in one call; past it
// the store stops waiting for the gap.
const maxPendingPerCall = 10_000

// Outcomes of Store.Apply, sent back in the webhook answer.
const (
	outcomeApplied   = "applied"   // applied now (and maybe buffered successors with it)
	outcomeBuffered  = "buffered"  // stored, waiting for an earlier sequence
	outcomeDuplicate = "duplicate" // this call's sequence was already stored
	outcomeIgnored   = "ignored"   // not about a call
)

// Store keeps calls in memory, applies each call's events in sequence order, and
// optionally saves everything to a JSON file after each change.
type Store struct {
	mu      sync.Mutex
	calls   map[string]*callState
	path    string        // "" keeps everything in memory
	gapWait time.Duration // how long a missing sequence holds back later ones
	now     func() time.Time
	log     *slog.Logger
}

// callState is one call and its ordering bookkeeping.
type callState struct {
	Call Call `json:"call"`
	// Next is the sequence expected next: every event below it was applied, or
	// given up on (Skipped).
	Next uint64 `json:"next_sequence"`
	// Pending holds events that arrived ahead of a missing one.
	Pending map[uint64]receiver.EventEnvelope `json:"pending,omitempty"`
	// WaitingSince is when the store started waiting for sequence Next while
	// later events were pending.
	WaitingSince time.Time `json:"waiting_since,omitzero"`
	// Skipped lists sequences the store stopped waiting for; if one arrives
	// after all, it is applied late.
	Skipped []uint64 `json:"skipped,omitempty"`
}

// snapshot is the data file.
type snapshot struct {
	Version int                   `json:"version"`
	SavedAt time.Time             `json:"saved_at"`
	Calls   map[string]*callState `json:"calls"`
}

const snapshotVersion = 1

// NewStore returns a store; with a path, it loads the file if it exists and
// saves to it after every change.
func NewStore(path string, gapWait time.Duration, now func() time.Time, log *slog.Logger) (*Store, error) {
	s := &Store{calls: map[string]*callState{}, path: path, gapWait: gapWait, now: now, log: log}
	if path == "" {
		return s, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating the data directory: %w", err)
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the data file: %w", err)
	}
	var snap snapshot
	if err := json.Unmarshal(b, &snap); err != nil {
		return nil, fmt.Errorf("data file %s is not valid JSON (%v); move it away to start empty", path, err)
	}
	if snap.Version != snapshotVersion {
		return nil, fmt.Errorf("data file %s has version %d, this program reads version %d", path, snap.Version, snapshotVersion)
	}
	if snap.Calls != nil {
		s.calls = snap.Calls
	}
	log.Info("loaded calls", "file", path, "calls", len(s.calls), "saved_at", snap.SavedAt)
	return s, nil
}

// Apply stores one event and applies, in sequence order, whatever of its call
// can now be applied. It is idempotent: an event whose sequence the call already
// holds is a duplicate. The change is saved before Apply returns, so answering
// 2xx afterwards is safe.
func (s *Store) Apply(e receiver.EventEnvelope) (string, error) {
	if e.CallID == "" || e.Sequence == 0 {
		s.log.Info("ignoring an event without call_id or sequence", "event_id", e.EventID, "event_type", e.EventType)
		return outcomeIgnored, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.calls[e.CallID]
	if cs == nil {
		cs = &callState{Call: Call{ID: e.CallID, AgentID: e.AgentID}, Next: 1}
		s.calls[e.CallID] = cs
	}
	now := s.now()
	var outcome string
	switch seq := e.Sequence; {
	case seq < cs.Next:
		i := slices.Index(cs.Skipped, seq)
		if i < 0 {
			return outcomeDuplicate, nil
		}
		cs.Skipped = slices.Delete(cs.Skipped, i, i+1)
		s.applyOne(cs, e)
		s.log.Info("applied a late event", "call_id", e.CallID, "sequence", seq, "event_type", e.EventType)
		outcome = outcomeApplied
	case seq == cs.Next:
		s.applyOne(cs, e)
		cs.Next++
		s.drain(cs, now)
		outcome = outcomeApplied
	default:
		if _, ok := cs.Pending[seq]; ok {
			return outcomeDuplicate, nil
		}
		if cs.Pending == nil {
			cs.Pending = map[uint64]receiver.EventEnvelope{}
		}
		cs.Pending[seq] = e
		if cs.WaitingSince.IsZero() {
			cs.WaitingSince = now
		}
		s.log.Debug("buffered an out-of-order event", "call_id", e.CallID, "sequence", seq, "waiting_for", cs.Next)
		outcome = outcomeBuffered
		if len(cs.Pending) > maxPendingPerCall {
			s.skipGap(cs, now)
		}
	}
	// If saving fails, the event stays applied in memory: Parley's retry is then
	// a duplicate, and the next successful save (every save writes everything)
	// puts it on disk.
	if err := s.save(now); err != nil {
		return "", err
	}
	return outcome, nil
}

// FlushGaps stops waiting for sequences missing longer than the gap wait, and
// applies what was buffered behind them. An endpoint subscribed to only some
// event types sees gaps in every call; this keeps such calls moving.
func (s *Store) FlushGaps() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	changed := false
	for _, cs := range s.calls {
		if len(cs.Pending) > 0 && now.Sub(cs.WaitingSince) >= s.gapWait {
			s.skipGap(cs, now)
			changed = true
		}
	}
	if !changed {
		return nil
	}
	return s.save(now)
}

// skipGap gives up on the sequences before the first pending one.
func (s *Store) skipGap(cs *callState, now time.Time) {
	first := slices.Min(slices.Collect(maps.Keys(cs.Pending)))
	s.log.Warn("gave up waiting for missing events; applying later ones", "call_id", cs.Call.ID,
		"missing_from", cs.Next, "missing_to", first-1, "waited", now.Sub(cs.WaitingSince).Round(time.Millisecond))
	for q := cs.Next; q < first; q++ {
		cs.Skipped = append(cs.Skipped, q)
	}
	cs.Next = first
	s.drain(cs, now)
}

// drain applies the pending events that follow on from Next.
func (s *Store) drain(cs *callState, now time.Time) {
	progressed := false
	for {
		e, ok := cs.Pending[cs.Next]
		if !ok {
			break
		}
		delete(cs.Pending, cs.Next)
		s.applyOne(cs, e)
		cs.Next++
		progressed = true
	}
	switch {
	case len(cs.Pending) == 0:
		cs.Pending, cs.WaitingSince = nil, time.Time{}
	case progressed || cs.WaitingSince.IsZero():
		cs.WaitingSince = now // a new gap: wait for it afresh
	}
}

func (s *Store) applyOne(cs *callState, e receiver.EventEnvelope) {
	if err := cs.Call.apply(e); err != nil {
		// The envelope is authentic; a payload this version cannot read is logged
		// and counted as applied, so one odd event never blocks a call.
		s.log.Warn("could not read an event's payload", "call_id", e.CallID, "sequence", e.Sequence,
			"event_type", e.EventType, "err", err)
	}
}

// CallView is a call as the API shows it: the record plus its ordering state.
type CallView struct {
	Call
	// AppliedThrough: every event up to this sequence is applied (or given up on).
	AppliedThrough   uint64   `json:"applied_through"`
	PendingEvents    int      `json:"pending_events"`
	MissingSequences []uint64 `json:"missing_sequences,omitempty"`
}

// CallSummary is a call in the list.
type CallSummary struct {
	ID              string     `json:"call_id"`
	AgentID         string     `json:"agent_id"`
	From            string     `json:"from,omitempty"`
	To              string     `json:"to,omitempty"`
	Status          string     `json:"status"`
	StartedAt       *time.Time `json:"started_at,omitempty"`
	EndedAt         *time.Time `json:"ended_at,omitempty"`
	EndReason       string     `json:"end_reason,omitempty"`
	TranscriptLines int        `json:"transcript_lines"`
	Intents         []string   `json:"intents,omitempty"`
	PendingEvents   int        `json:"pending_events"`
}

// Get returns a copy of one call.
func (s *Store) Get(id string) (CallView, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs, ok := s.calls[id]
	if !ok {
		return CallView{}, false
	}
	b, err := json.Marshal(cs.Call) // a deep copy, so callers share nothing with the store
	if err != nil {
		return CallView{}, false
	}
	var c Call
	if err := json.Unmarshal(b, &c); err != nil {
		return CallView{}, false
	}
	if c.Transcript == nil {
		c.Transcript = []Line{}
	}
	if c.Intents == nil {
		c.Intents = []Intent{}
	}
	missing := slices.Clone(cs.Skipped)
	for q := cs.Next; len(cs.Pending) > 0 && q < slices.Max(slices.Collect(maps.Keys(cs.Pending))); q++ {
		if _, ok := cs.Pending[q]; !ok {
			missing = append(missing, q)
		}
	}
	slices.Sort(missing)
	return CallView{Call: c, AppliedThrough: cs.Next - 1, PendingEvents: len(cs.Pending), MissingSequences: missing}, true
}

// List returns every call, the most recent first.
func (s *Store) List() []CallSummary {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]CallSummary, 0, len(s.calls))
	for _, cs := range s.calls {
		c := cs.Call
		sum := CallSummary{
			ID: c.ID, AgentID: c.AgentID, From: c.From, To: c.To, Status: c.Status,
			StartedAt: c.StartedAt, EndedAt: c.EndedAt, EndReason: c.EndReason,
			TranscriptLines: len(c.Transcript), PendingEvents: len(cs.Pending),
		}
		if sum.Status == "" {
			sum.Status = "pending" // only out-of-order events so far
		}
		for _, in := range c.Intents {
			sum.Intents = append(sum.Intents, in.Name)
		}
		out = append(out, sum)
	}
	slices.SortFunc(out, func(a, b CallSummary) int {
		return cmp.Or(-cmp.Compare(startKey(a), startKey(b)), cmp.Compare(a.ID, b.ID))
	})
	return out
}

func startKey(c CallSummary) int64 {
	if c.StartedAt == nil {
		return 0
	}
	return c.StartedAt.UnixNano()
}

// save writes the whole store to the data file atomically: a temporary file in
// the same directory, flushed to disk, then renamed over the old one, so a crash
// leaves either the old file or the new one, never half of one.
func (s *Store) save(now time.Time) error {
	if s.path == "" {
		return nil
	}
	b, err := json.Marshal(snapshot{Version: snapshotVersion, SavedAt: now.UTC(), Calls: s.calls})
	if err != nil {
		return fmt.Errorf("encoding the calls: %w", err)
	}
	dir := filepath.Dir(s.path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(s.path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("saving calls: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	// Transcripts are personal data: only the owner may read the file.
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("saving calls: %w", err)
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("saving calls to %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("saving calls to %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("saving calls to %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), s.path); err != nil {
		return fmt.Errorf("saving calls: %w", err)
	}
	// Make the rename itself durable. Not every system can sync a directory.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
