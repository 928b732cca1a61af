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

// Secrets may come from files (Docker and Kubernetes secrets); errors name the
// variable or path, never a value.
func TestServerConfigSecretFiles(t *testing.T) {
	dir := t.TempDir()
	token := filepath.Join(dir, "admin_token")
	if err := os.WriteFile(token, []byte("t0ken-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "replicas"), []byte("Sk.Secret9\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "parley.yaml")
	f, err := server.ParseFile(path, []byte("admin:\n  token: ${file:admin_token}\ndata_dir: ${DATA}\n"),
		env(map[string]string{"DATA_FILE": token}))
	if err != nil {
		t.Fatal(err)
	}
	if f.Admin.Token != "t0ken-from-file" || f.DataDir != "t0ken-from-file" {
		t.Errorf("token %q, data_dir %q", f.Admin.Token, f.DataDir)
	}
	for _, c := range []struct{ yaml, want string }{
		{"admin:\n  token: ${file:missing}\n", "line 2: reading secret file: open " + filepath.Join(dir, "missing")},
		{"admin:\n  token: ${TOKEN}\n", "TOKEN_FILE: reading secret file"},
		{"queue:\n  replicas: ${file:replicas}\n", "line 2: cannot unmarshal !!str value into int"},
	} {
		_, err := server.ParseFile(path, []byte(c.yaml), env(map[string]string{"TOKEN_FILE": filepath.Join(dir, "nope")}))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want one mentioning %q", err, c.want)
			continue
		}
		if strings.Contains(err.Error(), "Sk.Secret9") {
			t.Errorf("error quotes a secret: %v", err)
		}
	}
}
