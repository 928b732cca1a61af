package telemetry

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Redacted replaces a secret in log output.
const Redacted = "[redacted]"

// MinSecretLen is the shortest value Redactor.Add accepts: shorter values
// (ports, "true", a language code taken from the environment) would blank out
// ordinary words in every log line, and are not credentials anyway.
const MinSecretLen = 6

// Redactor knows the secret values of a node (API keys, tokens, webhook
// secrets: what the configs took from the environment or secret files) and
// removes them from text. It is safe for concurrent use; values added later
// apply to every log line written after.
type Redactor struct {
	mu     sync.Mutex
	values []string
	repl   atomic.Pointer[strings.Replacer]
}

// NewRedactor returns a redactor that knows no values yet.
func NewRedactor() *Redactor { return &Redactor{} }

// Add records secret values; empty and short ones (MinSecretLen) and
// duplicates are ignored.
func (r *Redactor) Add(values ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(r.values)
	for _, v := range values {
		if len(v) >= MinSecretLen && !slices.Contains(r.values, v) {
			r.values = append(r.values, v)
		}
	}
	if len(r.values) == n {
		return
	}
	// Longest first, so a secret that contains another is replaced whole.
	slices.SortFunc(r.values, func(a, b string) int { return len(b) - len(a) })
	pairs := make([]string, 0, 2*len(r.values))
	for _, v := range r.values {
		pairs = append(pairs, v, Redacted)
	}
	r.repl.Store(strings.NewReplacer(pairs...))
}

// Redact returns s with every known secret replaced by Redacted.
func (r *Redactor) Redact(s string) string {
	if r == nil {
		return s
	}
	repl := r.repl.Load()
	if repl == nil || s == "" {
		return s
	}
	return repl.Replace(s)
}

// SecretKey reports whether a log attribute key names a secret by itself
// (api_key, secret, auth_token, Authorization, password, …): such
// attributes are logged as Redacted whatever their value.
func SecretKey(key string) bool {
	k := strings.Map(func(c rune) rune {
		switch {
		case c >= 'A' && c <= 'Z':
			return c + 'a' - 'A'
		case c == '_' || c == '-' || c == '.' || c == ' ':
			return -1
		}
		return c
	}, key)
	for _, s := range secretKeySuffixes {
		if strings.HasSuffix(k, s) {
			return true
		}
	}
	return false
}

// secretKeySuffixes are the ends of normalised attribute keys that name a
// secret. "token" does not match "tokens" (usage counts).
var secretKeySuffixes = []string{
	"apikey", "secret", "secrets", "token", "password", "passwd", "authorization",
	"credential", "credentials", "privatekey", "accesskey", "cookie", "bearer",
}

// RedactingHandler wraps a slog.Handler so that no known secret reaches the
// output: the message, every string attribute, errors and other values (as
// they print) are searched for the Redactor's values, and attributes whose
// key names a secret (SecretKey) are replaced whole. Attributes given to
// WithAttrs are redacted once, with the values known at that time.
type RedactingHandler struct {
	next slog.Handler
	r    *Redactor
}

// NewRedactingHandler returns next wrapped with r.
func NewRedactingHandler(next slog.Handler, r *Redactor) *RedactingHandler {
	return &RedactingHandler{next: next, r: r}
}

// Enabled reports whether the wrapped handler takes records at level.
func (h *RedactingHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

// Handle writes a redacted copy of rec.
func (h *RedactingHandler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, h.r.Redact(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

// WithAttrs returns a handler whose records carry attrs, redacted.
func (h *RedactingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		red[i] = h.attr(a)
	}
	return &RedactingHandler{next: h.next.WithAttrs(red), r: h.r}
}

// WithGroup returns a handler that puts the attributes that follow in a group.
func (h *RedactingHandler) WithGroup(name string) slog.Handler {
	return &RedactingHandler{next: h.next.WithGroup(name), r: h.r}
}

func (h *RedactingHandler) attr(a slog.Attr) slog.Attr {
	if SecretKey(a.Key) {
		return slog.String(a.Key, Redacted)
	}
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.r.Redact(v.String()))
	case slog.KindGroup:
		g := v.Group()
		red := make([]slog.Attr, len(g))
		for i, x := range g {
			red[i] = h.attr(x)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(red...)}
	case slog.KindAny:
		switch x := v.Any().(type) {
		case nil:
		case error:
			return slog.String(a.Key, h.r.Redact(x.Error()))
		case fmt.Stringer:
			return slog.String(a.Key, h.r.Redact(x.String()))
		default:
			// Structures print as the handler formats them; only when that
			// shows a secret is the value replaced by its redacted text.
			s := fmt.Sprintf("%+v", x)
			if red := h.r.Redact(s); red != s {
				return slog.String(a.Key, red)
			}
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

var _ slog.Handler = (*RedactingHandler)(nil)

// SecretEnvValues returns the values of the environment variables (as
// os.Environ gives them, "NAME=value") whose name names a secret
// (SecretKey: OPENAI_API_KEY, PARLEY_ADMIN_TOKEN, WEBHOOK_SECRET, …). They
// are redacted from the start, before any config that uses them is loaded,
// and whichever way they are loaded later (an agent added through the admin
// API reads the same environment).
func SecretEnvValues(environ []string) []string {
	var out []string
	for _, kv := range environ {
		name, v, ok := strings.Cut(kv, "=")
		if ok && v != "" && SecretKey(name) {
			out = append(out, v)
		}
	}
	return out
}
