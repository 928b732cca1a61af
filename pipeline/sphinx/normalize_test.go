package sphinx

import (
	"slices"
	"testing"
)

func TestNormalizePhrase(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Yes, please!", "yes please"},
		{"  I'd like   to BOOK an appointment. ", "i'd like to book an appointment"},
		{"I’d like that", "i'd like that"},
		{"'quoted' words", "quoted words"},
		{"Tuesday at 10", "tuesday at ten"},
		{"Tuesday at 10:30", "tuesday at ten thirty"},
		{"at 9:05", "at nine oh five"},
		{"at 10:00", "at ten"},
		{"the 2nd of May", "the second of may"},
		{"the 21st", "the twenty first"},
		{"the 13th", "the thirteenth"},
		{"the 40th floor", "the fortieth floor"},
		{"the 12th", "the twelfth"},
		{"3pm", "three pm"},
		{"1,250 dollars", "one thousand two hundred fifty dollars"},
		{"3.5 stars", "three point five stars"},
		{"agent 007", "agent zero zero seven"},
		{"0", "zero"},
		{"100", "one hundred"},
		{"1000000", "one million"},
		{"2026", "two thousand twenty six"},
		{"115", "one hundred fifteen"},
		{"90%", "ninety percent"},
		{"rock & roll", "rock and roll"},
		{"twenty-one", "twenty one"},
		{"end.", "end"},
		{"1.", "one"},
		{"…", ""},
		{"", ""},
		{"1234567890123456", "one two three four five six seven eight nine zero one two three four five six"},
	}
	for _, tt := range tests {
		if got := NormalizePhrase(tt.in); got != tt.want {
			t.Errorf("NormalizePhrase(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNormalizePhrasesSortsAndDedupes(t *testing.T) {
	got := normalizePhrases([]string{"No thanks.", "yes", "", "!!", "YES", "no thanks"})
	want := []string{"no thanks", "yes"}
	if !slices.Equal(got, want) {
		t.Fatalf("normalizePhrases = %q, want %q", got, want)
	}
}

func FuzzNormalizePhrase(f *testing.F) {
	for _, s := range []string{"Tuesday at 10:30", "1,250.5", "the 2nd", "i'd", "0:0:0", "1.2.3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := NormalizePhrase(s)
		if again := NormalizePhrase(n); again != n {
			t.Fatalf("not idempotent: %q → %q → %q", s, n, again)
		}
	})
}
