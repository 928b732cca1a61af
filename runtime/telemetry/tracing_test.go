package telemetry_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/parley-voice/parley/runtime/telemetry"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestTracingIsOffByDefault(t *testing.T) {
	for name, e := range map[string]map[string]string{
		"nothing set":       {},
		"SDK disabled":      {telemetry.EnvEndpoint: "http://localhost:4318", telemetry.EnvSDKDisabled: "true"},
		"exporter none":     {telemetry.EnvEndpoint: "http://localhost:4318", telemetry.EnvTracesExporter: "none"},
		"only sampler set":  {telemetry.EnvSamplerArg: "0.5"},
		"only service name": {"OTEL_SERVICE_NAME": "x"},
	} {
		tr, err := telemetry.NewTracing(context.Background(), telemetry.TraceConfig{SampleRatio: -1, Getenv: env(e)})
		if err != nil || tr != nil {
			t.Errorf("%s: got %v, %v; want tracing off", name, tr, err)
		}
		if tr.Tracer() != nil || tr.Shutdown(context.Background()) != nil {
			t.Errorf("%s: a nil Tracing must give no tracer and shut down cleanly", name)
		}
	}
}

func TestTracingConfigErrors(t *testing.T) {
	for name, c := range map[string]telemetry.TraceConfig{
		"ratio too big":        {SampleRatio: 1.5, Endpoint: "http://localhost:4318"},
		"bad env ratio":        {SampleRatio: -1, Endpoint: "http://localhost:4318", Getenv: env(map[string]string{telemetry.EnvSamplerArg: "half"})},
		"not a URL":            {SampleRatio: 1, Endpoint: "localhost:4318"},
		"wrong scheme":         {SampleRatio: 1, Endpoint: "grpc://localhost:4317"},
		"env ratio < 0":        {SampleRatio: -1, Endpoint: "http://localhost:4318", Getenv: env(map[string]string{telemetry.EnvSamplerArg: "-2"})},
		"ratio 2, no endpoint": {SampleRatio: 2, Getenv: env(nil)},
	} {
		if _, err := telemetry.NewTracing(context.Background(), c); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestSpansReachTheCollector: with --otlp-endpoint set to a base URL, spans
// are posted as OTLP/HTTP to <base>/v1/traces, at the latest by Shutdown.
func TestSpansReachTheCollector(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	var body []byte
	col := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		paths = append(paths, r.URL.Path+" "+r.Header.Get("Content-Type"))
		body = append(body, b...)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	}))
	defer col.Close()
	tr, err := telemetry.NewTracing(context.Background(), telemetry.TraceConfig{Endpoint: col.URL, SampleRatio: -1, Getenv: env(nil)})
	if err != nil || tr == nil {
		t.Fatalf("NewTracing: %v, %v", tr, err)
	}
	if tr.SampleRatio() != 1 || !strings.HasPrefix(tr.Endpoint(), "http://127.0.0.1") {
		t.Errorf("ratio %v endpoint %q", tr.SampleRatio(), tr.Endpoint())
	}
	_, span := tr.Tracer().Start(context.Background(), "call")
	span.End()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tr.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(paths) == 0 || paths[0] != "/v1/traces application/x-protobuf" {
		t.Fatalf("collector saw %v", paths)
	}
	for _, want := range []string{"call", "parley", telemetry.InstrumentationName} {
		if !strings.Contains(string(body), want) {
			t.Errorf("export does not mention %q", want)
		}
	}
}

// TestSamplingFollowsTheParent: a ratio of 0 records no new trace, but a
// span whose parent was sampled elsewhere is recorded.
func TestSamplingFollowsTheParent(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tr, err := telemetry.NewTracing(context.Background(), telemetry.TraceConfig{Exporter: exp, SampleRatio: 0, Getenv: env(nil)})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Shutdown(context.Background())
	_, root := tr.Tracer().Start(context.Background(), "unsampled")
	root.End()
	parent, ok := telemetry.ParseTraceParent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	if !ok {
		t.Fatal("a valid traceparent was refused")
	}
	_, child := tr.Tracer().Start(trace.ContextWithRemoteSpanContext(context.Background(), parent), "sampled")
	child.End()
	spans := exp.GetSpans()
	if len(spans) != 1 || spans[0].Name != "sampled" || spans[0].Parent.SpanID() != parent.SpanID() {
		t.Fatalf("recorded %v", spans.Snapshots())
	}
}

func TestTraceParentRoundTrip(t *testing.T) {
	const tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	sc, ok := telemetry.ParseTraceParent(tp)
	if !ok || !sc.IsRemote() || !sc.IsSampled() {
		t.Fatalf("parse: %v %v", sc, ok)
	}
	if got := telemetry.FormatTraceParent(sc); got != tp {
		t.Fatalf("format: %q, want %q", got, tp)
	}
	for _, bad := range []string{"", "00-xyz", "00-00000000000000000000000000000000-b7ad6b7169203331-01"} {
		if _, ok := telemetry.ParseTraceParent(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
	if telemetry.FormatTraceParent(trace.SpanContext{}) != "" {
		t.Error("an invalid span context has a traceparent")
	}
}
