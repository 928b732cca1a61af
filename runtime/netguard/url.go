package netguard

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
)

// ErrInsecureURL is wrapped by ParseTargetURL when a URL is not https: plain
// http to a host that is not loopback, or to loopback without the opt-out.
var ErrInsecureURL = errors.New("URL must use https")

// URLError is a refused target URL. Its message never contains the URL's path
// or query, which may hold tokens.
type URLError struct {
	msg string
	err error
}

func (e *URLError) Error() string { return e.msg }
func (e *URLError) Unwrap() error { return e.err }

// ParseTargetURL checks the URL of a backend Parley calls (a webhook endpoint,
// a server-driven agent's backend): https, or http to a loopback host when
// insecureLoopback is set (development); a host; no credentials or fragment.
// A loopback host name is checked again after resolution by the dialer.
func ParseTargetURL(raw string, insecureLoopback bool) (*url.URL, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, &URLError{msg: "is required"}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" {
		return nil, &URLError{msg: "is not a valid URL"}
	}
	if u.User != nil {
		return nil, &URLError{msg: "must not contain credentials (user:password@)"}
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return nil, &URLError{msg: "must not contain a fragment"}
	}
	host := u.Hostname()
	if host == "" {
		return nil, &URLError{msg: "has no host"}
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
	case "http":
		if !insecureLoopback {
			return nil, &URLError{msg: "must use https (plain http is only allowed to a loopback host with allow_insecure_loopback)", err: ErrInsecureURL}
		}
		if !IsLoopbackHost(host) {
			return nil, &URLError{msg: fmt.Sprintf("plain http is only allowed to a loopback host, not %s", host), err: ErrInsecureURL}
		}
	default:
		return nil, &URLError{msg: "scheme must be https", err: ErrInsecureURL}
	}
	return u, nil
}

// IsLoopbackHost reports whether host is a loopback IP or "localhost" (or a
// name under .localhost).
func IsLoopbackHost(host string) bool {
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip.Unmap().IsLoopback()
	}
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	return h == "localhost" || strings.HasSuffix(h, ".localhost")
}
