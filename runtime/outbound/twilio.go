// Package outbound places calls: it asks a carrier's REST API to dial a number
// and connect the answered call back to one of Parley's agents, one at a time
// (POST /v1/calls) or as a campaign over a list of numbers with a concurrency
// cap and pacing (POST /v1/campaigns).
package outbound

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Request is one call to place.
type Request struct {
	Agent string `json:"agent"`
	To    string `json:"to"`
	From  string `json:"from"`
}

// Placed is what the carrier said when it accepted the call.
type Placed struct {
	// CarrierCallID is the carrier's id of the call (Twilio's CallSid); it
	// reaches call.started's metadata as call_sid when the call connects.
	CarrierCallID string `json:"carrier_call_id"`
	Status        string `json:"status"`
}

// Dialer asks a carrier to place a call.
type Dialer interface {
	Dial(ctx context.Context, r Request) (Placed, error)
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// Validate checks a request: agent set, numbers in E.164 (+ and 7–15 digits).
func (r *Request) Validate() error {
	var errs []error
	if r.Agent == "" {
		errs = append(errs, errors.New("agent is required"))
	}
	if !e164.MatchString(r.To) {
		errs = append(errs, fmt.Errorf("to %q is not an E.164 number (+ and 7 to 15 digits)", r.To))
	}
	if !e164.MatchString(r.From) {
		errs = append(errs, fmt.Errorf("from %q is not an E.164 number (+ and 7 to 15 digits)", r.From))
	}
	return errors.Join(errs...)
}

// CarrierError is an error answer of a carrier's REST API.
type CarrierError struct {
	Carrier  string
	Status   int    // HTTP status
	Code     int    // the carrier's error code (Twilio: 21211 invalid To, 20429 too many requests…)
	Message  string // the carrier's message
	MoreInfo string
}

func (e *CarrierError) Error() string {
	s := fmt.Sprintf("%s refused the call: HTTP %d", e.Carrier, e.Status)
	if e.Code != 0 {
		s += fmt.Sprintf(", error %d", e.Code)
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.MoreInfo != "" {
		s += " (" + e.MoreInfo + ")"
	}
	return s
}

// Retryable reports whether trying again later may succeed (429, 5xx).
func (e *CarrierError) Retryable() bool {
	return e.Status == http.StatusTooManyRequests || e.Status >= 500
}

// Twilio places calls with Twilio's Calls API
// (POST /2010-04-01/Accounts/{AccountSid}/Calls.json, HTTP Basic auth with the
// account SID and auth token). The answered call fetches its TwiML from
// Parley's voice webhook for the agent (/v1/twilio/voice/{agent}), which
// connects it to the media stream; call progress is posted to
// /v1/twilio/status.
type Twilio struct {
	AccountSID string
	AuthToken  string
	// PublicURL is Parley's public https base URL, which Twilio calls back.
	PublicURL string
	// BaseURL is the API's base; default https://api.twilio.com.
	BaseURL string
	// RingTimeout is how long Twilio lets the phone ring; default 30s.
	RingTimeout time.Duration
	// Client defaults to one with a 15 s timeout.
	Client *http.Client
}

// Dial places one call.
func (t *Twilio) Dial(ctx context.Context, r Request) (Placed, error) {
	if err := r.Validate(); err != nil {
		return Placed{}, err
	}
	if t.AccountSID == "" || t.AuthToken == "" {
		return Placed{}, errors.New("twilio: account SID and auth token are required to place calls (--twilio-account-sid, $TWILIO_ACCOUNT_SID / $TWILIO_AUTH_TOKEN)")
	}
	pub := strings.TrimRight(t.PublicURL, "/")
	if !strings.HasPrefix(pub, "https://") {
		return Placed{}, fmt.Errorf("twilio: the public URL must be https (Twilio calls it back), got %q", t.PublicURL)
	}
	base := strings.TrimRight(t.BaseURL, "/")
	if base == "" {
		base = "https://api.twilio.com"
	}
	ring := t.RingTimeout
	if ring <= 0 {
		ring = 30 * time.Second
	}
	form := url.Values{
		"To":                   {r.To},
		"From":                 {r.From},
		"Url":                  {pub + "/v1/twilio/voice/" + url.PathEscape(r.Agent)},
		"Method":               {http.MethodPost},
		"StatusCallback":       {pub + "/v1/twilio/status"},
		"StatusCallbackMethod": {http.MethodPost},
		"StatusCallbackEvent":  {"initiated", "ringing", "answered", "completed"},
		"Timeout":              {fmt.Sprint(int(ring.Seconds()))},
	}
	endpoint := base + "/2010-04-01/Accounts/" + url.PathEscape(t.AccountSID) + "/Calls.json"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return Placed{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(t.AccountSID, t.AuthToken)
	client := t.Client
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which holds the account SID
		}
		return Placed{}, fmt.Errorf("twilio: placing the call: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return Placed{}, fmt.Errorf("twilio: reading the answer: %w", err)
	}
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		ce := &CarrierError{Carrier: "twilio", Status: resp.StatusCode}
		var e struct {
			Code     int    `json:"code"`
			Message  string `json:"message"`
			MoreInfo string `json:"more_info"`
		}
		if json.Unmarshal(body, &e) == nil {
			ce.Code, ce.Message, ce.MoreInfo = e.Code, e.Message, e.MoreInfo
		}
		return Placed{}, ce
	}
	var ok struct {
		SID    string `json:"sid"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal(body, &ok); err != nil || ok.SID == "" {
		return Placed{}, fmt.Errorf("twilio: unexpected answer (HTTP %d) without a call sid", resp.StatusCode)
	}
	return Placed{CarrierCallID: ok.SID, Status: ok.Status}, nil
}
