package server_test

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/parley-voice/parley/runtime/server"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestShippedServerConfigLoads(t *testing.T) {
	_, here, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(here), "..", "..", "configs", "server", "parley.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := server.ParseFile(path, data, env(map[string]string{
		"PARLEY_ADMIN_TOKEN": "t0ken", "PARLEY_WEBHOOK_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if f.Admin.Token != "t0ken" || len(f.Webhooks.Endpoints) != 1 || f.Webhooks.Endpoints[0].Secrets[0] != "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" {
		t.Fatalf("parsed %+v", f)
	}
	d := f.Dispatch()
	if d.DataDir != "parley-data" || len(d.Endpoints) != 1 || d.NoDeliver {
		t.Fatalf("dispatch config %+v", d)
	}
}

func TestServerConfigErrors(t *testing.T) {
	cases := []struct{ name, yaml, want string }{
		{"unknown key", "data_dir: x\nqueue:\n  urll: nats://x\n", "urll"},
		{"unset variable", "admin:\n  token: ${NOPE}\n", "NOPE is not set"},
		{"bad endpoint", "webhooks:\n  endpoints:\n    - id: crm\n      url: http://crm.example.com/hook\n      secrets: [whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw]\n", "https"},
		{"no secret", "webhooks:\n  endpoints:\n    - id: crm\n      url: https://crm.example.com/hook\n", "secrets"},
		{"replicas", "queue:\n  replicas: 9\n", "replicas"},
		{"credentials without url", "queue:\n  credentials: /x.creds\n", "queue.url"},
		{"not yaml", "webhooks: [\n", "invalid YAML"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := server.ParseFile("parley.yaml", []byte(c.yaml), env(nil))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one mentioning %q", err, c.want)
			}
			if strings.Contains(err.Error(), "MfKQ9r8") {
				t.Fatalf("error quotes a secret: %v", err)
			}
		})
	}
	f, err := server.ParseFile("empty.yaml", nil, nil)
	if err != nil || f.DataDir != "parley-data" {
		t.Fatalf("empty file: %+v, %v", f, err)
	}
}
