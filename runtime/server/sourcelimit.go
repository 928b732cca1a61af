package server

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// SourceLimiter limits how often one source address may open media
// connections (a flood from one host must not starve everyone else's calls).
// It is a token bucket per IP address (IPv6 per /64), with idle buckets
// forgotten. Safe for concurrent use.
type SourceLimiter struct {
	rate  float64 // tokens per second
	burst float64
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

// NewSourceLimiter allows each source perSecond new connections on average
// and burst at once.
func NewSourceLimiter(perSecond float64, burst int) *SourceLimiter {
	return &SourceLimiter{rate: perSecond, burst: float64(max(burst, 1)), now: time.Now, buckets: map[string]*bucket{}}
}

// Allow takes a token for the source; when none is left it returns how long
// until one is.
func (l *SourceLimiter) Allow(source string) (ok bool, retryAfter time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		l.sweep(now)
	}
	b := l.buckets[source]
	if b == nil {
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[source] = b
	}
	b.tokens = math.Min(l.burst, b.tokens+now.Sub(b.at).Seconds()*l.rate)
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

// sweep forgets buckets that are full again.
func (l *SourceLimiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.at).Seconds()*l.rate >= l.burst {
			delete(l.buckets, k)
		}
	}
	l.swept = now
}

// sourceOf is the limiter key of a request: its peer IP, IPv6 per /64. The
// peer address is used, not X-Forwarded-For, which a flood would forge.
func sourceOf(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return host
	}
	if ip.To4() == nil {
		return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
	}
	return ip.String()
}

// Middleware answers 429 with Retry-After to a source over its rate.
// Loopback peers are not limited: they are a reverse proxy (which has every
// caller's address and limits them itself) or local tools and tests.
func (l *SourceLimiter) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isLoopback(r) {
			next.ServeHTTP(w, r)
			return
		}
		if ok, wait := l.Allow(sourceOf(r)); !ok {
			secs := int(math.Ceil(wait.Seconds()))
			w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
			writeJSON(w, http.StatusTooManyRequests, map[string]any{
				"error": fmt.Sprintf("too many new connections from %s; retry in %ds", sourceOf(r), max(secs, 1)),
				"code":  "rate_limited"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func isLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
