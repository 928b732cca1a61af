package pipeline

import (
	"reflect"
	"strings"
	"testing"
)

func TestChunker(t *testing.T) {
	tests := []struct {
		name      string
		fragments []string
		want      []string
	}{
		{"two sentences", []string{"Hello there. How can I help you today?"}, []string{"Hello there.", "How can I help you today?"}},
		{"streamed tokens", []string{"Hel", "lo", ".", " I", " can", " help", "!", " Bye"}, []string{"Hello.", "I can help!", "Bye"}},
		{"decimal", []string{"It costs 3.50 dollars. Okay?"}, []string{"It costs 3.50 dollars.", "Okay?"}},
		{"abbreviation", []string{"Dr. Smith will see you at 10 a.m. tomorrow. Good?"}, []string{"Dr. Smith will see you at 10 a.m. tomorrow.", "Good?"}},
		{"quotes", []string{"He said \"yes.\" Then left."}, []string{"He said \"yes.\"", "Then left."}},
		{"ellipsis", []string{"Well... let me check. Done."}, []string{"Well...", "let me check.", "Done."}},
		{"newline", []string{"Line one\nLine two"}, []string{"Line one", "Line two"}},
		{"url", []string{"Visit example.com today. Thanks."}, []string{"Visit example.com today.", "Thanks."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Chunker
			var got []string
			for _, f := range tt.fragments {
				got = append(got, c.Push(f)...)
			}
			if rest := c.Flush(); rest != "" {
				got = append(got, rest)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestChunkerMinChars(t *testing.T) {
	c := Chunker{MinChars: 12}
	got := c.Push("Hi. Ok. I can help with that. ")
	// The first sentence goes out at once; later short ones wait for more text.
	want := []string{"Hi.", "Ok. I can help with that."}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestChunkerFirstSentenceLatency(t *testing.T) {
	// The first sentence must be released as soon as the following space arrives.
	var c Chunker
	if got := c.Push("Sure."); len(got) != 0 {
		t.Fatalf("released before seeing what follows: %q", got)
	}
	if got := c.Push(" "); !reflect.DeepEqual(got, []string{"Sure."}) {
		t.Fatalf("got %q", got)
	}
}

func BenchmarkChunker(b *testing.B) {
	tokens := strings.Fields("Thanks for calling Parley Dental. I can book, move or cancel an appointment. What would you like to do today?")
	b.ReportAllocs()
	for b.Loop() {
		var c Chunker
		for _, tok := range tokens {
			c.Push(tok + " ")
		}
		c.Flush()
	}
}
