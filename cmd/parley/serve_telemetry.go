package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/parley-voice/parley/agents"
	callrt "github.com/parley-voice/parley/runtime/call"
	"github.com/parley-voice/parley/runtime/server"
	"github.com/parley-voice/parley/runtime/telemetry"
)

// redactingLogger wraps log so that no secret reaches the output: values
// added to the returned Redactor (as the configs are loaded) and attributes
// whose key names a secret are replaced (docs/OPERATIONS.md, "Logs").
func redactingLogger(log *slog.Logger) (*slog.Logger, *telemetry.Redactor) {
	red := telemetry.NewRedactor()
	red.Add(telemetry.SecretEnvValues(os.Environ())...)
	return slog.New(telemetry.NewRedactingHandler(log.Handler(), red)), red
}

// serveSecrets collects the secret values of a node's configuration: what
// the agent configs took from the environment or secret files, the server
// file's admin token, webhook signing secrets, header values and queue URL
// passwords, and the tokens given as flags.
func serveSecrets(cfgs []*agents.Config, file *server.File, tokens ...string) []string {
	out := append([]string(nil), tokens...)
	for _, c := range cfgs {
		out = append(out, c.Secrets()...)
	}
	if file == nil {
		return out
	}
	out = append(out, file.Admin.Token)
	for _, ep := range file.Webhooks.Endpoints {
		for _, s := range ep.Secrets {
			// The whole "whsec_…" string and its key part, which is what a
			// decoding error would quote.
			out = append(out, s, strings.TrimPrefix(s, "whsec_"))
		}
		for _, v := range ep.Headers {
			out = append(out, v)
		}
	}
	for _, u := range strings.Split(file.Queue.URL, ",") {
		if pu, err := url.Parse(strings.TrimSpace(u)); err == nil && pu.User != nil {
			pw, _ := pu.User.Password()
			out = append(out, pw)
		}
	}
	return out
}

// setupTracing turns tracing on when --otlp-endpoint or the OpenTelemetry
// environment names a collector; the returned func flushes the spans left
// (call it after the server drained and the webhook dispatcher closed).
func setupTracing(ctx context.Context, endpoint, sample string, log *slog.Logger) (*telemetry.Tracing, func(), error) {
	ratio := -1.0 // OTEL_TRACES_SAMPLER_ARG, else 1
	if sample != "" {
		var err error
		if ratio, err = strconv.ParseFloat(sample, 64); err != nil {
			return nil, nil, fmt.Errorf("--trace-sample %q: want a ratio from 0 to 1, e.g. 0.1", sample)
		}
	}
	tr, err := telemetry.NewTracing(ctx, telemetry.TraceConfig{Endpoint: endpoint, SampleRatio: ratio, ServiceVersion: buildVersion()})
	if err != nil {
		return nil, nil, err
	}
	if tr == nil {
		log.Debug("tracing off: no OTLP endpoint (--otlp-endpoint or OTEL_EXPORTER_OTLP_ENDPOINT)")
		return nil, func() {}, nil
	}
	log.Info("tracing on", "otlp_endpoint", tr.Endpoint(), "sample_ratio", tr.SampleRatio())
	return tr, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := tr.Shutdown(ctx); err != nil {
			log.Warn("tracing: spans not flushed at shutdown", "err", err)
		}
	}, nil
}

// buildVersion is the module version parley was built at, "" for a
// development build.
func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return ""
}

// callOptions are the options of every call the server starts: traced when
// tracing is on.
func callOptions(tr *telemetry.Tracing) callrt.Options {
	return callrt.Options{Tracer: tr.Tracer()}
}
