package agents

// Secrets returns the values this config took from the environment or from
// secret files (${VAR}, VAR_FILE, ${file:PATH}): API keys, webhook secrets,
// tokens. They may be secrets, so the server's log handler redacts them from
// every line (runtime/telemetry.Redactor). Nil for a config built in code.
func (c *Config) Secrets() []string {
	if c == nil || c.src == nil {
		return nil
	}
	return append([]string(nil), c.src.secrets...)
}
