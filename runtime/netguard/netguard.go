// Package netguard keeps outbound HTTP (the http_request tool, webhook
// delivery) away from addresses an attacker could reach through a
// prompt-injected or misconfigured URL: private networks, link-local and cloud
// metadata services, loopback, multicast.
//
// The check runs in net.Dialer.Control, on the address actually being connected
// to after DNS resolution and before the connect system call, so DNS rebinding
// cannot slip past it and a refused address never sees a packet.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"syscall"
)

// ErrBlocked is wrapped by every refusal.
var ErrBlocked = errors.New("address not allowed")

// BlockedError is a refused connection.
type BlockedError struct {
	// Addr is the address that was refused.
	Addr string
	// Reason names the kind of address, e.g. "private", "cloud metadata".
	Reason string
}

func (e *BlockedError) Error() string {
	return fmt.Sprintf("refusing to connect to %s (%s address)", e.Addr, e.Reason)
}

// Unwrap returns ErrBlocked.
func (e *BlockedError) Unwrap() error { return ErrBlocked }

// Policy says which addresses may be dialed. The zero Policy allows only
// public unicast addresses.
type Policy struct {
	// LoopbackOnly allows loopback addresses and nothing else (plain HTTP to a
	// local service). AllowedHosts do not widen it.
	LoopbackOnly bool
	// AllowLoopback also allows loopback addresses.
	AllowLoopback bool
	// AllowedHosts are host names (lower case, no port) dialed without any
	// address check: the operator vouches for them.
	AllowedHosts []string
	// AllowedNets are address ranges allowed even though they are otherwise
	// refused, e.g. an internal API's private subnet.
	AllowedNets []netip.Prefix
}

// Check returns a *BlockedError if the policy refuses addr.
func (p *Policy) Check(addr netip.Addr) error {
	addr = addr.WithZone("").Unmap()
	if p.LoopbackOnly {
		if addr.IsLoopback() {
			return nil
		}
		return &BlockedError{Addr: addr.String(), Reason: "non-loopback; plain HTTP is only allowed to loopback"}
	}
	for _, n := range p.AllowedNets {
		if n.Contains(addr) {
			return nil
		}
	}
	reason := Classify(addr)
	if reason == "" || (reason == "loopback" && p.AllowLoopback) {
		return nil
	}
	return &BlockedError{Addr: addr.String(), Reason: reason}
}

// Control is a net.Dialer Control function enforcing the policy on the
// resolved address before connecting. Unparseable addresses are refused.
func (p *Policy) Control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &BlockedError{Addr: address, Reason: "unparseable"}
	}
	return p.Check(ap.Addr())
}

// DialContext returns a dial function for http.Transport that applies the
// policy through base's settings. base is copied, not modified; its own
// Control and ControlContext are replaced.
func (p *Policy) DialContext(base *net.Dialer) func(ctx context.Context, network, address string) (net.Conn, error) {
	open := *base
	open.Control, open.ControlContext = nil, nil
	guarded := open
	guarded.Control = p.Control
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return nil, &net.OpError{Op: "dial", Net: network, Err: err}
		}
		if !p.LoopbackOnly && p.hostAllowed(host) {
			return open.DialContext(ctx, network, address)
		}
		// IP literals are checked up front too, so a refusal does not depend on
		// the platform being able to open a socket of that family.
		if ip, err := netip.ParseAddr(host); err == nil {
			if err := p.Check(ip); err != nil {
				return nil, &net.OpError{Op: "dial", Net: network, Err: err}
			}
		}
		return guarded.DialContext(ctx, network, address)
	}
}

func (p *Policy) hostAllowed(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	return slices.Contains(p.AllowedHosts, host)
}

// Classify names the kind of a non-public address ("private", "loopback",
// "link-local", "cloud metadata", ...), or returns "" for a public unicast
// address.
func Classify(addr netip.Addr) string {
	addr = addr.WithZone("").Unmap()
	if !addr.IsValid() {
		return "invalid"
	}
	if metadata[addr] {
		return "cloud metadata"
	}
	switch {
	case addr.IsUnspecified():
		return "unspecified"
	case addr.IsLoopback():
		return "loopback"
	case addr.IsMulticast():
		return "multicast"
	case addr.IsLinkLocalUnicast():
		return "link-local"
	case addr.IsPrivate():
		return "private"
	}
	for _, r := range reserved {
		if r.prefix.Contains(addr) {
			return r.reason
		}
	}
	if addr.Is6() {
		// Translation prefixes carry an IPv4 address that the gateway will
		// connect to: judge that address.
		b := addr.As16()
		if nat64.Contains(addr) {
			if r := Classify(netip.AddrFrom4([4]byte(b[12:16]))); r != "" {
				return r + " (via NAT64)"
			}
		}
		if sixToFour.Contains(addr) {
			if r := Classify(netip.AddrFrom4([4]byte(b[2:6]))); r != "" {
				return r + " (via 6to4)"
			}
		}
	}
	return ""
}

var metadata = map[netip.Addr]bool{
	netip.MustParseAddr("169.254.169.254"): true, // AWS, GCP, Azure, OpenStack, ...
	netip.MustParseAddr("169.254.170.2"):   true, // AWS ECS task metadata
	netip.MustParseAddr("100.100.100.200"): true, // Alibaba Cloud
	netip.MustParseAddr("fd00:ec2::254"):   true, // AWS IPv6
}

var reserved = []struct {
	prefix netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "unspecified"},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared (carrier-grade NAT)"},
	{netip.MustParsePrefix("192.0.0.0/24"), "reserved"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"}, // includes 255.255.255.255
	{netip.MustParsePrefix("::/96"), "reserved"},       // IPv4-compatible, deprecated
	{netip.MustParsePrefix("64:ff9b:1::/48"), "local-use NAT64"},
	{netip.MustParsePrefix("100::/64"), "discard"},
	{netip.MustParsePrefix("2001:db8::/32"), "documentation"},
	{netip.MustParsePrefix("fec0::/10"), "site-local"},
}

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)
