package tmpl

import (
	"errors"
	"strings"
	"testing"
)

func TestParseAndFill(t *testing.T) {
	vals := map[string]string{"day": "monday", "result.status": "shipped"}
	lookup := func(ref string) string { return vals[ref] }
	tests := []struct {
		in, want string
		refs     []string
	}{
		{"plain", "plain", nil},
		{"", "", nil},
		{"On {{day}}.", "On monday.", []string{"day"}},
		{"{{ day }}{{day}}", "mondaymonday", []string{"day", "day"}},
		{"It is {{result.status}}", "It is shipped", []string{"result.status"}},
		{"{{missing}}!", "!", []string{"missing"}},
		{"a } b {", "a } b {", nil},
	}
	for _, tt := range tests {
		tm, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got := tm.Fill(lookup); got != tt.want {
			t.Errorf("Fill(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := strings.Join(tm.Refs(), ","); got != strings.Join(tt.refs, ",") {
			t.Errorf("Refs(%q) = %q, want %q", tt.in, got, tt.refs)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{"{{day", "{{}}", "{{ }}", "{{a b}}", "{{1day}}", "{{day.}}", "{{a..b}}", "{{" + strings.Repeat("x y", 40) + "}}"} {
		_, err := Parse(in)
		if !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(%q) error = %v, want ErrSyntax", in, err)
		}
	}
}
