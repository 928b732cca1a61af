package builtin

import "github.com/parley-voice/parley/runtime/netguard"

// ErrBlockedAddress is wrapped by http_request errors when the address a host
// resolves to is refused: private, loopback, link-local, cloud metadata,
// multicast or otherwise not public, and not allowed by the tool's options.
var ErrBlockedAddress = netguard.ErrBlocked
