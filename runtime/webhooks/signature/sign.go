// Package signature signs and verifies webhook requests the Standard Webhooks
// way (https://www.standardwebhooks.com): an HMAC-SHA256 over
// "{webhook-id}.{webhook-timestamp}.{body}" keyed with the base64-decoded part of
// a "whsec_…" secret, sent base64-encoded as "v1,<signature>" in the
// webhook-signature header, one per active secret so secrets can be rotated
// without downtime. Any Standard Webhooks library verifies what Sign produces.
//
// The dispatcher signs with Sign (or SetHeaders); receivers check with Verify,
// or use the receiver package, which adds body limits and replay protection.
package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"time"
)

// Header names of the Standard Webhooks spec. HTTP header names are not case
// sensitive; these are the spellings the spec uses.
const (
	// HeaderID carries the message id; Parley sends the event_id, so it stays the
	// same on every retry and is the receivers' idempotency key.
	HeaderID = "webhook-id"
	// HeaderTimestamp carries the unix time, in seconds, of this delivery
	// attempt (fresh on every retry).
	HeaderTimestamp = "webhook-timestamp"
	// HeaderSignature carries space-separated "<version>,<base64 signature>"
	// entries, one per active secret.
	HeaderSignature = "webhook-signature"
)

// VersionV1 marks an HMAC-SHA256 signature. Other versions (v1a, asymmetric
// ed25519) may appear in the header; Verify ignores them.
const VersionV1 = "v1"

// encodedSigLen is the length of a base64-encoded HMAC-SHA256.
var encodedSigLen = base64.StdEncoding.EncodedLen(sha256.Size)

// Sign returns the webhook-signature header value for one delivery attempt:
// "v1,<base64>" per secret, separated by spaces, in the order of secrets. Only
// the whole seconds of ts are signed. Zero (unset) Secrets are skipped; with no
// usable secret the result is empty.
//
// The id must not be chosen by outside input (the spec asks that it contain no
// "."); Parley signs its own event ids.
func Sign(secrets []Secret, id string, ts time.Time, body []byte) string {
	var tsBuf [20]byte
	unix := strconv.AppendInt(tsBuf[:0], ts.Unix(), 10)
	out := make([]byte, 0, len(secrets)*(len(VersionV1)+2+encodedSigLen))
	var sum [sha256.Size]byte
	for _, s := range secrets {
		if !s.Valid() {
			continue
		}
		if len(out) > 0 {
			out = append(out, ' ')
		}
		out = append(out, VersionV1...)
		out = append(out, ',')
		out = base64.StdEncoding.AppendEncode(out, s.mac(sum[:0], id, unix, body))
	}
	return string(out)
}

// SetHeaders sets the three Standard Webhooks headers of one delivery attempt
// on h.
func SetHeaders(h http.Header, secrets []Secret, id string, ts time.Time, body []byte) {
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderSignature, Sign(secrets, id, ts, body))
}

// mac appends to dst the HMAC-SHA256 of "id.unix.body" under s.
func (s Secret) mac(dst []byte, id string, unix, body []byte) []byte {
	h := hmac.New(sha256.New, s.key)
	// One write for the short prefix keeps the per-signature allocations low.
	prefix := make([]byte, 0, len(id)+len(unix)+2)
	prefix = append(prefix, id...)
	prefix = append(prefix, '.')
	prefix = append(prefix, unix...)
	prefix = append(prefix, '.')
	h.Write(prefix)
	h.Write(body)
	return h.Sum(dst)
}
