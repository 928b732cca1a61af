package flow

import (
	"strings"
	"testing"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/agents/internal/phrase"
)

// testFlow is a small booking flow for the matching tests.
func testFlow(t *testing.T, threshold float64) *Flow {
	t.Helper()
	fc := &agents.FlowConfig{
		Start: "greet", Fallback: "Sorry?", Threshold: threshold,
		Intents: map[string]agents.FlowIntent{
			"book": {
				Examples: []string{"i would like to book an appointment", "i want to make an appointment", "can i see the dentist", "book an appointment on {{day}}"},
				Keywords: []string{"book", "appointment"},
			},
			"cancel": {
				Examples: []string{"i want to cancel my appointment", "please cancel it"},
				Keywords: []string{"cancel"},
			},
			"human": {
				Examples: []string{"i want to talk to a person"},
				Keywords: []string{"front desk", "receptionist"},
			},
			"goodbye": {Examples: []string{"goodbye", "no thank you", "that is all"}},
			"no":      {Examples: []string{"no", "no thanks", "not right"}},
		},
		Slots: map[string]agents.FlowSlot{
			"day":   {Values: []string{"monday", "tuesday"}, Synonyms: map[string][]string{"monday": {"start of the week"}}},
			"time":  {Values: []string{"ten a m", "two p m"}, Synonyms: map[string][]string{"ten a m": {"ten in the morning", "ten o clock"}}},
			"order": {Type: agents.SlotDigits, Length: 4},
			"any":   {Type: agents.SlotDigits},
			"ref":   {Pattern: `\breference ([a-z]+ [a-z]+)\b`, Values: []string{"alpha bravo"}, Synonyms: map[string][]string{"alpha bravo": {"able baker"}}},
		},
		Global: []agents.FlowTransition{{Intent: "goodbye", Next: "greet"}, {Intent: "human", Next: "greet"}},
		Nodes: map[string]agents.FlowNode{
			"greet": {Say: "Hi", Capture: []string{"time", "order", "any", "ref"}, Transitions: []agents.FlowTransition{
				{Intent: "book", Next: "greet"}, {Intent: "cancel", Next: "greet"}, {Intent: "no", Next: "greet"},
			}},
		},
	}
	f, err := New(fc)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestBestIntent(t *testing.T) {
	f := testFlow(t, 0.5)
	candidates := []string{"book", "cancel", "no", "goodbye", "human"}
	tests := []struct{ say, want string }{
		{"I would like to book an appointment", "book"},
		{"i'd like to book an appointment please", "book"},
		{"could I make an appointment", "book"},
		{"can I see a dentist", "book"},
		{"book me in on monday", "book"},
		{"appointment", "book"},
		{"I want to cancel my appointment", "cancel"},
		{"cancel", "cancel"},
		{"put me through to the front desk", "human"},
		{"can i talk to a person please", "human"},
		{"goodbye", "goodbye"},
		{"no thank you", "goodbye"},
		{"no thanks", "no"},
		{"no", "no"},
		{"what is the weather like", ""},
		{"i would like to", ""},
		{"", ""},
		{"uh", ""},
	}
	for _, tt := range tests {
		got, ok := f.bestIntent(f.analyse(tt.say), candidates)
		name := ""
		if ok {
			name = got.name
		}
		if name != tt.want {
			t.Errorf("%q matched %q (%.3f), want %q", tt.say, name, got.score, tt.want)
		}
		if ok && (got.score < 0 || got.score > 1) {
			t.Errorf("%q: confidence %v out of [0, 1]", tt.say, got.score)
		}
	}
}

func TestBestIntentOnlyAmongCandidates(t *testing.T) {
	f := testFlow(t, 0.5)
	if got, ok := f.bestIntent(f.analyse("cancel my appointment"), []string{"book", "goodbye"}); !ok || got.name != "book" {
		t.Errorf("got %v %v, want book (cancel is not possible here)", got, ok)
	}
	if _, ok := f.bestIntent(f.analyse("i want to cancel"), []string{"goodbye"}); ok {
		t.Error("matched an intent that is not a candidate")
	}
}

func TestThreshold(t *testing.T) {
	said := "could I make an appointment"
	low := testFlow(t, 0.5)
	if _, ok := low.bestIntent(low.analyse(said), []string{"book"}); !ok {
		t.Errorf("%q does not match at threshold 0.5", said)
	}
	high := testFlow(t, 0.95)
	if got, ok := high.bestIntent(high.analyse(said), []string{"book"}); ok {
		t.Errorf("%q matched at threshold 0.95 with %.3f", said, got.score)
	}
	if got, ok := high.bestIntent(high.analyse("i want to make an appointment"), []string{"book"}); !ok || got.score != 1 {
		t.Errorf("an exact example scored %v, %v; want 1", got.score, ok)
	}
}

func TestScoringIsDeterministic(t *testing.T) {
	f := testFlow(t, 0.5)
	first, _ := f.bestIntent(f.analyse("i want to make an appointment to cancel"), []string{"book", "cancel"})
	for range 50 {
		again, _ := testFlow(t, 0.5).bestIntent(f.analyse("i want to make an appointment to cancel"), []string{"book", "cancel"})
		if again != first {
			t.Fatalf("got %v then %v", first, again)
		}
	}
}

func TestSlotCapture(t *testing.T) {
	f := testFlow(t, 0.5)
	tests := []struct {
		say  string
		want map[string]string
	}{
		{"monday please", map[string]string{"day": "monday"}},
		{"at the start of the week", map[string]string{"day": "monday"}},
		{"ten in the morning on tuesday", map[string]string{"day": "tuesday", "time": "ten a m", "any": "10"}},
		{"10 o'clock", map[string]string{"time": "ten a m", "any": "10"}},
		{"my order is four two oh seven", map[string]string{"order": "4207", "any": "4207"}},
		{"order forty two oh seven", map[string]string{"order": "4207", "any": "4207"}},
		{"it's 4207", map[string]string{"order": "4207", "any": "4207"}},
		{"one two three", map[string]string{"any": "123"}},
		{"one two three four five", map[string]string{"any": "12345"}},
		{"reference able baker", map[string]string{"ref": "alpha bravo"}},
		{"reference charlie delta", map[string]string{"ref": "charlie delta"}},
		{"nothing here", map[string]string{}},
	}
	for _, tt := range tests {
		u := f.analyse(tt.say)
		got := map[string]string{}
		for name, m := range u.found {
			got[name] = m.value
		}
		if len(got) != len(tt.want) {
			t.Errorf("%q found %v, want %v", tt.say, got, tt.want)
			continue
		}
		for k, v := range tt.want {
			if got[k] != v {
				t.Errorf("%q found %v, want %v", tt.say, got, tt.want)
			}
		}
	}
}

func TestSimilarity(t *testing.T) {
	w := phrase.Words
	tests := []struct {
		said, example string
		min, max      float64
	}{
		{"book an appointment", "book an appointment", 1, 1},
		{"i want to book an appointment please", "book an appointment", 0.8, 0.95},
		{"book", "i would like to book an appointment", 0.5, 0.7},
		{"apointment", "appointment", 0.75, 0.85},
		{"i would like to", "i would like to book", 0, 0},
		{"weather", "book an appointment", 0, 0},
		{"", "book", 0, 0},
	}
	for _, tt := range tests {
		got := similarity(w(tt.said), w(tt.example))
		if got < tt.min || got > tt.max {
			t.Errorf("similarity(%q, %q) = %.3f, want in [%v, %v]", tt.said, tt.example, got, tt.min, tt.max)
		}
	}
}

func TestPhrases(t *testing.T) {
	f := testFlow(t, 0.5)
	got := f.Phrases()
	for _, want := range []string{
		"book an appointment on monday", "book an appointment on start of the week", "front desk",
		"ten in the morning", "alpha bravo", "able baker", "zero", "oh", "nine", "no thanks",
	} {
		found := false
		for _, p := range got {
			found = found || p == want
		}
		if !found {
			t.Errorf("Phrases() lacks %q", want)
		}
	}
	for i, p := range got {
		if strings.Trim(p, "abcdefghijklmnopqrstuvwxyz ") != "" || p != strings.Join(strings.Fields(p), " ") {
			t.Errorf("phrase %q is not plain lowercase words", p)
		}
		if i > 0 && got[i-1] >= p {
			t.Errorf("phrases not sorted and distinct at %q", p)
		}
	}
	// The four-digit slot is not listed digit by digit (10,000 phrases).
	if len(got) > 200 {
		t.Errorf("got %d phrases", len(got))
	}
}

func TestPhrasesShortDigits(t *testing.T) {
	fc := &agents.FlowConfig{
		Start: "a", Fallback: "?", Threshold: 0.5,
		Intents: map[string]agents.FlowIntent{"pin": {Examples: []string{"my pin is {{pin}}"}}},
		Slots:   map[string]agents.FlowSlot{"pin": {Type: agents.SlotDigits, Length: 2}},
		Nodes: map[string]agents.FlowNode{"a": {Say: "PIN?", Capture: []string{"pin"},
			Transitions: []agents.FlowTransition{{WhenSlot: "pin", Next: "a"}, {Intent: "pin", Next: "a"}}}},
	}
	f, err := New(fc)
	if err != nil {
		t.Fatal(err)
	}
	got := f.Phrases()
	// 100 two-digit sequences, and the example expanded with each.
	if len(got) != 200 {
		t.Errorf("got %d phrases, want 200", len(got))
	}
	if got[0] != "eight eight" || got[len(got)-1] != "zero zero" {
		t.Errorf("first %q last %q", got[0], got[len(got)-1])
	}
}

func TestPlaceholdersPreferLongerValues(t *testing.T) {
	f := testFlow(t, 0.5)
	u := f.analyse("book for ten in the morning on monday")
	if got := strings.Join(u.withSlots, " "); got != "book for {{time}} on {{day}}" {
		t.Errorf("withSlots = %q", got)
	}
}
