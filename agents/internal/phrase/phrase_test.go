package phrase

import (
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := map[string]string{
		"Hello, World!":                 "hello world",
		"I'd like to book":              "i would like to book",
		"I’m here":                      "i am here",
		"don't   CAN'T won't":           "do not can not will not",
		"10 am":                         "ten am",
		"10am":                          "ten am",
		"at 10:30":                      "at ten thirty",
		"at 10:00":                      "at ten",
		"at 9:05":                       "at nine oh five",
		"3.5 stars":                     "three point five stars",
		"order 4207":                    "order four two zero seven",
		"order 007":                     "order zero zero seven",
		"1,000":                         "one zero zero zero",
		"the 2nd and 21st":              "the second and twenty first",
		"42":                            "forty two",
		"rock & roll 100%":              "rock and roll one zero zero percent",
		"uh-huh":                        "uh huh",
		"mm-hmm.":                       "mm hmm",
		"'quoted'":                      "quoted",
		"doctor's":                      "doctor's",
		"café naïve":                    "café naïve",
		"  ":                            "",
		"...":                           "",
		"{{day}}":                       "day",
		"twenty-one":                    "twenty one",
		"O'Clock":                       "o clock",
		"Ten A.M.":                      "ten a m",
		"call +1 555":                   "call plus one five five five",
		strings.Repeat("9", 30):         strings.TrimSpace(strings.Repeat("nine ", 30)),
		"line1\nline2\ttab":             "line one line two tab",
		"wanna gonna":                   "want to going to",
		"e-mail":                        "e mail",
		"x=1":                           "x equals one",
		"5th":                           "fifth",
		"12th 3rd 1st 20th":             "twelfth third first twentieth",
		"30th":                          "thirtieth",
		"99.":                           "ninety nine",
		"1.2.3":                         "one point two point three",
		"abc123def":                     "abc one two three def",
		"it's 5 o'clock somewhere, ok?": "it is five o clock somewhere ok",
	}
	for in, want := range tests {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDigitValue(t *testing.T) {
	tests := []struct {
		words  string
		digits string
		used   int
		ok     bool
	}{
		{"seven", "7", 1, true},
		{"oh", "0", 1, true},
		{"zero two", "0", 1, true},
		{"twelve", "12", 1, true},
		{"thirty four", "34", 2, true},
		{"thirty", "30", 1, true},
		{"thirty thirty", "30", 1, true},
		{"ninety nine", "99", 2, true},
		{"hello", "", 0, false},
		{"", "", 0, false},
	}
	for _, tt := range tests {
		d, used, ok := DigitValue(strings.Fields(tt.words))
		if d != tt.digits || used != tt.used || ok != tt.ok {
			t.Errorf("DigitValue(%q) = %q, %d, %v; want %q, %d, %v", tt.words, d, used, ok, tt.digits, tt.used, tt.ok)
		}
	}
}

func TestCardinal(t *testing.T) {
	for n, want := range map[int]string{0: "zero", 7: "seven", 13: "thirteen", 20: "twenty", 45: "forty five", 99: "ninety nine", 100: "one zero zero", -3: "three"} {
		if got := strings.Join(Cardinal(n), " "); got != want {
			t.Errorf("Cardinal(%d) = %q, want %q", n, got, want)
		}
	}
}

func FuzzWords(f *testing.F) {
	for _, s := range []string{"I'd like 10:30", "4,207.5th", "''", "1:2:3", "9" + strings.Repeat(":0", 10),
		// Found by fuzzing: apostrophes before combining marks.
		"0\x9d 0  %     0   \xdb\xe3 \xff\x82'ֿ000", "000'̗A"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words := Words(s)
		for _, w := range words {
			if w == "" || strings.ContainsAny(w, " \t\n") {
				t.Fatalf("bad word %q from %q", w, s)
			}
		}
		// Normalising is idempotent, so phrases and transcripts meet.
		once := Normalize(s)
		if twice := Normalize(once); twice != once {
			t.Fatalf("Normalize(%q) = %q, but again gives %q", s, once, twice)
		}
	})
}
