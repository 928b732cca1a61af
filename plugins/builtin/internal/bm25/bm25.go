// Package bm25 is a small in-memory full-text index ranked with Okapi BM25,
// for knowledge bases of a few thousand passages: no dependencies, built once,
// then read-only and safe for concurrent searches.
package bm25

import (
	"cmp"
	"math"
	"slices"
)

// Default BM25 parameters: k1 saturates repeated terms, b normalises by
// document length. These are the values most search engines ship with.
const (
	DefaultK1 = 1.2
	DefaultB  = 0.75
)

// Index holds the term statistics of a fixed set of documents.
type Index struct {
	k1, b    float64
	docLen   []int
	avgLen   float64
	postings map[string][]posting
}

type posting struct {
	doc  int
	freq int
}

// Hit is one matching document: its position in the slice given to New and
// its BM25 score (always positive).
type Hit struct {
	Doc   int
	Score float64
}

// New indexes docs with DefaultK1 and DefaultB, tokenizing each with Tokenize.
func New(docs []string) *Index {
	return NewWithParams(docs, DefaultK1, DefaultB)
}

// NewWithParams indexes docs with the given k1 and b.
func NewWithParams(docs []string, k1, b float64) *Index {
	ix := &Index{k1: k1, b: b, docLen: make([]int, len(docs)), postings: map[string][]posting{}}
	total := 0
	for i, d := range docs {
		terms := Tokenize(d)
		ix.docLen[i] = len(terms)
		total += len(terms)
		freq := map[string]int{}
		for _, t := range terms {
			freq[t]++
		}
		for t, f := range freq {
			ix.postings[t] = append(ix.postings[t], posting{doc: i, freq: f})
		}
	}
	if len(docs) > 0 {
		ix.avgLen = float64(total) / float64(len(docs))
	}
	return ix
}

// Len is the number of documents indexed.
func (ix *Index) Len() int { return len(ix.docLen) }

// idf is the BM25 inverse document frequency in its non-negative form
// (Lucene's), so a term found in most documents still adds a little.
func (ix *Index) idf(df int) float64 {
	n := float64(len(ix.docLen))
	return math.Log(1 + (n-float64(df)+0.5)/(float64(df)+0.5))
}

// Search scores every document that contains at least one query term and
// returns the best limit of them (all if limit <= 0), highest score first; ties
// go to the earlier document. A query term repeated counts once.
func (ix *Index) Search(query string, limit int) []Hit {
	scores := map[int]float64{}
	seen := map[string]bool{}
	for _, t := range Tokenize(query) {
		if seen[t] {
			continue
		}
		seen[t] = true
		ps := ix.postings[t]
		if len(ps) == 0 {
			continue
		}
		idf := ix.idf(len(ps))
		for _, p := range ps {
			f := float64(p.freq)
			norm := 1 - ix.b
			if ix.avgLen > 0 {
				norm += ix.b * float64(ix.docLen[p.doc]) / ix.avgLen
			}
			scores[p.doc] += idf * f * (ix.k1 + 1) / (f + ix.k1*norm)
		}
	}
	hits := make([]Hit, 0, len(scores))
	for d, s := range scores {
		hits = append(hits, Hit{Doc: d, Score: s})
	}
	slices.SortFunc(hits, func(a, b Hit) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return cmp.Compare(a.Doc, b.Doc)
	})
	if limit > 0 && len(hits) > limit {
		hits = hits[:limit]
	}
	return hits
}
