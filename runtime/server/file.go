package server

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/nats-io/nats.go"
	"gopkg.in/yaml.v3"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/runtime/webhooks"
	"github.com/parley-voice/parley/runtime/webhooks/dispatch"
)

// File is the server config file of `parley serve --config`: where state
// lives, the admin token, the webhook queue and the webhook subscriptions.
// Agents are separate files. ${VAR} in any value is replaced by the
// environment variable VAR, or by the contents of the file VAR_FILE names
// when VAR is unset, and ${file:PATH} by the contents of the file at PATH (an
// unset variable or unreadable file is an error), so secrets need not be
// written in the file.
type File struct {
	// DataDir holds the embedded queue's files. Default "parley-data".
	DataDir string `yaml:"data_dir,omitempty"`
	Admin   struct {
		// Token protects the admin API (/v1/admin/…): "Authorization: Bearer
		// <token>". Without one the admin API refuses every request.
		Token string `yaml:"token,omitempty"`
	} `yaml:"admin,omitempty"`
	Queue    QueueFile `yaml:"queue,omitempty"`
	Webhooks struct {
		// Endpoints are the subscriptions (docs/WEBHOOKS.md). An endpoint
		// with `agents: [id, …]` takes only those agents' events.
		Endpoints []webhooks.Endpoint `yaml:"endpoints,omitempty"`
	} `yaml:"webhooks,omitempty"`
}

// QueueFile configures the webhook queue (NATS JetStream).
type QueueFile struct {
	// URL of an external NATS cluster, e.g. "nats://n1:4222,nats://n2:4222";
	// empty runs NATS embedded, storing under data_dir.
	URL string `yaml:"url,omitempty"`
	// Credentials is a NATS .creds file for URL.
	Credentials string `yaml:"credentials,omitempty"`
	// Replicas of each stream in a cluster (3 for a three-node cluster).
	// Default 1.
	Replicas int `yaml:"replicas,omitempty"`
	// Prefix of the stream and subject names. Default "PARLEY".
	Prefix string `yaml:"prefix,omitempty"`
	// Buffer is how many events may wait in memory to be stored. Default
	// 65536; beyond it events are dropped and logged.
	Buffer int `yaml:"buffer,omitempty"`
	// EventRetention, AttemptRetention and DLQRetention: defaults 72h, 168h
	// and 720h.
	EventRetention   agents.Duration `yaml:"event_retention,omitempty"`
	AttemptRetention agents.Duration `yaml:"attempt_retention,omitempty"`
	DLQRetention     agents.Duration `yaml:"dlq_retention,omitempty"`
	// ShutdownTimeout is how long deliveries in flight may finish on
	// shutdown. Default 10s.
	ShutdownTimeout agents.Duration `yaml:"shutdown_timeout,omitempty"`
	// Deliver false makes this node only queue events. Default true.
	Deliver *bool `yaml:"deliver,omitempty"`
}

// MaxFileSize bounds a server config file.
const MaxFileSize = 1 << 20

// LoadFile reads and checks a server config file.
func LoadFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseFile(path, data, os.LookupEnv)
}

// ParseFile parses a server config: strict YAML (unknown keys are errors),
// ${VAR} interpolation, then every endpoint validated.
func ParseFile(name string, data []byte, lookupEnv func(string) (string, bool)) (*File, error) {
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%s: file is larger than %d bytes", name, MaxFileSize)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%s: invalid YAML: %v", name, err)
	}
	f := &File{}
	if len(root.Content) == 0 {
		return f.withDefaults(), nil
	}
	if errs := interpolate(&root, lookupEnv, filepath.Dir(name)); len(errs) > 0 {
		return nil, fmt.Errorf("%s: %w", name, errors.Join(errs...))
	}
	b, err := yaml.Marshal(&root)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(f); err != nil {
		// yaml.v3 quotes the values it cannot decode, and those may be
		// secrets from the environment: leave them out.
		return nil, fmt.Errorf("%s: %s", name, quotedRE.ReplaceAllString(err.Error(), "value"))
	}
	var errs []error
	if err := webhooks.ValidateEndpoints("webhooks.endpoints", f.Webhooks.Endpoints); err != nil {
		errs = append(errs, err)
	}
	if q := f.Queue; q.Replicas < 0 || q.Replicas > 5 {
		errs = append(errs, fmt.Errorf("queue.replicas: must be 1 to 5, got %d", q.Replicas))
	}
	if f.Queue.Buffer < 0 {
		errs = append(errs, errors.New("queue.buffer: must not be negative"))
	}
	if f.Queue.Credentials != "" && f.Queue.URL == "" {
		errs = append(errs, errors.New("queue.credentials: only used with queue.url"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return f.withDefaults(), nil
}

func (f *File) withDefaults() *File {
	if f.DataDir == "" {
		f.DataDir = "parley-data"
	}
	return f
}

// Dispatch returns the dispatcher config of the file's queue and endpoints.
func (f *File) Dispatch() dispatch.Config {
	q := f.Queue
	c := dispatch.Config{
		Endpoints: f.Webhooks.Endpoints, URL: q.URL, DataDir: f.DataDir, Replicas: q.Replicas, Prefix: q.Prefix,
		Buffer: q.Buffer, EventRetention: q.EventRetention.Std(), AttemptRetention: q.AttemptRetention.Std(),
		DLQRetention: q.DLQRetention.Std(), NoDeliver: q.Deliver != nil && !*q.Deliver,
	}
	if q.Credentials != "" {
		c.NATSOptions = append(c.NATSOptions, natsCredentials(q.Credentials))
	}
	return c
}

// ShutdownTimeout is how long webhook deliveries may finish on shutdown.
func (f *File) ShutdownTimeout() time.Duration {
	if f.Queue.ShutdownTimeout > 0 {
		return f.Queue.ShutdownTimeout.Std()
	}
	return 10 * time.Second
}

var quotedRE = regexp.MustCompile("`[^`]*`")

var envRE = regexp.MustCompile(`\$\{(file:[^}]+|[A-Za-z_][A-Za-z0-9_]*)\}`)

// interpolate replaces ${VAR} and ${file:PATH} in scalar values, as agent
// configs do (agents.LookupSecret): VAR falls back to the file VAR_FILE names,
// and relative paths start in dir. Errors name the variable or path and the
// line, never a value.
func interpolate(n *yaml.Node, lookup func(string) (string, bool), dir string) []error {
	var errs []error
	var walk func(n *yaml.Node, isKey bool)
	walk = func(n *yaml.Node, isKey bool) {
		switch n.Kind {
		case yaml.ScalarNode:
			if isKey || !envRE.MatchString(n.Value) {
				return
			}
			n.Value = envRE.ReplaceAllStringFunc(n.Value, func(m string) string {
				name := envRE.FindStringSubmatch(m)[1]
				v, ok, err := agents.LookupSecret(name, dir, lookup)
				switch {
				case err != nil:
					errs = append(errs, fmt.Errorf("line %d: %w", n.Line, err))
				case !ok:
					errs = append(errs, fmt.Errorf("line %d: environment variable %s is not set (set it or %s_FILE)", n.Line, name, name))
				}
				return v
			})
			n.Tag, n.Style = "", 0
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				walk(n.Content[i], true)
				walk(n.Content[i+1], false)
			}
		default:
			for _, c := range n.Content {
				walk(c, false)
			}
		}
	}
	walk(n, false)
	return errs
}

func natsCredentials(path string) nats.Option { return nats.UserCredentials(path) }
