package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// InstrumentationName names Parley's tracer (the instrumentation scope of
// every span it makes).
const InstrumentationName = "github.com/parley-voice/parley"

// Environment variables of the OpenTelemetry specification that TraceConfig
// honours.
const (
	EnvEndpoint       = "OTEL_EXPORTER_OTLP_ENDPOINT"
	EnvTracesEndpoint = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	EnvSamplerArg     = "OTEL_TRACES_SAMPLER_ARG"
	EnvTracesExporter = "OTEL_TRACES_EXPORTER"
	EnvSDKDisabled    = "OTEL_SDK_DISABLED"
)

// TraceConfig says whether and where spans are exported.
type TraceConfig struct {
	// Endpoint is the OTLP/HTTP collector's URL (parley serve
	// --otlp-endpoint). A URL without a path, e.g. "http://collector:4318",
	// is a base URL and gets "/v1/traces" appended, as
	// OTEL_EXPORTER_OTLP_ENDPOINT does; a URL with a path is used as it is.
	// Empty: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or
	// OTEL_EXPORTER_OTLP_ENDPOINT, and when neither is set tracing is off.
	Endpoint string
	// SampleRatio is the share of new traces recorded, from 0 to 1 (parley
	// serve --trace-sample). Negative: OTEL_TRACES_SAMPLER_ARG, else 1.
	// Spans whose parent was sampled are always sampled
	// (parentbased_traceidratio).
	SampleRatio float64
	// ServiceVersion is reported as service.version.
	ServiceVersion string
	// Getenv reads the environment (default os.Getenv).
	Getenv func(string) string
	// Exporter replaces the OTLP exporter (tests). With it, tracing is on
	// whatever Endpoint and the environment say.
	Exporter sdktrace.SpanExporter
}

// Tracing is the node's tracer provider. The zero value and a nil *Tracing
// are off: Tracer returns nil, which the call actor and the webhook
// dispatcher take as "make no spans".
type Tracing struct {
	provider *sdktrace.TracerProvider
	endpoint string
	ratio    float64
}

// NewTracing builds the tracer provider cfg asks for: nil, nil when tracing
// is off (no endpoint configured, or OTEL_SDK_DISABLED=true, or
// OTEL_TRACES_EXPORTER=none). Spans go out in batches over OTLP/HTTP;
// Shutdown sends what is left.
func NewTracing(ctx context.Context, cfg TraceConfig) (*Tracing, error) {
	getenv := cfg.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	ratio, err := sampleRatio(cfg.SampleRatio, getenv)
	if err != nil {
		return nil, err
	}
	exp := cfg.Exporter
	endpoint := "(test exporter)"
	if exp == nil {
		if strings.EqualFold(getenv(EnvSDKDisabled), "true") || strings.EqualFold(getenv(EnvTracesExporter), "none") {
			return nil, nil
		}
		var opts []otlptracehttp.Option
		switch {
		case cfg.Endpoint != "":
			u, err := endpointURL(cfg.Endpoint)
			if err != nil {
				return nil, err
			}
			endpoint = u
			opts = append(opts, otlptracehttp.WithEndpointURL(u))
		case getenv(EnvTracesEndpoint) != "":
			endpoint = getenv(EnvTracesEndpoint)
		case getenv(EnvEndpoint) != "":
			endpoint = getenv(EnvEndpoint)
		default:
			return nil, nil
		}
		// The exporter reads the OTEL_EXPORTER_OTLP_* variables itself
		// (headers, timeout, compression, certificates).
		if exp, err = otlptracehttp.New(ctx, opts...); err != nil {
			return nil, fmt.Errorf("tracing: OTLP exporter for %s: %w", redactURL(endpoint), err)
		}
	}
	attrs := []attribute.KeyValue{attribute.String("service.name", "parley")}
	if cfg.ServiceVersion != "" {
		attrs = append(attrs, attribute.String("service.version", cfg.ServiceVersion))
	}
	// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override the defaults.
	res, err := resource.New(ctx, resource.WithAttributes(attrs...), resource.WithHost(), resource.WithFromEnv())
	if err != nil && res == nil {
		return nil, fmt.Errorf("tracing: describing this node: %w", err)
	}
	var proc sdktrace.SpanProcessor
	if cfg.Exporter != nil {
		proc = sdktrace.NewSimpleSpanProcessor(exp) // tests see a span as soon as it ends
	} else {
		proc = sdktrace.NewBatchSpanProcessor(exp)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSpanProcessor(proc),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))),
	)
	return &Tracing{provider: tp, endpoint: redactURL(endpoint), ratio: ratio}, nil
}

// Tracer returns Parley's tracer, or nil when tracing is off.
func (t *Tracing) Tracer() trace.Tracer {
	if t == nil || t.provider == nil {
		return nil
	}
	return t.provider.Tracer(InstrumentationName)
}

// Provider returns the tracer provider, nil when tracing is off.
func (t *Tracing) Provider() trace.TracerProvider {
	if t == nil || t.provider == nil {
		return nil
	}
	return t.provider
}

// Endpoint returns where spans go, for the startup log (credentials removed).
func (t *Tracing) Endpoint() string {
	if t == nil {
		return ""
	}
	return t.endpoint
}

// SampleRatio returns the share of new traces recorded.
func (t *Tracing) SampleRatio() float64 {
	if t == nil {
		return 0
	}
	return t.ratio
}

// Shutdown exports the spans still buffered and stops the exporter, within
// ctx. Call it after the server has drained, so the last calls' spans are
// sent. Safe on a nil *Tracing.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil || t.provider == nil {
		return nil
	}
	if err := t.provider.Shutdown(ctx); err != nil {
		return fmt.Errorf("tracing: flushing spans to %s: %w", t.endpoint, err)
	}
	return nil
}

// sampleRatio resolves the sampling ratio from the flag or the environment.
func sampleRatio(flag float64, getenv func(string) string) (float64, error) {
	r, what := flag, "--trace-sample"
	if r < 0 {
		s := strings.TrimSpace(getenv(EnvSamplerArg))
		if s == "" {
			return 1, nil
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, fmt.Errorf("tracing: %s=%q is not a number; want a ratio from 0 to 1, e.g. 0.1", EnvSamplerArg, s)
		}
		r, what = v, EnvSamplerArg
	}
	if r < 0 || r > 1 {
		return 0, fmt.Errorf("tracing: %s %v is out of range; want a ratio from 0 to 1, e.g. 0.1", what, r)
	}
	return r, nil
}

// endpointURL checks a --otlp-endpoint value and gives a base URL the
// standard traces path.
func endpointURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", errors.New("tracing: --otlp-endpoint wants an http:// or https:// URL of an OTLP/HTTP collector, e.g. http://localhost:4318")
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/v1/traces"
	}
	return u.String(), nil
}

// redactURL drops credentials, path and query from an endpoint for messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return "(endpoint)"
	}
	return u.Scheme + "://" + u.Host
}
