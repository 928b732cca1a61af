package builtin

import (
	"encoding/json"
	"io"
	"net/url"
	"strings"
	"testing"

	"github.com/parley-voice/parley/plugins/internal/argcheck"
)

// FuzzURLPlaceholder checks that no argument value can change a URL's host,
// add path segments or query parameters, or add a fragment: what the server
// decodes is exactly the value.
func FuzzURLPlaceholder(f *testing.F) {
	for _, s := range []string{"", "abc", "a/b", "../admin", "..", ".", "x?y=1#f", "a b+c", "%2e%2e", "@evil.com", "\x00\xff", "ünï", "\\..\\"} {
		f.Add(s)
	}
	tmpl, err := parseTemplate("https://api.example.com/x/{{v}}/y?q={{v}}&z=1")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, value string) {
		filled, err := tmpl.fill(map[string]any{"v": value}, escapeURL)
		if value == "." || value == ".." {
			if err == nil {
				t.Fatalf("%q accepted", value)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(filled)
		if err != nil {
			t.Fatalf("%q gives invalid URL %q: %v", value, filled, err)
		}
		q := u.Query()
		if u.Host != "api.example.com" || u.Path != "/x/"+value+"/y" || u.Fragment != "" || u.User != nil ||
			len(q) != 2 || q.Get("q") != value || q.Get("z") != "1" {
			t.Fatalf("%q gives %q: host %q path %q query %v", value, filled, u.Host, u.Path, q)
		}
	})
}

// FuzzJSONBodyTemplate checks that a body template accepted by the option
// decoder gives valid JSON for any argument values.
func FuzzJSONBodyTemplate(f *testing.F) {
	seeds := [][2]string{
		{`{"name": "{{name}}"}`, `x"y`},
		{`{"n": {{n}}, "s": "a{{n}}b\"{{n}}"}`, `{"deep":[1,2,{"x":null}]}`},
		{`[{{a}}, "{{b}}", {"k\\": {{a}}}]`, `"str"`},
		{`{{v}}`, `12.5e3`},
		{`{"q": "\\"{{v}}"}`, `\`},
		{`{ {{k}}: 1}`, `1`},
		{`"{{a}}{{b}}"`, "\u2028"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, body, value string) {
		tmpl, err := parseTemplate(body)
		if err != nil {
			return
		}
		props := map[string]any{}
		for _, n := range tmpl.names() {
			props[n] = map[string]any{} // any JSON value
		}
		opts, _ := json.Marshal(map[string]any{
			"url": "https://api.example.com/", "method": "POST", "body_template": body,
			"parameters": map[string]any{"type": "object", "properties": props},
		})
		c, err := parseHTTPOptions(opts)
		if err != nil {
			return // not valid JSON once filled: refused up front
		}
		values := []any{value, nil}
		if v, err := argcheck.Decode([]byte(value)); err == nil {
			values = append(values, v)
		}
		for _, v := range values {
			args := map[string]any{}
			for _, n := range tmpl.names() {
				args[n] = v
			}
			filled, err := c.body.fill(args, escapeJSON)
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid([]byte(filled)) {
				t.Fatalf("template %q with %#v gives invalid JSON %q", body, v, filled)
			}
		}
	})
}

// FuzzHTTPOptions feeds arbitrary option documents to the factory: it must
// not panic, and what it accepts must be a usable tool.
func FuzzHTTPOptions(f *testing.F) {
	for _, s := range []string{
		``, `{}`, `null`, `[]`,
		`{"url":"https://api.example.com/orders/{{id}}?q={{q}}","headers":{"Authorization":"Bearer x"},"timeout":"2s"}`,
		`{"url":"http://localhost:8080/x","allow_insecure_loopback":true,"method":"post","body_template":"{\"a\": {{a}}}"}`,
		`{"url":"https://a.example.com/{{x}}","parameters":{"type":"object","properties":{"x":{"enum":["a","b"]}}},"allowed_hosts":["10.0.0.0/8","internal.example.com"]}`,
		`{"url":"https://a.example.com","timeout":1.5,"max_response_bytes":100,"method":"DELETE"}`,
		`{"url":"https://a.example.com","headers":{"Content-Type":"application/x-www-form-urlencoded"},"method":"PUT","body_template":"a={{a}}"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, opts []byte) {
		tool, err := NewHTTPRequest(opts)
		if err != nil {
			if !strings.Contains(err.Error(), "bad tool options") {
				t.Fatalf("error without ErrBadOptions: %v", err)
			}
			return
		}
		defer tool.(io.Closer).Close()
		var schema struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(tool.Spec().Parameters, &schema); err != nil || schema.Type != "object" {
			t.Fatalf("accepted options give parameters %s", tool.Spec().Parameters)
		}
	})
}
