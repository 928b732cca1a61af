package netguard

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestClassify(t *testing.T) {
	tests := []struct{ addr, want string }{
		{"8.8.8.8", ""},
		{"1.1.1.1", ""},
		{"2606:4700:4700::1111", ""},
		{"10.0.0.1", "private"},
		{"172.16.5.4", "private"},
		{"172.32.0.1", ""},
		{"192.168.1.1", "private"},
		{"fd00::1", "private"},
		{"fc00::1", "private"},
		{"127.0.0.1", "loopback"},
		{"127.8.9.10", "loopback"},
		{"::1", "loopback"},
		{"169.254.169.254", "cloud metadata"},
		{"fd00:ec2::254", "cloud metadata"},
		{"100.100.100.200", "cloud metadata"},
		{"169.254.1.1", "link-local"},
		{"fe80::1", "link-local"},
		{"fe80::1%eth0", "link-local"},
		{"0.0.0.0", "unspecified"},
		{"0.1.2.3", "unspecified"},
		{"::", "unspecified"},
		{"224.0.0.1", "multicast"},
		{"ff02::1", "multicast"},
		{"255.255.255.255", "reserved"},
		{"100.64.0.1", "shared (carrier-grade NAT)"},
		{"::ffff:10.0.0.1", "private"},
		{"::ffff:169.254.169.254", "cloud metadata"},
		{"64:ff9b::a00:1", "private (via NAT64)"},
		{"64:ff9b::808:808", ""},
		{"2002:a00:1::", "private (via 6to4)"},
		{"2002:808:808::", ""},
	}
	for _, tt := range tests {
		if got := Classify(netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("Classify(%s) = %q, want %q", tt.addr, got, tt.want)
		}
	}
}

func TestPolicyCheck(t *testing.T) {
	tests := []struct {
		name    string
		policy  Policy
		addr    string
		blocked bool
	}{
		{"public", Policy{}, "93.184.215.14", false},
		{"private", Policy{}, "10.1.2.3", true},
		{"loopback refused by default", Policy{}, "127.0.0.1", true},
		{"loopback allowed", Policy{AllowLoopback: true}, "127.0.0.1", false},
		{"allow loopback is not allow private", Policy{AllowLoopback: true}, "10.1.2.3", true},
		{"allowed net", Policy{AllowedNets: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}}, "10.1.2.3", false},
		{"outside allowed net", Policy{AllowedNets: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}}, "10.2.0.1", true},
		{"loopback only: loopback", Policy{LoopbackOnly: true}, "::1", false},
		{"loopback only: public", Policy{LoopbackOnly: true}, "93.184.215.14", true},
		{"loopback only ignores allowed nets", Policy{LoopbackOnly: true, AllowedNets: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}}, "10.0.0.1", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.policy.Check(netip.MustParseAddr(tt.addr))
			if blocked := errors.Is(err, ErrBlocked); blocked != tt.blocked {
				t.Errorf("Check(%s) = %v, blocked want %v", tt.addr, err, tt.blocked)
			}
		})
	}
}

// TestControlRefusesBeforeConnect dials through a dialer whose only guard is
// Control, so the refusal must come from the check on the resolved address,
// made before connect(2): no packet leaves for these addresses.
func TestControlRefusesBeforeConnect(t *testing.T) {
	p := &Policy{}
	for _, addr := range []string{"10.0.0.1:443", "169.254.169.254:80", "[fd00::1]:443", "[fd00:ec2::254]:80", "localhost:9"} {
		t.Run(addr, func(t *testing.T) {
			called := false
			d := &net.Dialer{Timeout: time.Second, Control: func(network, address string, c syscall.RawConn) error {
				called = true
				return p.Control(network, address, c)
			}}
			conn, err := d.DialContext(context.Background(), "tcp", addr)
			if conn != nil {
				conn.Close()
			}
			if !called && strings.HasPrefix(addr, "[") {
				t.Skipf("no IPv6 socket here: %v", err)
			}
			var be *BlockedError
			if !errors.As(err, &be) || !errors.Is(err, ErrBlocked) {
				t.Fatalf("err = %v, want a BlockedError", err)
			}
		})
	}
}

func TestDialContext(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	base := &net.Dialer{Timeout: time.Second}
	tests := []struct {
		name    string
		policy  Policy
		addr    string
		blocked bool
	}{
		{"loopback refused", Policy{}, "127.0.0.1:" + port, true},
		{"loopback name refused after resolution", Policy{}, "localhost:" + port, true},
		{"loopback allowed", Policy{AllowLoopback: true}, "127.0.0.1:" + port, false},
		{"allowed host skips the check", Policy{AllowedHosts: []string{"localhost"}}, "LOCALHOST:" + port, false},
		{"loopback only", Policy{LoopbackOnly: true}, "localhost:" + port, false},
		{"private literal refused up front", Policy{}, "10.0.0.1:443", true},
		{"metadata literal refused up front", Policy{}, "[fd00:ec2::254]:80", true},
		{"loopback only refuses private despite allowed host", Policy{LoopbackOnly: true, AllowedHosts: []string{"10.0.0.1"}}, "10.0.0.1:80", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := tt.policy.DialContext(base)(context.Background(), "tcp", tt.addr)
			if conn != nil {
				conn.Close()
			}
			if tt.blocked != errors.Is(err, ErrBlocked) {
				t.Fatalf("err = %v, blocked want %v", err, tt.blocked)
			}
			if !tt.blocked && err != nil {
				t.Fatal(err)
			}
		})
	}
}
