package server_test

import (
	"strings"
	"testing"

	"github.com/parley-voice/parley/plugins"
	"github.com/parley-voice/parley/runtime/server"
)

// Agents naming the hosted providers are provisioned from their options, and
// mistakes in those options are refused with the option named.
func TestHostedProvidersProvision(t *testing.T) {
	ok := `id: hosted
greeting: Hi.
stt:
  provider: deepgram
  options: {api_key: dg-key, model: nova-3}
tts:
  provider: openai
  options: {api_key: sk-key, model: tts-1}
llm: {provider: fake}
`
	if _, err := server.Provision(parseAgent(t, ok), plugins.Default(), &server.Providers{}); err != nil {
		t.Fatalf("provisioning deepgram + openai speech: %v", err)
	}
	whisper := strings.Replace(ok, "provider: deepgram\n  options: {api_key: dg-key, model: nova-3}", "provider: openai\n  options: {base_url: http://127.0.0.1:9/v1, model: whisper-1}", 1)
	if _, err := server.Provision(parseAgent(t, whisper), plugins.Default(), &server.Providers{}); err != nil {
		t.Fatalf("provisioning openai transcription: %v", err)
	}
	eleven := strings.Replace(ok, "provider: openai\n  options: {api_key: sk-key, model: tts-1}", "provider: elevenlabs\n  options: {api_key: el-key}", 1)
	if _, err := server.Provision(parseAgent(t, eleven), plugins.Default(), &server.Providers{}); err != nil {
		t.Fatalf("provisioning elevenlabs: %v", err)
	}
	cart := strings.Replace(ok, "provider: openai\n  options: {api_key: sk-key, model: tts-1}", "provider: cartesia\n  options: {api_key: ca-key}", 1)
	if _, err := server.Provision(parseAgent(t, cart), plugins.Default(), &server.Providers{}); err == nil || !strings.Contains(err.Error(), "voice id") {
		t.Fatalf("cartesia without a voice: %v", err)
	}
	for _, c := range []struct{ from, to, want string }{
		{"model: nova-3}", "model: nova-3, modle: x}", "stt.options.modle"},
		{"api_key: dg-key, ", "", "API key"},
		{"model: tts-1}", "model: 5}", "tts.options.model"},
	} {
		bad := strings.Replace(ok, c.from, c.to, 1)
		_, err := server.Provision(parseAgent(t, bad), plugins.Default(), &server.Providers{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q → %q: error %v, want one mentioning %q", c.from, c.to, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "sk-key") {
			t.Errorf("an error quotes the API key: %v", err)
		}
	}
}
