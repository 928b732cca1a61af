package bm25

import (
	"math"
	"slices"
	"testing"
)

func TestTokenize(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"What are your opening hours?", []string{"opening", "hour"}},
		{"Prices & policies: X-ray, 2 fillings.", []string{"price", "policy", "x", "ray", "2", "filling"}},
		{"Zahnärzte ÖFFNUNGSZEITEN", []string{"zahnärzte", "öffnungszeiten"}},
		{"the and of", nil},
		{"", nil},
		{"glass bonus analysis boxes brushes", []string{"glass", "bonus", "analysis", "box", "brush"}},
	}
	for _, tt := range tests {
		if got := Tokenize(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("Tokenize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestStem(t *testing.T) {
	tests := map[string]string{
		"prices": "price", "policies": "policy", "hours": "hour", "classes": "class",
		"taxes": "tax", "matches": "match", "gas": "gas", "is": "is", "bus": "bus",
		"cross": "cross", "days": "day", "ties": "tie", "flies": "fly",
	}
	for in, want := range tests {
		if got := Stem(in); got != want {
			t.Errorf("Stem(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSearchRanking(t *testing.T) {
	docs := []string{
		0: "Opening hours: Monday to Friday 8am to 6pm, Saturday 9am to 1pm.",
		1: "Prices: a check-up costs 60 euros, a cleaning 80 euros.",
		2: "Cancellation policy: cancel 24 hours ahead or pay a fee.",
		3: "Parking is free behind the building. Parking for bikes at the front. Parking parking.",
		4: "Parking.",
	}
	ix := New(docs)
	if ix.Len() != 5 {
		t.Fatalf("Len = %d", ix.Len())
	}
	tests := []struct {
		query string
		first int
	}{
		{"when are you open? opening hours", 0},
		{"how much does a cleaning cost", 1},
		{"I need to cancel my appointment", 2},
		{"fee for cancellation", 2},
		{"price of check-up", 1},
	}
	for _, tt := range tests {
		hits := ix.Search(tt.query, 0)
		if len(hits) == 0 || hits[0].Doc != tt.first {
			t.Errorf("Search(%q) = %v, want doc %d first", tt.query, hits, tt.first)
		}
	}
	// "hours" is in docs 0 and 2; the rarer "saturday" decides.
	if hits := ix.Search("hours saturday", 0); len(hits) != 2 || hits[0].Doc != 0 || hits[1].Doc != 2 {
		t.Errorf("hours saturday: %v", hits)
	}
	// Term frequency saturates and long documents are normalised: the short
	// doc 4 with one "parking" is not buried by doc 3's four.
	hits := ix.Search("parking", 0)
	if len(hits) != 2 || hits[0].Score-hits[1].Score > hits[1].Score {
		t.Errorf("parking: %v", hits)
	}
	if got := ix.Search("the of and", 0); len(got) != 0 {
		t.Errorf("stopword query matched %v", got)
	}
	if got := ix.Search("dentist", 0); len(got) != 0 {
		t.Errorf("unknown term matched %v", got)
	}
	if got := ix.Search("parking hours price", 2); len(got) != 2 {
		t.Errorf("limit 2 gave %v", got)
	}
}

func TestSearchScoreValue(t *testing.T) {
	// Two documents, one term in one of them: idf = ln(1 + 1.5/1.5) = ln 2,
	// lengths equal so the term part is (1·2.2)/(1+1.2) = 1.
	ix := New([]string{"alpha beta", "gamma delta"})
	hits := ix.Search("alpha alpha", 0)
	if len(hits) != 1 || hits[0].Doc != 0 || math.Abs(hits[0].Score-math.Ln2) > 1e-12 {
		t.Errorf("hits = %v, want doc 0 with score ln 2", hits)
	}
}

func TestSearchTiesAndEmptyIndex(t *testing.T) {
	ix := New([]string{"same words", "other", "same words"})
	hits := ix.Search("same", 0)
	if len(hits) != 2 || hits[0].Doc != 0 || hits[1].Doc != 2 || hits[0].Score != hits[1].Score {
		t.Errorf("ties = %v, want docs 0 then 2", hits)
	}
	if got := New(nil).Search("anything", 3); len(got) != 0 {
		t.Errorf("empty index matched %v", got)
	}
}
