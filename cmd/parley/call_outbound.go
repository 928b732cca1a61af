package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/parley-voice/parley/runtime/outbound"
)

// outboundFlags are `parley call --outbound`'s settings.
type outboundFlags struct {
	server, token, agent, from string
	to                         []string
	campaign                   string
	concurrency                int
	rate                       float64
}

// runOutbound asks a running server to place a call through its carrier
// (POST /v1/calls), or, with --campaign, to call a list of numbers
// (POST /v1/campaigns), printing the campaign's progress until it ends.
func runOutbound(ctx context.Context, f outboundFlags, stdout io.Writer) error {
	if f.token == "" {
		return errors.New("parley call --outbound: the server's admin token is required (--admin-token or $PARLEY_ADMIN_TOKEN)")
	}
	base := strings.TrimRight(f.server, "/")
	client := &http.Client{Timeout: 30 * time.Second}
	post := func(path string, body any, out any) error {
		b, _ := json.Marshal(body)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, bytes.NewReader(b))
		if err != nil {
			return err
		}
		return doJSON(client, req, f.token, out)
	}
	if f.campaign == "" {
		if len(f.to) != 1 {
			return errors.New("parley call --outbound: give one --to number (or --campaign FILE for many)")
		}
		var placed outbound.Placed
		if err := post("/v1/calls", outbound.Request{Agent: f.agent, To: f.to[0], From: f.from}, &placed); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "call placed to %s for agent %q: carrier call id %s (%s)\n", f.to[0], f.agent, placed.CarrierCallID, placed.Status)
		return nil
	}
	numbers, err := readScript(f.campaign)
	if err != nil {
		return fmt.Errorf("reading the campaign's numbers: %w", err)
	}
	var st outbound.CampaignStatus
	req := outbound.CampaignRequest{Agent: f.agent, From: f.from, Numbers: numbers, Concurrency: f.concurrency, Rate: f.rate}
	if err := post("/v1/campaigns", req, &st); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "campaign %s: %d numbers, at most %d at once, %g calls/s\n", st.ID, len(numbers), st.Request.Concurrency, st.Request.Rate)
	last := ""
	for {
		greq, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/campaigns/"+st.ID, nil)
		if err != nil {
			return err
		}
		if err := doJSON(client, greq, f.token, &st); err != nil {
			return err
		}
		line := fmt.Sprintf("%s: %d in progress, %v", st.State, st.InFlight, st.Counts)
		if line != last {
			fmt.Fprintln(stdout, line)
			last = line
		}
		if st.State != "running" {
			for _, c := range st.Calls {
				if c.Error != "" {
					fmt.Fprintf(stdout, "  %s: %s\n", c.To, c.Error)
				}
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// doJSON sends req with the admin token and decodes a 2xx JSON answer, or
// returns the server's error message.
func doJSON(client *http.Client, req *http.Request, token string, out any) error {
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("reaching the server at %s: %w", req.URL.Host, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			return fmt.Errorf("server answered %s: %s", resp.Status, e.Error)
		}
		return fmt.Errorf("server answered %s", resp.Status)
	}
	return json.Unmarshal(body, out)
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
