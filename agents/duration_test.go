package agents

import (
	"encoding/json"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"600ms", 600 * time.Millisecond, true},
		{"1.5s", 1500 * time.Millisecond, true},
		{".5s", 500 * time.Millisecond, true},
		{"1m30s", 90 * time.Second, true},
		{"2h", 2 * time.Hour, true},
		{"250us", 250 * time.Microsecond, true},
		{"0", 0, true},
		{"0s", 0, true},
		{"600", 0, false},
		{"-1s", 0, false},
		{"+1s", 0, false},
		{"1 s", 0, false},
		{"", 0, false},
		{"1d", 0, false},
		{"s", 0, false},
		{"9999999999h", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if (err == nil) != tt.ok || got.Std() != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestDurationString(t *testing.T) {
	tests := map[time.Duration]string{
		0: "0s", 600 * time.Millisecond: "600ms", 1500 * time.Millisecond: "1.5s", 15 * time.Minute: "15m",
		2 * time.Hour: "2h", 90 * time.Second: "1m30s", time.Second: "1s",
	}
	for d, want := range tests {
		if got := Duration(d).String(); got != want {
			t.Errorf("Duration(%v).String() = %q, want %q", d, got, want)
		}
		back, err := ParseDuration(want)
		if err != nil || back.Std() != d {
			t.Errorf("%q does not parse back to %v", want, d)
		}
	}
}

func TestDurationJSON(t *testing.T) {
	b, err := json.Marshal(struct{ D Duration }{Duration(1500 * time.Millisecond)})
	if err != nil || string(b) != `{"D":"1.5s"}` {
		t.Fatalf("Marshal = %s, %v", b, err)
	}
	var v struct{ D Duration }
	if err := json.Unmarshal([]byte(`{"D":"250ms"}`), &v); err != nil || v.D.Std() != 250*time.Millisecond {
		t.Errorf("Unmarshal = %v, %v", v.D, err)
	}
	if err := json.Unmarshal([]byte(`{"D":"250"}`), &v); err == nil {
		t.Error("a duration without unit was accepted")
	}
}
