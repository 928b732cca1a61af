package builtin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-voice/parley/plugins"
)

const secret = "s3cr3t-T0KEN-value"

// request is what the test server saw.
type request struct {
	Method, Path, RawPath, RawQuery, Body string
	Header                                http.Header
}

// newServer starts a real HTTP server on loopback. /echo records the request
// and answers JSON; other paths are set per test.
func newServer(t *testing.T, routes map[string]http.HandlerFunc) (*httptest.Server, chan request) {
	t.Helper()
	seen := make(chan request, 16)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		seen <- request{r.Method, r.URL.Path, r.URL.EscapedPath(), r.URL.RawQuery, string(body), r.Header.Clone()}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"ok": true, "items": [1, 2]}`)
	})
	for path, h := range routes {
		mux.HandleFunc(path, h)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, seen
}

func newHTTPTool(t *testing.T, opts string) plugins.Tool {
	t.Helper()
	tool, err := NewHTTPRequest(json.RawMessage(opts))
	if err != nil {
		t.Fatalf("NewHTTPRequest(%s): %v", opts, err)
	}
	t.Cleanup(func() { tool.(io.Closer).Close() })
	return tool
}

func call(t *testing.T, tool plugins.Tool, args string) (map[string]any, error) {
	t.Helper()
	res, err := plugins.Run(context.Background(), tool, json.RawMessage(args), 0, 1<<20)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := json.Unmarshal([]byte(res.Content), &out); err != nil {
		t.Fatalf("content %q is not JSON: %v", res.Content, err)
	}
	return out, nil
}

func TestHTTPGetEscapesPlaceholders(t *testing.T) {
	srv, seen := newServer(t, nil)
	tool := newHTTPTool(t, fmt.Sprintf(`{"url":"%s/orders/{{ id }}?q={{q}}&lang=en","allow_insecure_loopback":true,
		"headers":{"Authorization":"Bearer %s"}}`, srv.URL, secret))
	out, err := call(t, tool, `{"id":"a/b c?#","q":"x&y=z+1"}`)
	if err != nil {
		t.Fatal(err)
	}
	if out["status"] != float64(200) {
		t.Errorf("status = %v", out["status"])
	}
	if body, ok := out["body"].(map[string]any); !ok || body["ok"] != true {
		t.Errorf("body = %#v, want parsed JSON", out["body"])
	}
	r := <-seen
	if r.Method != "GET" || r.RawPath != "/orders/a%2Fb%20c%3F%23" || r.Path != "/orders/a/b c?#" {
		t.Errorf("path = %s (%s)", r.RawPath, r.Path)
	}
	if r.RawQuery != "q=x%26y%3Dz%2B1&lang=en" {
		t.Errorf("query = %s", r.RawQuery)
	}
	if r.Header.Get("Authorization") != "Bearer "+secret || r.Body != "" {
		t.Errorf("header %v, body %q", r.Header, r.Body)
	}
}

func TestHTTPDefaultParameters(t *testing.T) {
	tool := newHTTPTool(t, `{"url":"https://api.example.com/orders/{{id}}?verbose={{verbose}}&again={{id}}"}`)
	spec := tool.Spec()
	want := `{"additionalProperties":false,"properties":{"id":{"type":"string"},"verbose":{"type":"string"}},"required":["id","verbose"],"type":"object"}`
	if string(spec.Parameters) != want {
		t.Errorf("parameters = %s\nwant %s", spec.Parameters, want)
	}
	if spec.Name != HTTPRequestName || !strings.Contains(spec.Description, "GET request to https://api.example.com") {
		t.Errorf("spec = %+v", spec)
	}
}

func TestHTTPArguments(t *testing.T) {
	srv, _ := newServer(t, nil)
	tool := newHTTPTool(t, fmt.Sprintf(`{"url":"%s/orders/{{id}}","allow_insecure_loopback":true}`, srv.URL))
	custom := newHTTPTool(t, fmt.Sprintf(`{"url":"%s/orders/{{id}}","allow_insecure_loopback":true,
		"parameters":{"type":"object","properties":{"id":{"type":["string","object"]}}}}`, srv.URL))
	tests := []struct {
		tool       plugins.Tool
		args, want string
	}{
		{tool, `{}`, `argument "id": missing required field`},
		{tool, `{"id":"1","extra":2}`, `argument "extra": unknown field`},
		{tool, `{"id":7}`, `argument "id": must be a string, not an integer`},
		{tool, `{"id":".."}`, `argument "id": ".." is not allowed in the URL`},
		{tool, `{"id":`, `arguments are not valid JSON`},
		{custom, `{"id":{"a":1}}`, `argument "id": an object or list cannot go in the URL`},
	}
	for _, tt := range tests {
		_, err := call(t, tt.tool, tt.args)
		if !errors.Is(err, plugins.ErrBadArguments) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.args, err, tt.want)
		}
	}
}

func TestHTTPPostBodies(t *testing.T) {
	srv, seen := newServer(t, nil)
	tests := []struct {
		name, opts, args string
		body, ctype      string
	}{
		{
			name: "JSON template",
			opts: `"method":"post","body_template":"{\"name\": \"Dear {{name}}\", \"count\": {{count}}, \"tags\": {{tags}}}",
				"parameters":{"type":"object","properties":{"name":{"type":"string"},"count":{"type":"integer"},"tags":{"type":"array"}},"required":["name"]}`,
			args:  `{"name":"Bob \"The\" <Builder>\n","count":3,"tags":["a","b"]}`,
			body:  `{"name": "Dear Bob \"The\" <Builder>\n", "count": 3, "tags": ["a","b"]}`,
			ctype: "application/json",
		},
		{
			name:  "JSON template, missing optional value is null",
			opts:  `"method":"PUT","body_template":"{\"n\": {{n}}}","parameters":{"type":"object","properties":{"n":{"type":"integer"}}}`,
			args:  `{}`,
			body:  `{"n": null}`,
			ctype: "application/json",
		},
		{
			name:  "injection attempt stays inside the string",
			opts:  `"method":"POST","body_template":"{\"q\": \"{{q}}\", \"admin\": false}"`,
			args:  `{"q":"x\", \"admin\": true, \"y\": \""}`,
			body:  `{"q": "x\", \"admin\": true, \"y\": \"", "admin": false}`,
			ctype: "application/json",
		},
		{
			name:  "arguments as body",
			opts:  `"method":"PATCH"`,
			args:  `{"status":"done","n":2}`,
			body:  `{"n":2,"status":"done"}`,
			ctype: "application/json",
		},
		{
			name:  "form",
			opts:  `"method":"POST","headers":{"content-type":"application/x-www-form-urlencoded"},"body_template":"name={{name}}&city={{city}}"`,
			args:  `{"name":"A&B=C","city":"New York"}`,
			body:  `name=A%26B%3DC&city=New%20York`,
			ctype: "application/x-www-form-urlencoded",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tool := newHTTPTool(t, fmt.Sprintf(`{"url":"%s/items","allow_insecure_loopback":true,%s}`, srv.URL, tt.opts))
			if _, err := call(t, tool, tt.args); err != nil {
				t.Fatal(err)
			}
			r := <-seen
			if r.Body != tt.body {
				t.Errorf("body = %s\nwant   %s", r.Body, tt.body)
			}
			if r.Header.Get("Content-Type") != tt.ctype {
				t.Errorf("content type = %q", r.Header.Get("Content-Type"))
			}
			if strings.Contains(tt.ctype, "json") && !json.Valid([]byte(r.Body)) {
				t.Errorf("body is not JSON: %s", r.Body)
			}
		})
	}
}

func TestHTTPResponses(t *testing.T) {
	var followed atomic.Int32
	srv, _ := newServer(t, map[string]http.HandlerFunc{
		"/redirect": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/target", http.StatusFound)
		},
		"/target": func(w http.ResponseWriter, r *http.Request) {
			followed.Add(1)
		},
		"/missing": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"error":"no such order"}`)
		},
		"/big": func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, strings.Repeat("0123456789", 100))
		},
		"/text": func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, "plain words")
		},
		"/empty": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNoContent)
		},
		"/error": func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "boom", http.StatusInternalServerError)
		},
	})
	tests := []struct {
		path, extra string
		want        string
	}{
		{"/redirect", ``, `{"status":302,"location":"/target","body":"\u003ca href=\"/target\"\u003eFound\u003c/a\u003e.\n\n"}`},
		{"/missing", ``, `{"status":404,"body":{"error":"no such order"}}`},
		{"/big", `,"max_response_bytes":25`, `{"status":200,"body":"0123456789012345678901234","truncated":true}`},
		{"/text", ``, `{"status":200,"body":"plain words"}`},
		{"/empty", ``, `{"status":204,"body":""}`},
		{"/error", ``, `{"status":500,"body":"boom\n"}`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			tool := newHTTPTool(t, fmt.Sprintf(`{"url":"%s%s","allow_insecure_loopback":true%s}`, srv.URL, tt.path, tt.extra))
			res, err := plugins.Run(context.Background(), tool, nil, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			if !sameJSON(t, res.Content, tt.want) {
				t.Errorf("content = %s\nwant      %s", res.Content, tt.want)
			}
		})
	}
	if followed.Load() != 0 {
		t.Error("redirect was followed")
	}
}

func sameJSON(t *testing.T, got, want string) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("got invalid JSON %s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want invalid JSON %s: %v", want, err)
	}
	return fmt.Sprint(g) == fmt.Sprint(w)
}

func TestHTTPTimeout(t *testing.T) {
	srv, _ := newServer(t, map[string]http.HandlerFunc{
		"/slow": func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done() // until the client gives up
		},
	})
	tool := newHTTPTool(t, fmt.Sprintf(`{"url":"%s/slow","allow_insecure_loopback":true,"timeout":"100ms",
		"headers":{"X-Api-Key":"%s"}}`, srv.URL, secret))
	if got := tool.(plugins.Timeouter).Timeout(); got != 100*time.Millisecond {
		t.Errorf("Timeout = %v", got)
	}
	start := time.Now()
	_, err := tool.Call(context.Background(), nil)
	if !errors.Is(err, plugins.ErrToolTimeout) {
		t.Fatalf("err = %v, want ErrToolTimeout", err)
	}
	if time.Since(start) > 3*time.Second {
		t.Errorf("took %v", time.Since(start))
	}
	if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "/slow") {
		t.Errorf("error leaks the header or path: %v", err)
	}
	// Through Run, the same deadline applies.
	if _, err := plugins.Run(context.Background(), tool, nil, 0, 0); !errors.Is(err, plugins.ErrToolTimeout) {
		t.Errorf("Run: err = %v", err)
	}
}

func TestHTTPTransportErrorIsAnError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	tool := newHTTPTool(t, fmt.Sprintf(`{"url":"http://%s/x?key=%s","allow_insecure_loopback":true,
		"headers":{"Authorization":"Bearer %s"}}`, addr, secret, secret))
	_, err = plugins.Run(context.Background(), tool, nil, 0, 0)
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("err = %v, want connection refused", err)
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("error leaks a secret: %v", err)
	}
	if !strings.HasPrefix(err.Error(), `tool "http_request": GET http://`+addr+": ") {
		t.Errorf("error = %v", err)
	}
}

// countingServer is a TLS server on loopback that counts accepted connections.
func countingServer(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var accepted atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			accepted.Add(1)
		}
	}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, &accepted
}

func TestHTTPRefusesNonPublicAddresses(t *testing.T) {
	srv, accepted := countingServer(t)
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	tests := []struct {
		name, url, extra string
	}{
		// Literal private, metadata and ULA addresses: refused by the dialer
		// before any connect, so no packet is sent.
		{"private", "https://10.0.0.1/api", ``},
		{"cloud metadata over https", "https://169.254.169.254/latest/meta-data/", ``},
		{"ULA", "https://[fd00::1]/", ``},
		{"AWS IPv6 metadata", "https://[fd00:ec2::254]/", ``},
		{"mapped private", "https://[::ffff:192.168.0.1]/", ``},
		{"unspecified", "https://0.0.0.0/", ``},
		// Loopback by name and by address, checked after resolution.
		{"loopback name", fmt.Sprintf("https://localhost:%d/", port), ``},
		{"loopback address", fmt.Sprintf("https://127.0.0.1:%d/", port), ``},
		{"allowed host elsewhere", fmt.Sprintf("https://127.0.0.1:%d/", port), `,"allowed_hosts":["example.com","10.0.0.0/8"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tool := newHTTPTool(t, fmt.Sprintf(`{"url":%q,"headers":{"Authorization":"Bearer %s"}%s}`, tt.url, secret, tt.extra))
			_, err := plugins.Run(context.Background(), tool, nil, 2*time.Second, 0)
			if !errors.Is(err, ErrBlockedAddress) {
				t.Fatalf("err = %v, want ErrBlockedAddress", err)
			}
			if !strings.Contains(err.Error(), "refusing to connect") || strings.Contains(err.Error(), secret) {
				t.Errorf("error = %v", err)
			}
		})
	}
	if n := accepted.Load(); n != 0 {
		t.Errorf("loopback server accepted %d connections", n)
	}
}

func TestHTTPAllowedHosts(t *testing.T) {
	srv, accepted := countingServer(t)
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	for _, allow := range []string{`"allowed_hosts":["LocalHost"]`, `"allowed_hosts":["127.0.0.0/8"]`, `"allow_insecure_loopback":true`} {
		t.Run(allow, func(t *testing.T) {
			before := accepted.Load()
			tool := newHTTPTool(t, fmt.Sprintf(`{"url":"https://localhost:%d/",%s}`, port, allow))
			_, err := plugins.Run(context.Background(), tool, nil, 2*time.Second, 0)
			// The guard lets the connection through; the test server's
			// certificate is not trusted, which proves the TLS handshake ran.
			if errors.Is(err, ErrBlockedAddress) || err == nil || !strings.Contains(err.Error(), "certificate") {
				t.Fatalf("err = %v, want a certificate error", err)
			}
			if accepted.Load() == before {
				t.Error("no connection reached the server")
			}
		})
	}
}

func TestHTTPOptionErrors(t *testing.T) {
	tests := []struct{ opts, want string }{
		{``, `option "url": is required`},
		{`{}`, `option "url": is required`},
		{`[]`, `options: must be a JSON object`},
		{`{"url":"https://a.example.com"} {}`, `unexpected data after the options object`},
		{`{"url":"https://a.example.com","mehtod":"GET"}`, `unknown option "mehtod"`},
		{`{"url":"https://a.example.com","method":"TRACE"}`, `option "method": want one of GET, POST, PUT, PATCH, DELETE`},
		{`{"url":"https://a.example.com","timeout":"soon"}`, `timeout: "soon" is not a duration`},
		{`{"url":"https://a.example.com","timeout":"-1s"}`, `option "timeout": must not be negative`},
		{`{"url":"https://a.example.com","timeout":"1h"}`, `option "timeout": must be at most 10m0s`},
		{`{"url":"https://a.example.com","timeout":1e300}`, `timeout: must be at most 10m0s`},
		{`{"url":"https://a.example.com/a b%zz/{{x}}"}`, `option "url": is not a valid URL once placeholders are filled`},
		{`{"url":"https://a.example.com","max_response_bytes":-1}`, `option "max_response_bytes": must not be negative`},
		{`{"url":"https://a.example.com","max_response_bytes":999999999}`, `option "max_response_bytes": must be at most`},
		{`{"url":"https://a.example.com","max_response_bytes":"big"}`, `option "max_response_bytes": want an integer, not a JSON string`},
		{`{"url":"http://api.example.com/"}`, `option "url": must use https`},
		{`{"url":"http://10.0.0.1/","allow_insecure_loopback":true}`, `plain http is only allowed to a loopback host`},
		{`{"url":"ftp://example.com/"}`, `scheme must be https`},
		{`{"url":"example.com/x"}`, `must start with https://`},
		{`{"url":"https://{{host}}/x"}`, `placeholders may only appear in the path and query`},
		{`{"url":"https://api.{{env}}.example.com/x"}`, `placeholders may only appear in the path and query`},
		{`{"url":"https://example.com:{{port}}/"}`, `placeholders may only appear in the path and query`},
		{`{"url":"https://user:pw@example.com/"}`, `must not contain credentials`},
		{`{"url":"https://example.com/#frag"}`, `must not contain a fragment`},
		{`{"url":"https://example.com/{{id"}`, `option "url": unclosed "{{"`},
		{`{"url":"https://example.com/{{a-b}}"}`, `option "url": bad placeholder`},
		{`{"url":"https://example.com/","body_template":"{}"}`, `GET requests have no body`},
		{`{"url":"https://example.com/","method":"POST","body_template":"{\"a\": {{a}}"}`, `is not valid JSON`},
		{`{"url":"https://example.com/","method":"POST","body_template":"{ {{k}}: 1}"}`, `is not valid JSON`},
		{`{"url":"https://example.com/","method":"POST","headers":{"Content-Type":"text/plain"}}`, `body_template": is required when Content-Type is not JSON`},
		{`{"url":"https://example.com/","headers":{"Bad Name":"x"}}`, `"Bad Name" is not a valid header name`},
		{`{"url":"https://example.com/","headers":{"host":"x"}}`, `Host is set by the client`},
		{`{"url":"https://example.com/","headers":{"Authorization":"Bearer ` + secret + `\r\nX-Evil: 1"}}`, `the value of Authorization contains a line break`},
		{`{"url":"https://example.com/","headers":{"Authorization":5}}`, `option "headers": want a string, not a JSON number`},
		{`{"url":"https://example.com/{{id}}","parameters":{"type":"object","properties":{"other":{"type":"string"}}}}`, `placeholder {{id}} is not one of its properties`},
		{`{"url":"https://example.com/","parameters":{"type":"string"}}`, `must be a schema with "type": "object"`},
		{`{"url":"https://example.com/","parameters":{"type":"object","properties":{"a":{"type":5}}}}`, `option "parameters": not a JSON Schema`},
		{`{"url":"https://example.com/","allowed_hosts":["https://x.example.com"]}`, `option "allowed_hosts[0]": want a host name`},
	}
	for _, tt := range tests {
		_, err := NewHTTPRequest(json.RawMessage(tt.opts))
		if !errors.Is(err, plugins.ErrBadOptions) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s:\n  err = %v\n  want %q", tt.opts, err, tt.want)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: error leaks a header value: %v", tt.opts, err)
		}
	}
}

func TestHTTPToolDoesNotPrintSecrets(t *testing.T) {
	tool := newHTTPTool(t, `{"url":"https://api.example.com/v1?key=abc","headers":{"Authorization":"Bearer `+secret+`"}}`)
	for _, s := range []string{fmt.Sprint(tool), fmt.Sprintf("%+v", tool), fmt.Sprintf("%#v", tool)} {
		if strings.Contains(s, secret) || strings.Contains(s, "key=abc") {
			t.Errorf("formatted tool leaks a secret: %s", s)
		}
	}
}

func TestHTTPThroughEnvironment(t *testing.T) {
	srv, seen := newServer(t, nil)
	ts, err := plugins.Default().Build([]plugins.Ref{
		{Name: EndCallName},
		{Name: HTTPRequestName, As: "lookup_order", Description: "Looks up an order by number.",
			Options: json.RawMessage(fmt.Sprintf(`{"url":"%s/orders/{{number}}","allow_insecure_loopback":true,"timeout":2}`, srv.URL))},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	tool, ok := ts.Lookup("lookup_order")
	if !ok {
		t.Fatal("lookup_order missing")
	}
	if ts.Timeout("lookup_order") != 2*time.Second {
		t.Errorf("timeout = %v", ts.Timeout("lookup_order"))
	}
	res, err := plugins.Run(context.Background(), tool, json.RawMessage(`{"number":"A-17"}`), ts.Timeout("lookup_order"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if r := <-seen; r.Path != "/orders/A-17" || !strings.Contains(res.Content, `"status":200`) {
		t.Errorf("path %s, content %s", r.Path, res.Content)
	}
	_, err = plugins.Run(context.Background(), tool, json.RawMessage(`{}`), 0, 0)
	if err == nil || !strings.HasPrefix(err.Error(), `tool "lookup_order": bad tool arguments: argument "number": missing required field`) {
		t.Errorf("err = %v", err)
	}
	_, err = plugins.Default().Build([]plugins.Ref{{Name: HTTPRequestName, As: "x", Options: json.RawMessage(`{"url":"http://example.com"}`)}})
	if !errors.Is(err, plugins.ErrBadOptions) || !strings.HasPrefix(err.Error(), `tool ref 0 ("http_request"): `) {
		t.Errorf("err = %v", err)
	}
}
