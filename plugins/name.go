package plugins

import (
	"fmt"
	"regexp"
)

var nameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// ValidateName checks that name can be offered to a model as a tool name:
// 1 to 64 ASCII letters, digits, underscores or hyphens, as OpenAI requires.
func ValidateName(name string) error {
	if !nameRE.MatchString(name) {
		shown := name
		if len(shown) > 80 {
			shown = shown[:80] + "..."
		}
		return fmt.Errorf("%w %q: want 1-64 characters of a-z, A-Z, 0-9, _ or -", ErrInvalidName, shown)
	}
	return nil
}
