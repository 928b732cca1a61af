package agents

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExpandEnv(t *testing.T) {
	env := envMap(map[string]string{"NAME": "parley", "EMPTY": "", "KEY": "sk-123"})
	tests := []struct {
		in, want string
		used     []string
		err      string
	}{
		{in: "plain", want: "plain"},
		{in: "${NAME}", want: "parley", used: []string{"parley"}},
		{in: "a-${NAME}-b", want: "a-parley-b", used: []string{"parley"}},
		{in: "${NAME}${KEY}", want: "parleysk-123", used: []string{"parley", "sk-123"}},
		{in: "${MISSING:-fallback}", want: "fallback"},
		{in: "${EMPTY:-fallback}", want: "fallback"},
		{in: "${NAME:-fallback}", want: "parley", used: []string{"parley"}},
		{in: "${MISSING:-}", want: ""},
		{in: "${EMPTY}", want: ""},
		{in: "${MISSING:-a:-b}", want: "a:-b"},
		{in: "costs $$5", want: "costs $5"},
		{in: "$${NAME}", want: "${NAME}"},
		{in: "$NAME", want: "$NAME"},
		{in: "ends with $", want: "ends with $"},
		{in: `^\d+$`, want: `^\d+$`},
		{in: "${MISSING}", err: "environment variable not set: MISSING (set it or MISSING_FILE, or give a default with ${MISSING:-default})"},
		{in: "${NAME", err: "unterminated ${"},
		{in: "${}", err: `invalid variable reference "${}"`},
		{in: "${1X}", err: "invalid variable reference"},
		{in: "${NAME-x}", err: "want ${NAME}, ${NAME:-default} or ${file:PATH}"},
		{in: "${file:}", err: "${file:} needs a path"},
	}
	for _, tt := range tests {
		got, used, err := expandEnv(tt.in, env, "")
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("expandEnv(%q) error = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want || strings.Join(used, ",") != strings.Join(tt.used, ",") {
			t.Errorf("expandEnv(%q) = %q, %q, %v; want %q, %q", tt.in, got, used, err, tt.want, tt.used)
		}
	}
}

func TestParseInterpolation(t *testing.T) {
	env := envMap(map[string]string{"RATE": "200", "VOICE": "en-gb", "NUM": "+15550199", "KEY": "sk-secret-1", "STR": "123"})
	c, err := Parse("test.yaml", []byte(minimalYAML+`tts:
  rate: ${RATE}
  voice: ${VOICE:-en-us}
  options:
    port: ${RATE}
    quoted: "${STR}"
    literal: $$HOME
llm:
  api_key: ${KEY}
name: ${MISSING:-Fallback Name}
`), env)
	if err != nil {
		t.Fatal(err)
	}
	if c.TTS.Rate != 200 || c.TTS.Voice != "en-gb" || c.LLM.APIKey != "sk-secret-1" || c.Name != "Fallback Name" {
		t.Errorf("got rate %d voice %q key %q name %q", c.TTS.Rate, c.TTS.Voice, c.LLM.APIKey, c.Name)
	}
	// An unquoted reference is typed by its value, a quoted one stays a string.
	if c.TTS.Options["port"] != 200 || c.TTS.Options["quoted"] != "123" || c.TTS.Options["literal"] != "$HOME" {
		t.Errorf("options = %#v", c.TTS.Options)
	}
}

func TestParseInterpolationErrors(t *testing.T) {
	_, err := Parse("test.yaml", []byte(minimalYAML+"llm:\n  api_key: ${OPENAI_API_KEY}\n"), noEnv)
	wantErr(t, err, "test.yaml:18:12: llm.api_key: environment variable not set: OPENAI_API_KEY")
	if !errors.Is(err, ErrEnvNotSet) {
		t.Error("error does not wrap ErrEnvNotSet")
	}
	_, err = Parse("test.yaml", []byte(minimalYAML+"name: ${A}\ndescription: ${B}\n"), noEnv)
	wantErr(t, err, "variable not set: A", "variable not set: B")
	// Keys are never interpolated.
	_, err = Parse("test.yaml", []byte(minimalYAML+"${X}: 1\n"), noEnv)
	wantErr(t, err, `unknown field "${X}"`)
}

// Values from the environment may be secrets: no error may repeat them.
func TestParseNeverEchoesEnvironmentValues(t *testing.T) {
	const secret = "Sk.Live+0123456789"
	env := envMap(map[string]string{"SECRET": secret})
	docs := []string{
		minimalYAML + "tts: {rate: ${SECRET}}\n",
		minimalYAML + "turn: {endpointing: ${SECRET}}\n",
		minimalYAML + "llm: {temperature: ${SECRET}}\n",
		minimalYAML + "llm: {base_url: ${SECRET}}\n",
		minimalYAML + "stt: {provider: ${SECRET}}\n",
		strings.Replace(minimalYAML, "id: test", "id: ${SECRET}", 1),
		strings.Replace(minimalYAML, "next: end", "next: ${SECRET}", 1),
		strings.Replace(minimalYAML, "action: end_call", "action: transfer\n      transfer_to: ${SECRET}", 1),
		strings.Replace(minimalYAML, "start: hello", "start: x${SECRET}x", 1),
	}
	for _, doc := range docs {
		_, err := Parse("test.yaml", []byte(doc), env)
		if err == nil {
			t.Errorf("no error for:\n%s", doc)
			continue
		}
		if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "Sk.Live") {
			t.Errorf("error repeats the secret:\n%v", err)
		}
	}
}

// writeSecret writes a secret file in a test directory and returns its path.
func writeSecret(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestExpandSecretFiles(t *testing.T) {
	dir := t.TempDir()
	key := writeSecret(t, dir, "key", "sk-from-file\n")
	crlf := writeSecret(t, dir, "crlf", "tok\r\n\r\n")
	empty := writeSecret(t, dir, "empty", "")
	big := writeSecret(t, dir, "big", strings.Repeat("x", MaxSecretFileSize+1))
	exact := writeSecret(t, dir, "exact", strings.Repeat("y", MaxSecretFileSize))
	env := envMap(map[string]string{
		"KEY_FILE": key, "BOTH": "env", "BOTH_FILE": key, "EMPTY": "", "EMPTY_FILE": key,
		"UNSET_FILE": "", "GONE_FILE": filepath.Join(dir, "nope"), "REL_FILE": "key",
	})
	tests := []struct {
		in, want string
		used     []string
		err      string
	}{
		{in: "${file:" + key + "}", want: "sk-from-file", used: []string{"sk-from-file"}},
		{in: "Bearer ${file:" + crlf + "}", want: "Bearer tok", used: []string{"tok"}},
		{in: "${file:key}", want: "sk-from-file", used: []string{"sk-from-file"}}, // relative to the config's directory
		{in: "${file:" + empty + "}", want: ""},
		{in: "${file:" + exact + "}", want: strings.Repeat("y", MaxSecretFileSize), used: []string{strings.Repeat("y", MaxSecretFileSize)}},
		// NAME_FILE stands in for an unset or empty NAME (Docker's convention).
		{in: "${KEY}", want: "sk-from-file", used: []string{"sk-from-file"}},
		{in: "${KEY:-default}", want: "sk-from-file", used: []string{"sk-from-file"}},
		{in: "${EMPTY}", want: "sk-from-file", used: []string{"sk-from-file"}},
		{in: "${REL}", want: "sk-from-file", used: []string{"sk-from-file"}},
		{in: "${UNSET:-d}", want: "d"}, // an empty NAME_FILE counts as unset
		{in: "${UNSET}", err: "environment variable not set: UNSET"},
		{in: "${BOTH}", err: "both BOTH and BOTH_FILE are set; set only one"},
		{in: "${GONE}", err: "GONE_FILE: reading secret file: open " + filepath.Join(dir, "nope")},
		{in: "${file:" + filepath.Join(dir, "nope") + "}", err: "reading secret file: open " + filepath.Join(dir, "nope") + ": no such file"},
		{in: "${file:" + big + "}", err: "reading secret file " + big + ": larger than 65536 bytes"},
		{in: "${file:" + dir + "}", err: "not a regular file"},
	}
	for _, tt := range tests {
		got, used, err := expandEnv(tt.in, env, dir)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("expandEnv(%q) error = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want || strings.Join(used, ",") != strings.Join(tt.used, ",") {
			t.Errorf("expandEnv(%q) = %q, %d used, %v; want %q, %d used", tt.in, clipRef(got), len(used), err, clipRef(tt.want), len(tt.used))
		}
	}
}

func TestParseSecretFromFile(t *testing.T) {
	dir := t.TempDir()
	writeSecret(t, dir, "openai_key", "sk-file-secret\n")
	path := filepath.Join(dir, "agent.yaml")
	c, err := Parse(path, []byte(minimalYAML+"llm:\n  api_key: ${file:openai_key}\n  model: ${MODEL_NAME}\n"),
		envMap(map[string]string{"MODEL_NAME_FILE": filepath.Join(dir, "openai_key")}))
	if err != nil {
		t.Fatal(err)
	}
	if c.LLM.APIKey != "sk-file-secret" || c.LLM.Model != "sk-file-secret" {
		t.Errorf("api_key %q, model %q; want the file's contents", c.LLM.APIKey, c.LLM.Model)
	}
}

// A secret read from a file is as secret as one from the environment: no
// validation error may repeat it, wherever it lands.
func TestParseNeverEchoesSecretFiles(t *testing.T) {
	const secret = "Sk.File+0123456789"
	dir := t.TempDir()
	file := writeSecret(t, dir, "secret", secret+"\n")
	env := envMap(map[string]string{"TOKEN_FILE": file})
	for _, ref := range []string{"${file:" + file + "}", "${TOKEN}"} {
		docs := []string{
			minimalYAML + "tts: {rate: " + ref + "}\n",
			minimalYAML + "llm: {base_url: " + ref + "}\n",
			minimalYAML + "stt: {provider: " + ref + "}\n",
			minimalYAML + "language: " + ref + "\n",
			strings.Replace(minimalYAML, "id: test", "id: "+ref, 1),
			strings.Replace(minimalYAML, "next: end", "next: "+ref, 1),
			strings.Replace(minimalYAML, "say: Hi", "say: \"{{"+ref+"\"", 1),
			minimalYAML + "llm: {provider: fake, system_prompt: \"{{ " + ref + " }}\"}\n",
			minimalYAML + "greeting: \"x {{" + ref + "\"\nllm: {provider: fake}\n",
		}
		for _, doc := range docs {
			_, err := Parse(filepath.Join(dir, "agent.yaml"), []byte(doc), env)
			if err == nil {
				t.Errorf("no error for:\n%s", doc)
				continue
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "Sk.File") {
				t.Errorf("error repeats the secret:\n%v", err)
			}
		}
	}
}
