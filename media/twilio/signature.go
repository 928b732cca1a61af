package twilio

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// SignatureHeader carries Twilio's request signature.
const SignatureHeader = "X-Twilio-Signature"

// Errors returned by the Validator.
var (
	// ErrNoSignature is returned for a request without X-Twilio-Signature.
	ErrNoSignature = errors.New("missing " + SignatureHeader + " header")
	// ErrBadSignature is returned when the signature does not match the request.
	ErrBadSignature = errors.New("invalid " + SignatureHeader + " (check the auth token and the public URL)")
)

// Signature computes Twilio's request signature: base64(HMAC-SHA1(authToken,
// fullURL + each form parameter's name and value, sorted by name)). Repeated
// names keep their values in order.
func Signature(authToken, fullURL string, params url.Values) string {
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(fullURL))
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range params[k] {
			mac.Write([]byte(k))
			mac.Write([]byte(v))
		}
	}
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Validator checks X-Twilio-Signature on the voice webhook and on the media
// WebSocket upgrade.
type Validator struct {
	// AuthToken is the account's primary auth token.
	AuthToken string
	// PublicURL is the base URL Twilio is configured with (e.g.
	// "https://parley.example.com"); requests are signed over it, not over
	// what a proxy in front of Parley forwards. Empty: the request's Host,
	// with https unless the request came over plain HTTP without
	// X-Forwarded-Proto: https.
	PublicURL string
}

// ValidateWebhook checks the signature of a form POST. r.ParseForm must have
// been called (ValidateWebhook calls it if not).
func (v *Validator) ValidateWebhook(r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return fmt.Errorf("reading the webhook form: %w", err)
	}
	return v.check(r, v.baseURL(r, "https", "http"), r.PostForm)
}

// ValidateUpgrade checks the signature of a media WebSocket upgrade request,
// which Twilio signs over the wss:// URL with no parameters.
func (v *Validator) ValidateUpgrade(r *http.Request) error {
	return v.check(r, v.baseURL(r, "wss", "ws"), nil)
}

func (v *Validator) check(r *http.Request, base *url.URL, params url.Values) error {
	got := r.Header.Get(SignatureHeader)
	if got == "" {
		return ErrNoSignature
	}
	for _, u := range candidates(base, r.URL.RequestURI()) {
		want := Signature(v.AuthToken, u, params)
		if hmac.Equal([]byte(got), []byte(want)) {
			return nil
		}
	}
	return ErrBadSignature
}

// baseURL returns scheme://host of the URL Twilio requested, with the secure
// scheme sec or the plain one plain.
func (v *Validator) baseURL(r *http.Request, sec, plain string) *url.URL {
	if v.PublicURL != "" {
		if u, err := url.Parse(v.PublicURL); err == nil && u.Host != "" {
			scheme := sec
			if u.Scheme == "http" {
				scheme = plain
			}
			return &url.URL{Scheme: scheme, Host: u.Host, Path: strings.TrimSuffix(u.Path, "/")}
		}
	}
	scheme := sec
	if r.TLS == nil && !strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = plain
	}
	return &url.URL{Scheme: scheme, Host: r.Host}
}

// candidates returns the URL as requested, with and without the scheme's
// explicit default port: Twilio signs either form.
func candidates(base *url.URL, requestURI string) []string {
	host, port := base.Hostname(), base.Port()
	def := "443"
	if base.Scheme == "http" || base.Scheme == "ws" {
		def = "80"
	}
	prefix := base.Scheme + "://"
	out := []string{prefix + base.Host + base.Path + requestURI}
	switch port {
	case "":
		out = append(out, prefix+joinHostPort(host, def)+base.Path+requestURI)
	case def:
		out = append(out, prefix+bracket(host)+base.Path+requestURI)
	}
	return out
}

func joinHostPort(host, port string) string { return bracket(host) + ":" + port }

func bracket(host string) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]"
	}
	return host
}
