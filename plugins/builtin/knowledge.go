package builtin

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/parley-voice/parley/plugins"
	"github.com/parley-voice/parley/plugins/builtin/internal/bm25"
)

// KnowledgeSearchName is the registered name of the knowledge_search tool.
const KnowledgeSearchName = "knowledge_search"

func init() {
	must(plugins.Register(KnowledgeSearchName, NewKnowledgeSearch))
}

// Defaults and limits of knowledge_search options.
const (
	DefaultKnowledgeMaxResults = 3
	DefaultKnowledgeMaxChars   = 1500
	DefaultKnowledgeChunkChars = 800
	maxKnowledgeResults        = 20
	minKnowledgeChars          = 100
	maxKnowledgeChars          = 20000
	maxKnowledgeChunkChars     = 8000
	maxKnowledgeQueryChars     = 500
	// rerankCandidates is how many BM25 hits embeddings re-rank.
	rerankCandidates = 20
)

// knowledgeOptions are the options of knowledge_search as an agent config
// gives them.
type knowledgeOptions struct {
	Dir        string            `json:"dir"`
	MaxResults int               `json:"max_results"`
	MaxChars   int               `json:"max_chars"`
	ChunkChars int               `json:"chunk_chars"`
	Embeddings *embeddingOptions `json:"embeddings"`
}

type knowledgeArgs struct {
	Query string `json:"query" jsonschema:"minLength=1,maxLength=500" jsonschema_description:"What to look up, in a few words or a question, e.g. opening hours on Saturday"`
}

// NewKnowledgeSearch is the factory of the knowledge_search tool, which
// answers from a folder of Markdown and text documents. Options:
//
//   - dir (required): the folder; every .md, .markdown and .txt file under it
//     is loaded when the agent is provisioned (hidden files skipped; at most
//     5 MiB a file and 50 MiB in all; UTF-8 only). A relative dir is relative
//     to the server's working directory.
//   - max_results: passages returned, default 3 (1–20).
//   - max_chars: total characters of passage text returned, default 1500
//     (100–20000); the last passage is cut at a word to fit.
//   - chunk_chars: target passage size, default 800 (100–8000). Passages
//     follow headings and paragraphs.
//   - embeddings: {base_url, model, api_key, timeout} of an OpenAI-compatible
//     embeddings endpoint that re-ranks the best 20 keyword matches by meaning.
//
// Passages are ranked with BM25. The result is JSON
// {"results":[{"source","section","text","score"}], "note"}; no match gives
// empty results and a note, and a failing embeddings endpoint gives the
// keyword order with a note saying so, never an error.
func NewKnowledgeSearch(opts json.RawMessage) (plugins.Tool, error) {
	var o knowledgeOptions
	if err := decodeOptions(KnowledgeSearchName, opts, &o); err != nil {
		return nil, err
	}
	if strings.TrimSpace(o.Dir) == "" {
		return nil, knowledgeOption("dir", "is required")
	}
	var err error
	if o.MaxResults, err = intOption("max_results", o.MaxResults, DefaultKnowledgeMaxResults, 1, maxKnowledgeResults); err != nil {
		return nil, err
	}
	if o.MaxChars, err = intOption("max_chars", o.MaxChars, DefaultKnowledgeMaxChars, minKnowledgeChars, maxKnowledgeChars); err != nil {
		return nil, err
	}
	if o.ChunkChars, err = intOption("chunk_chars", o.ChunkChars, DefaultKnowledgeChunkChars, 100, maxKnowledgeChunkChars); err != nil {
		return nil, err
	}
	var emb *embedder
	if o.Embeddings != nil {
		if emb, err = newEmbedder(*o.Embeddings); err != nil {
			return nil, err
		}
	}
	docs, err := loadKnowledge(o.Dir, knowledgeLimits{file: maxKnowledgeFileBytes, total: maxKnowledgeTotalBytes})
	if err != nil {
		return nil, knowledgeOption("dir", "%v", err)
	}
	t := &knowledgeTool{dir: o.Dir, maxResults: o.MaxResults, maxChars: o.MaxChars, emb: emb}
	var texts []string
	for _, d := range docs {
		for _, c := range chunkDocument(d, o.ChunkChars, isMarkdown(d.source)) {
			t.chunks = append(t.chunks, c)
			texts = append(texts, c.indexText())
		}
	}
	if len(t.chunks) == 0 {
		return nil, knowledgeOption("dir", "the documents in %q hold no text", o.Dir)
	}
	t.index = bm25.New(texts)
	t.Tool, err = plugins.NewFunc(KnowledgeSearchName,
		"Search the knowledge base for passages that answer the caller's question. Answer from the passages returned; if nothing relevant is found, say you do not know rather than guessing.",
		t.search)
	if err != nil {
		return nil, err
	}
	return t, nil
}

func knowledgeOption(name, format string, a ...any) error {
	return fmt.Errorf("%w: %s option %q: %s", plugins.ErrBadOptions, KnowledgeSearchName, name, fmt.Sprintf(format, a...))
}

// intOption applies a default to an unset (zero) integer option and checks
// its range.
func intOption(name string, v, def, lo, hi int) (int, error) {
	if v == 0 {
		return def, nil
	}
	if v < lo || v > hi {
		return 0, knowledgeOption(name, "must be between %d and %d", lo, hi)
	}
	return v, nil
}

// indexText is what BM25 and the embeddings see of a chunk: its headings too,
// so that a question matching a section title finds the section.
func (c knowledgeChunk) indexText() string {
	if c.trail == "" {
		return c.text
	}
	return c.trail + "\n\n" + c.text
}

// knowledgeTool is knowledge_search over one loaded folder. The index and
// chunks are read-only after the factory returns; only the embeddings cache
// changes, under its own lock.
type knowledgeTool struct {
	plugins.Tool // the NewFunc wrapper around search
	dir          string
	maxResults   int
	maxChars     int
	chunks       []knowledgeChunk
	index        *bm25.Index
	emb          *embedder // nil without re-ranking
}

// knowledgeAnswer is the content fed back to the model.
type knowledgeAnswer struct {
	Results []knowledgeResult `json:"results"`
	Note    string            `json:"note,omitempty"`
}

type knowledgeResult struct {
	Source    string  `json:"source"`
	Section   string  `json:"section,omitempty"`
	Text      string  `json:"text"`
	Score     float64 `json:"score"`
	Truncated bool    `json:"truncated,omitempty"`
}

// Notes in answers.
const (
	noteNothingFound   = "nothing found in the knowledge base for this query"
	noteRerankFallback = "re-ranking by embeddings failed, so results are in keyword (BM25) order"
)

// scored is a chunk and the score it is ranked by.
type scored struct {
	chunk int
	score float64
}

func (t *knowledgeTool) search(ctx context.Context, a knowledgeArgs) (any, error) {
	q := strings.TrimSpace(a.Query)
	if q == "" {
		return nil, fmt.Errorf("%w: argument \"query\": must not be empty", plugins.ErrBadArguments)
	}
	if utf8.RuneCountInString(q) > maxKnowledgeQueryChars {
		return nil, fmt.Errorf("%w: argument \"query\": must be at most %d characters", plugins.ErrBadArguments, maxKnowledgeQueryChars)
	}
	limit := t.maxResults
	if t.emb != nil {
		limit = max(limit, rerankCandidates)
	}
	hits := t.index.Search(q, limit)
	ans := knowledgeAnswer{Results: []knowledgeResult{}}
	if len(hits) == 0 {
		ans.Note = noteNothingFound
		return ans, nil
	}
	ranked := make([]scored, len(hits))
	for i, h := range hits {
		ranked[i] = scored{chunk: h.Doc, score: math.Round(h.Score*100) / 100}
	}
	if t.emb != nil {
		reranked, err := t.emb.rerank(ctx, q, t.chunks, ranked)
		switch {
		case err == nil:
			ranked = reranked
		case ctx.Err() != nil:
			return nil, ctx.Err()
		default:
			slog.WarnContext(ctx, "knowledge_search: re-ranking failed, using BM25 order", "err", err)
			ans.Note = noteRerankFallback
		}
	}
	if len(ranked) > t.maxResults {
		ranked = ranked[:t.maxResults]
	}
	ans.Results = t.fit(ranked)
	return ans, nil
}

// fit turns ranked chunks into results whose texts add up to at most
// maxChars characters: the passage that does not fit is cut at a word (if
// enough room is left to be worth it) and the rest are dropped.
func (t *knowledgeTool) fit(ranked []scored) []knowledgeResult {
	const minUseful = 80
	budget := t.maxChars
	out := []knowledgeResult{}
	for _, r := range ranked {
		c := t.chunks[r.chunk]
		res := knowledgeResult{Source: c.source, Section: c.section, Text: c.text, Score: r.score}
		if n := utf8.RuneCountInString(c.text); n <= budget {
			budget -= n
			out = append(out, res)
			continue
		}
		if budget >= minUseful || len(out) == 0 {
			res.Text, res.Truncated = cutAtWord(c.text, budget), true
			out = append(out, res)
		}
		break
	}
	return out
}

// cutAtWord shortens s to at most n runes, ending at a space when one is in
// the last quarter, and marks the cut with an ellipsis (counted in n).
func cutAtWord(s string, n int) string {
	if n <= 1 {
		return "…"
	}
	cut := s[:runeOffset(s, n-1)]
	if i := strings.LastIndexAny(cut, " \n\t"); i >= len(cut)*3/4 {
		cut = cut[:i]
	}
	return strings.TrimSpace(cut) + "…"
}

// Close drops the embeddings client's idle connections.
func (t *knowledgeTool) Close() error {
	if t.emb != nil {
		t.emb.close()
	}
	return nil
}

// String describes the tool without its embeddings API key.
func (t *knowledgeTool) String() string {
	return fmt.Sprintf("knowledge_search(%s, %d passages)", t.dir, len(t.chunks))
}

// GoString is String, so %#v does not print the API key either.
func (t *knowledgeTool) GoString() string { return t.String() }

// LogValue is String for slog.
func (t *knowledgeTool) LogValue() slog.Value { return slog.StringValue(t.String()) }

var (
	_ plugins.Tool   = (*knowledgeTool)(nil)
	_ io.Closer      = (*knowledgeTool)(nil)
	_ fmt.Stringer   = (*knowledgeTool)(nil)
	_ slog.LogValuer = (*knowledgeTool)(nil)
)
