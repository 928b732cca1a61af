package webhooks

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/parley-voice/parley/runtime/netguard"
)

// maxResponseHeaderBytes bounds the response headers an endpoint may send.
const maxResponseHeaderBytes = 64 << 10

// newClient builds an endpoint's own HTTP client. Its dialer enforces the SSRF
// policy on every resolved address before connecting; proxies from the
// environment are ignored (a proxy would connect past that check); redirects
// come back as the response instead of being followed; TLS is 1.2 or later.
// There is no client timeout: Deliver bounds each attempt with its context.
func newClient(ep *Endpoint, scheme string, rootCAs *x509.CertPool) (*http.Client, *http.Transport) {
	var hosts []string
	var nets []netip.Prefix
	for _, h := range ep.AllowedHosts {
		host, prefix, err := parseAllowed(h)
		switch {
		case err != nil: // Validate refused it already
		case host != "":
			hosts = append(hosts, host)
		default:
			nets = append(nets, prefix)
		}
	}
	policy := &netguard.Policy{
		LoopbackOnly:  scheme == "http",
		AllowLoopback: ep.AllowInsecureLoopback,
		AllowedHosts:  hosts,
		AllowedNets:   nets,
	}
	dialer := &net.Dialer{Timeout: ep.ConnectTimeout.Std(), KeepAlive: 30 * time.Second}
	transport := &http.Transport{
		Proxy:       nil,
		DialContext: policy.DialContext(dialer),
		TLSClientConfig: &tls.Config{
			MinVersion: tls.VersionTLS12,
			RootCAs:    rootCAs,
		},
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           ep.MaxInFlight,
		MaxIdleConnsPerHost:    ep.MaxInFlight,
		MaxConnsPerHost:        ep.MaxInFlight, // the receiver never sees more sockets than requests in flight
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    ep.Timeout.Std(),
		MaxResponseHeaderBytes: maxResponseHeaderBytes,
		DisableCompression:     true,
	}
	client := &http.Client{
		Transport: transport,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	return client, transport
}
