package outbound

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/runtime/events"
)

// CampaignRequest is a list of numbers to call with one agent.
type CampaignRequest struct {
	Agent   string   `json:"agent"`
	From    string   `json:"from"`
	Numbers []string `json:"numbers"`
	// Concurrency is how many calls may be in progress at once (default 5,
	// at most 200).
	Concurrency int `json:"concurrency,omitempty"`
	// Rate is how many calls per second are started at most (default 1, at
	// most 50): carriers limit the rate of new calls per number.
	Rate float64 `json:"rate,omitempty"`
	// CallTimeout frees a call's slot when no end was heard of it (default
	// 15m).
	CallTimeout agents.Duration `json:"call_timeout,omitempty"`
}

// Campaign limits.
const (
	MaxCampaignNumbers = 10000
	MaxConcurrency     = 200
	MaxRate            = 50
	dialAttempts       = 3
)

func (r *CampaignRequest) normalize() error {
	var errs []error
	if len(r.Numbers) == 0 {
		errs = append(errs, errors.New("numbers: at least one is required"))
	}
	if len(r.Numbers) > MaxCampaignNumbers {
		errs = append(errs, fmt.Errorf("numbers: at most %d per campaign, got %d", MaxCampaignNumbers, len(r.Numbers)))
	}
	for i, n := range r.Numbers {
		if !e164.MatchString(n) {
			errs = append(errs, fmt.Errorf("numbers[%d]: %q is not an E.164 number", i, n))
			if len(errs) > 20 {
				break
			}
		}
	}
	if r.Agent == "" {
		errs = append(errs, errors.New("agent is required"))
	}
	if !e164.MatchString(r.From) {
		errs = append(errs, fmt.Errorf("from %q is not an E.164 number", r.From))
	}
	if r.Concurrency == 0 {
		r.Concurrency = 5
	}
	if r.Concurrency < 1 || r.Concurrency > MaxConcurrency {
		errs = append(errs, fmt.Errorf("concurrency must be 1 to %d, got %d", MaxConcurrency, r.Concurrency))
	}
	if r.Rate == 0 {
		r.Rate = 1
	}
	if r.Rate <= 0 || r.Rate > MaxRate {
		errs = append(errs, fmt.Errorf("rate must be above 0 and at most %d calls per second, got %g", MaxRate, r.Rate))
	}
	if r.CallTimeout == 0 {
		r.CallTimeout = agents.Duration(15 * time.Minute)
	}
	return errors.Join(errs...)
}

// CallResult is one number of a campaign.
type CallResult struct {
	To            string    `json:"to"`
	Status        string    `json:"status"` // pending, dialing, placed, completed, busy, no-answer, failed, canceled, timeout, error
	CarrierCallID string    `json:"carrier_call_id,omitempty"`
	Error         string    `json:"error,omitempty"`
	Attempts      int       `json:"attempts,omitempty"`
	PlacedAt      time.Time `json:"placed_at,omitzero"`
	EndedAt       time.Time `json:"ended_at,omitzero"`
}

// CampaignStatus is a snapshot of a campaign.
type CampaignStatus struct {
	ID       string          `json:"id"`
	Agent    string          `json:"agent"`
	State    string          `json:"state"` // running, done, canceled
	Created  time.Time       `json:"created"`
	Counts   map[string]int  `json:"counts"`
	InFlight int             `json:"in_flight"`
	Calls    []CallResult    `json:"calls"`
	Request  CampaignRequest `json:"request"`
}

type campaign struct {
	id      string
	req     CampaignRequest
	created time.Time
	state   string
	calls   []CallResult
	active  int
	cancel  context.CancelFunc
}

// Manager places single calls and runs campaigns.
type Manager struct {
	Dialer Dialer
	// HasAgent reports whether an agent id is served here.
	HasAgent func(id string) bool
	Logger   *slog.Logger

	mu        sync.Mutex
	campaigns map[string]*campaign
	waiting   map[string]chan string // carrier call id → its end status
}

func (m *Manager) log() *slog.Logger {
	if m.Logger == nil {
		return slog.Default()
	}
	return m.Logger
}

// Call places one call.
func (m *Manager) Call(ctx context.Context, r Request) (Placed, error) {
	if err := r.Validate(); err != nil {
		return Placed{}, &RequestError{err}
	}
	if m.HasAgent != nil && !m.HasAgent(r.Agent) {
		return Placed{}, &RequestError{fmt.Errorf("no agent %q here", r.Agent)}
	}
	if m.Dialer == nil {
		return Placed{}, ErrNoCarrier
	}
	return m.Dialer.Dial(ctx, r)
}

// RequestError is a request that can never succeed as it is.
type RequestError struct{ Err error }

func (e *RequestError) Error() string { return e.Err.Error() }
func (e *RequestError) Unwrap() error { return e.Err }

// ErrNoCarrier: no carrier is configured to place calls.
var ErrNoCarrier = errors.New("no carrier is configured to place calls (parley serve --twilio-account-sid and --twilio-auth-token, and --public-url)")

// StartCampaign checks the request and starts calling in the background.
func (m *Manager) StartCampaign(req CampaignRequest) (CampaignStatus, error) {
	if err := req.normalize(); err != nil {
		return CampaignStatus{}, &RequestError{err}
	}
	if m.HasAgent != nil && !m.HasAgent(req.Agent) {
		return CampaignStatus{}, &RequestError{fmt.Errorf("no agent %q here", req.Agent)}
	}
	if m.Dialer == nil {
		return CampaignStatus{}, ErrNoCarrier
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &campaign{id: "cmp_" + events.NewULID(time.Now()), req: req, created: time.Now(), state: "running", cancel: cancel}
	c.calls = make([]CallResult, len(req.Numbers))
	for i, n := range req.Numbers {
		c.calls[i] = CallResult{To: n, Status: "pending"}
	}
	m.mu.Lock()
	if m.campaigns == nil {
		m.campaigns = map[string]*campaign{}
		m.waiting = map[string]chan string{}
	}
	m.campaigns[c.id] = c
	st := c.status()
	m.mu.Unlock()
	go m.run(ctx, c)
	m.log().Info("campaign started", "campaign", c.id, "agent", req.Agent, "numbers", len(req.Numbers),
		"concurrency", req.Concurrency, "rate", req.Rate)
	return st, nil
}

func (c *campaign) status() CampaignStatus {
	st := CampaignStatus{ID: c.id, Agent: c.req.Agent, State: c.state, Created: c.created, InFlight: c.active,
		Calls: slices.Clone(c.calls), Counts: map[string]int{}, Request: c.req}
	st.Request.Numbers = nil
	for _, r := range c.calls {
		st.Counts[r.Status]++
	}
	return st
}

// Campaign returns a campaign's status.
func (m *Manager) Campaign(id string) (CampaignStatus, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.campaigns[id]
	if c == nil {
		return CampaignStatus{}, false
	}
	return c.status(), true
}

// Cancel stops a campaign: numbers not yet dialled are marked canceled; calls
// in progress go on.
func (m *Manager) Cancel(id string) bool {
	m.mu.Lock()
	c := m.campaigns[id]
	m.mu.Unlock()
	if c == nil {
		return false
	}
	c.cancel()
	return true
}

// Finished tells the manager a placed call ended (the carrier's status
// callback, or call.ended of the call it connected to). Unknown ids are
// ignored; a call's first end counts.
func (m *Manager) Finished(carrierCallID, status string) {
	m.mu.Lock()
	ch := m.waiting[carrierCallID]
	delete(m.waiting, carrierCallID)
	m.mu.Unlock()
	if ch != nil {
		ch <- status
	}
}

func (m *Manager) set(c *campaign, i int, f func(*CallResult)) {
	m.mu.Lock()
	f(&c.calls[i])
	m.mu.Unlock()
}

func (m *Manager) run(ctx context.Context, c *campaign) {
	req := c.req
	slots := make(chan struct{}, req.Concurrency)
	interval := time.Duration(float64(time.Second) / req.Rate)
	var next time.Time
	var wg sync.WaitGroup
	for i := range req.Numbers {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() == nil {
			if wait := time.Until(next); wait > 0 {
				select {
				case <-time.After(wait):
				case <-ctx.Done():
				}
			}
		}
		if ctx.Err() != nil {
			for j := i; j < len(req.Numbers); j++ {
				m.set(c, j, func(r *CallResult) { r.Status = "canceled" })
			}
			break
		}
		next = time.Now().Add(interval)
		m.mu.Lock()
		c.active++
		m.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				m.mu.Lock()
				c.active--
				m.mu.Unlock()
				<-slots
			}()
			m.callOne(ctx, c, i)
		}()
	}
	wg.Wait()
	m.mu.Lock()
	if ctx.Err() != nil {
		c.state = "canceled"
	} else {
		c.state = "done"
	}
	st := c.status()
	m.mu.Unlock()
	c.cancel()
	m.log().Info("campaign finished", "campaign", c.id, "state", st.State, "counts", st.Counts)
}

// callOne dials one number (retrying a carrier's 429/5xx) and holds its slot
// until the call ends or CallTimeout passes.
func (m *Manager) callOne(ctx context.Context, c *campaign, i int) {
	r := Request{Agent: c.req.Agent, To: c.req.Numbers[i], From: c.req.From}
	var placed Placed
	var err error
	for attempt := 1; attempt <= dialAttempts; attempt++ {
		m.set(c, i, func(r *CallResult) { r.Status, r.Attempts = "dialing", attempt })
		placed, err = m.Dialer.Dial(ctx, r)
		var ce *CarrierError
		if err == nil || !errors.As(err, &ce) || !ce.Retryable() || attempt == dialAttempts {
			break
		}
		select {
		case <-time.After(time.Duration(attempt) * time.Second):
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		m.set(c, i, func(r *CallResult) { r.Status, r.Error, r.EndedAt = "error", err.Error(), time.Now() })
		m.log().Warn("campaign call not placed", "campaign", c.id, "to", r.To, "err", err)
		return
	}
	done := make(chan string, 1)
	m.mu.Lock()
	m.waiting[placed.CarrierCallID] = done
	c.calls[i].Status, c.calls[i].CarrierCallID, c.calls[i].PlacedAt = "placed", placed.CarrierCallID, time.Now()
	m.mu.Unlock()
	select {
	case status := <-done:
		m.set(c, i, func(r *CallResult) { r.Status, r.EndedAt = status, time.Now() })
	case <-time.After(c.req.CallTimeout.Std()):
		m.mu.Lock()
		delete(m.waiting, placed.CarrierCallID)
		c.calls[i].Status, c.calls[i].EndedAt = "timeout", time.Now()
		m.mu.Unlock()
	}
}
