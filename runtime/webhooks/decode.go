package webhooks

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Endpoint, RetryPolicy and BreakerPolicy decode strictly from YAML and JSON
// wherever they are embedded: an unknown key is an error (with its line in
// YAML), so a typo such as "time_out" is reported instead of silently ignored.

// UnmarshalYAML decodes an endpoint, refusing unknown keys.
func (ep *Endpoint) UnmarshalYAML(n *yaml.Node) error {
	type plain Endpoint
	if err := knownKeys(n, reflect.TypeFor[plain](), "webhook endpoint"); err != nil {
		return err
	}
	var v plain
	if err := n.Decode(&v); err != nil {
		return err
	}
	*ep = Endpoint(v)
	return nil
}

// UnmarshalYAML decodes a retry policy, refusing unknown keys.
func (p *RetryPolicy) UnmarshalYAML(n *yaml.Node) error {
	type plain RetryPolicy
	if err := knownKeys(n, reflect.TypeFor[plain](), "retry policy"); err != nil {
		return err
	}
	var v plain
	if err := n.Decode(&v); err != nil {
		return err
	}
	*p = RetryPolicy(v)
	return nil
}

// UnmarshalYAML decodes a circuit breaker policy, refusing unknown keys.
func (p *BreakerPolicy) UnmarshalYAML(n *yaml.Node) error {
	type plain BreakerPolicy
	if err := knownKeys(n, reflect.TypeFor[plain](), "circuit breaker policy"); err != nil {
		return err
	}
	var v plain
	if err := n.Decode(&v); err != nil {
		return err
	}
	*p = BreakerPolicy(v)
	return nil
}

// UnmarshalJSON decodes an endpoint, refusing unknown keys.
func (ep *Endpoint) UnmarshalJSON(b []byte) error {
	type plain Endpoint
	var v plain
	if err := decodeStrictJSON(b, &v, "webhook endpoint"); err != nil {
		return err
	}
	*ep = Endpoint(v)
	return nil
}

// UnmarshalJSON decodes a retry policy, refusing unknown keys.
func (p *RetryPolicy) UnmarshalJSON(b []byte) error {
	type plain RetryPolicy
	var v plain
	if err := decodeStrictJSON(b, &v, "retry policy"); err != nil {
		return err
	}
	*p = RetryPolicy(v)
	return nil
}

// UnmarshalJSON decodes a circuit breaker policy, refusing unknown keys.
func (p *BreakerPolicy) UnmarshalJSON(b []byte) error {
	type plain BreakerPolicy
	var v plain
	if err := decodeStrictJSON(b, &v, "circuit breaker policy"); err != nil {
		return err
	}
	*p = BreakerPolicy(v)
	return nil
}

// knownKeys returns an error naming the first key of mapping n that is not a
// yaml field of struct type t. Other node kinds are left to Decode.
func knownKeys(n *yaml.Node, t reflect.Type, what string) error {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	fields := yamlFields(t)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if k.Tag == "!!merge" {
			return fmt.Errorf("line %d: merge keys (<<) are not supported in a %s", k.Line, what)
		}
		if !slices.Contains(fields, k.Value) {
			return fmt.Errorf("line %d: unknown field %q in %s; known fields: %s", k.Line, k.Value, what, strings.Join(fields, ", "))
		}
	}
	return nil
}

// yamlFields lists the yaml keys of struct type t.
func yamlFields(t reflect.Type) []string {
	var names []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			names = append(names, name)
		}
	}
	return names
}

// decodeStrictJSON decodes exactly one JSON value, refusing unknown keys.
func decodeStrictJSON(b []byte, v any, what string) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("decoding %s: %w", what, err)
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("decoding %s: unexpected data after the object", what)
	}
	return nil
}

// AgentEndpoints decodes an agent config's own webhook endpoints (its
// `webhooks:` list, already interpolated) strictly, as the endpoint config
// would be, and limits each to the agent's events. An endpoint that names
// other agents in `agents:` is an error. Errors carry the path
// "agents[<id>].webhooks[i]".
func AgentEndpoints(agentID string, raw []map[string]any) ([]Endpoint, error) {
	var errs []error
	out := make([]Endpoint, 0, len(raw))
	for i, m := range raw {
		at := fmt.Sprintf("agents[%s].webhooks[%d]", agentID, i)
		b, err := yaml.Marshal(m)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", at, err))
			continue
		}
		var ep Endpoint
		if err := yaml.Unmarshal(b, &ep); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", at, err))
			continue
		}
		for _, a := range ep.Agents {
			if a != agentID {
				errs = append(errs, fmt.Errorf("%s.agents: an agent's own endpoint takes only its events; %q is another agent (declare shared endpoints in the server config)", at, a))
			}
		}
		ep.Agents = []string{agentID}
		if err := ep.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", at, err))
			continue
		}
		out = append(out, ep)
	}
	return out, errors.Join(errs...)
}
