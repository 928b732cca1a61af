package agents

import (
	"errors"
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
		{in: "${MISSING}", err: "environment variable not set: MISSING (set it, or give a default with ${MISSING:-default})"},
		{in: "${NAME", err: "unterminated ${"},
		{in: "${}", err: `invalid variable reference "${}"`},
		{in: "${1X}", err: "invalid variable reference"},
		{in: "${NAME-x}", err: "want ${NAME} or ${NAME:-default}"},
	}
	for _, tt := range tests {
		got, used, err := expandEnv(tt.in, env)
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
