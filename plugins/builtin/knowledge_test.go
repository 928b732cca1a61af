package builtin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/parley-voice/parley/plugins"
)

const knowledgeDir = "testdata/knowledge/dental"

func newKnowledgeTool(t *testing.T, opts string) plugins.Tool {
	t.Helper()
	tool, err := NewKnowledgeSearch(json.RawMessage(opts))
	if err != nil {
		t.Fatalf("NewKnowledgeSearch(%s): %v", opts, err)
	}
	t.Cleanup(func() { tool.(io.Closer).Close() })
	return tool
}

func search(t *testing.T, tool plugins.Tool, query string) knowledgeAnswer {
	t.Helper()
	args, _ := json.Marshal(map[string]string{"query": query})
	res, err := plugins.Run(context.Background(), tool, args, 5*time.Second, 0)
	if err != nil {
		t.Fatalf("query %q: %v", query, err)
	}
	var ans struct {
		Results *[]knowledgeResult `json:"results"`
		Note    string             `json:"note"`
	}
	dec := json.NewDecoder(strings.NewReader(res.Content))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ans); err != nil {
		t.Fatalf("query %q: content %s: %v", query, res.Content, err)
	}
	if ans.Results == nil {
		t.Fatalf("query %q: content %s has no results list", query, res.Content)
	}
	return knowledgeAnswer{Results: *ans.Results, Note: ans.Note}
}

func TestChunkDocument(t *testing.T) {
	md := "Intro line.\n\n# Title\n\n## Hours ##\nOpen 8 to 6.\n\nClosed Sunday.\n\n```\n# not a heading\n```\n\nSetext\n------\nUnder setext.\n\n---\n\n### Deep\nDeep text.\n## Empty\n"
	got := chunkDocument(knowledgeDoc{source: "a.md", text: md}, 800, true)
	want := []knowledgeChunk{
		{source: "a.md", text: "Intro line."},
		{source: "a.md", section: "Hours", trail: "Title > Hours", text: "Open 8 to 6.\n\nClosed Sunday.\n\n```\n# not a heading\n```"},
		{source: "a.md", section: "Setext", trail: "Title > Setext", text: "Under setext."},
		{source: "a.md", section: "Deep", trail: "Title > Setext > Deep", text: "Deep text."},
	}
	if !slices.Equal(got, want) {
		t.Errorf("chunks:\n got %q\nwant %q", got, want)
	}
	// Text files have no headings; CRLF is a line break.
	got = chunkDocument(knowledgeDoc{source: "b.txt", text: "# not a heading\r\nsame paragraph\r\n\r\nnext"}, 800, false)
	want = []knowledgeChunk{{source: "b.txt", text: "# not a heading\nsame paragraph\n\nnext"}}
	if !slices.Equal(got, want) {
		t.Errorf("text chunks:\n got %q\nwant %q", got, want)
	}
}

func TestChunkDocumentSizes(t *testing.T) {
	para := strings.Repeat("word ", 30) // 150 runes
	text := "## S\n\n" + para + "\n\n" + para + "\n\n" + para + "\n\n" +
		strings.Repeat("Sentence number one is here. ", 20) + "\n\n" + strings.Repeat("é", 450)
	chunks := chunkDocument(knowledgeDoc{source: "s.md", text: text}, 320, true)
	var total int
	for i, c := range chunks {
		n := utf8.RuneCountInString(c.text)
		if n > 320 || n == 0 || c.section != "S" {
			t.Errorf("chunk %d: %d runes, section %q", i, n, c.section)
		}
		total += len(strings.Fields(c.text))
	}
	// Two 150-rune paragraphs fit in 320 with their separator, three do not.
	if len(chunks) < 5 || chunks[0].text != strings.TrimSpace(para)+"\n\n"+strings.TrimSpace(para) {
		t.Fatalf("got %d chunks, first %q", len(chunks), chunks[0].text)
	}
	// Long paragraphs are cut after a sentence where there is one.
	if c := chunks[2].text; !strings.HasSuffix(c, "here.") {
		t.Errorf("sentence cut: %q", c)
	}
	if want := 90 + 20*5 + 1; total < want-2 {
		t.Errorf("words kept: %d, want about %d", total, want)
	}
}

func TestLoadKnowledge(t *testing.T) {
	docs, err := loadKnowledge(knowledgeDir, knowledgeLimits{file: 1 << 20, total: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	var sources []string
	for _, d := range docs {
		sources = append(sources, d.source)
	}
	// Hidden files and folders and other extensions are skipped.
	if want := []string{"directions.txt", "faq.md", "insurance.markdown"}; !slices.Equal(sources, want) {
		t.Errorf("sources = %v, want %v", sources, want)
	}
	_, err = loadKnowledge(knowledgeDir, knowledgeLimits{file: 1 << 20, total: 1200})
	if err == nil || !strings.Contains(err.Error(), "documents add up to more than the 1200 bytes allowed in all") {
		t.Errorf("total limit: err = %v", err)
	}
	_, err = loadKnowledge(knowledgeDir, knowledgeLimits{file: 1000, total: 1 << 20})
	if err == nil || !strings.Contains(err.Error(), "faq.md is 1026 bytes, more than the 1000 allowed per file") {
		t.Errorf("file limit: err = %v", err)
	}
}

func TestKnowledgeSearchRanking(t *testing.T) {
	tool := newKnowledgeTool(t, `{"dir":"`+knowledgeDir+`"}`)
	tests := []struct {
		query, source, section string
	}{
		{"When are you open on Saturday?", "faq.md", "Opening hours"},
		{"how much does a cleaning cost", "faq.md", "Prices"},
		{"prices of fillings", "faq.md", "Prices"},
		{"I need to cancel my appointment tomorrow", "faq.md", "Cancellation policy"},
		{"is there a fee if I don't come", "faq.md", "Cancellation policy"},
		{"Is there parking at the clinic?", "faq.md", "Parking"},
		{"which insurance plans do you bill directly", "insurance.markdown", "Plans we bill directly"},
		{"which bus goes to the clinic", "directions.txt", ""},
	}
	for _, tt := range tests {
		ans := search(t, tool, tt.query)
		if len(ans.Results) == 0 || ans.Note != "" {
			t.Errorf("%q: %+v", tt.query, ans)
			continue
		}
		first := ans.Results[0]
		if first.Source != tt.source || first.Section != tt.section {
			t.Errorf("%q: first is %s / %q, want %s / %q", tt.query, first.Source, first.Section, tt.source, tt.section)
		}
		if len(ans.Results) > DefaultKnowledgeMaxResults {
			t.Errorf("%q: %d results", tt.query, len(ans.Results))
		}
		for i, r := range ans.Results {
			if r.Score <= 0 || (i > 0 && r.Score > ans.Results[i-1].Score) || r.Text == "" || r.Truncated {
				t.Errorf("%q: result %d = %+v", tt.query, i, r)
			}
		}
	}
	// The section text is returned without its heading line.
	ans := search(t, tool, "opening hours")
	if !strings.HasPrefix(ans.Results[0].Text, "We are open Monday to Friday") {
		t.Errorf("text = %q", ans.Results[0].Text)
	}
}

func TestKnowledgeNothingFound(t *testing.T) {
	tool := newKnowledgeTool(t, `{"dir":"`+knowledgeDir+`"}`)
	for _, q := range []string{"xylophone quantum", "what is the", "?!"} {
		ans := search(t, tool, q)
		if len(ans.Results) != 0 || ans.Note != noteNothingFound {
			t.Errorf("%q: %+v", q, ans)
		}
	}
	res, err := plugins.Run(context.Background(), tool, json.RawMessage(`{"query":"xylophone"}`), 0, 0)
	if err != nil || res.Content != `{"results":[],"note":"`+noteNothingFound+`"}` {
		t.Errorf("content = %s, %v", res.Content, err)
	}
}

func TestKnowledgeArguments(t *testing.T) {
	tool := newKnowledgeTool(t, `{"dir":"`+knowledgeDir+`"}`)
	tests := []struct{ args, want string }{
		{`{}`, `argument "query": missing required field`},
		{`{"query":"   "}`, `argument "query": must not be empty`},
		{`{"query":"` + strings.Repeat("ö", 501) + `"}`, `argument "query": must be at most 500 characters`},
		{`{"query":5}`, `argument "query": must be a string`},
		{`{"query":"x","top":3}`, `argument "top": unknown field`},
	}
	for _, tt := range tests {
		_, err := plugins.Run(context.Background(), tool, json.RawMessage(tt.args), 0, 0)
		if !errors.Is(err, plugins.ErrBadArguments) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%.40s: err = %v, want %q", tt.args, err, tt.want)
		}
	}
	if ans := search(t, tool, strings.Repeat("ö", 494)+" hours"); len(ans.Results) == 0 {
		t.Error("500-character query found nothing")
	}
	var schema struct {
		Required   []string `json:"required"`
		Properties map[string]struct {
			Type      string `json:"type"`
			MinLength int    `json:"minLength"`
			MaxLength int    `json:"maxLength"`
		} `json:"properties"`
	}
	spec := tool.Spec()
	if err := json.Unmarshal(spec.Parameters, &schema); err != nil {
		t.Fatal(err)
	}
	q := schema.Properties["query"]
	if !slices.Equal(schema.Required, []string{"query"}) || q.Type != "string" || q.MinLength != 1 || q.MaxLength != 500 {
		t.Errorf("parameters = %s", spec.Parameters)
	}
	if spec.Name != KnowledgeSearchName || spec.Description == "" {
		t.Errorf("spec = %+v", spec)
	}
}

func TestKnowledgeTruncation(t *testing.T) {
	tests := []struct {
		name     string
		opts     string
		query    string
		results  int
		maxChars int
	}{
		// The second passage is cut to what is left of 300 characters.
		{"second cut", `"max_chars":300,"max_results":3`, "parking hours", 2, 300},
		// A single passage longer than max_chars is cut rather than dropped.
		{"first cut", `"max_chars":100,"max_results":3`, "opening hours", 1, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tool := newKnowledgeTool(t, `{"dir":"`+knowledgeDir+`",`+tt.opts+`}`)
			ans := search(t, tool, tt.query)
			if len(ans.Results) != tt.results {
				t.Fatalf("%d results: %+v", len(ans.Results), ans.Results)
			}
			total := 0
			for _, r := range ans.Results {
				total += utf8.RuneCountInString(r.Text)
			}
			last := ans.Results[len(ans.Results)-1]
			if total > tt.maxChars || total < tt.maxChars-40 || !last.Truncated || !strings.HasSuffix(last.Text, "…") {
				t.Errorf("total %d chars, last %+v", total, last)
			}
			for _, r := range ans.Results[:len(ans.Results)-1] {
				if r.Truncated {
					t.Errorf("earlier result truncated: %+v", r)
				}
			}
		})
	}
	// Untruncated, the same query returns whole passages.
	tool := newKnowledgeTool(t, `{"dir":"`+knowledgeDir+`","max_results":3}`)
	for _, r := range search(t, tool, "parking hours").Results {
		if r.Truncated || strings.HasSuffix(r.Text, "…") {
			t.Errorf("cut without need: %+v", r)
		}
	}
}

func TestKnowledgeOptionErrors(t *testing.T) {
	tmp := t.TempDir()
	mkdir := func(name string, files map[string][]byte) string {
		dir := filepath.Join(tmp, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for f, b := range files {
			if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	empty := mkdir("empty", map[string][]byte{"notes.pdf": []byte("x"), ".secret.md": []byte("# x")})
	latin1 := mkdir("latin1", map[string][]byte{"ok.md": []byte("# fine"), "caf\u00e9.txt": []byte("caf\xe9 au lait")})
	big := mkdir("big", map[string][]byte{"huge.md": bytes.Repeat([]byte("a "), maxKnowledgeFileBytes/2+1)})
	blank := mkdir("blank", map[string][]byte{"a.md": []byte("# Only a heading\n\n   \n")})
	file := filepath.Join(latin1, "ok.md")
	dir := `"dir":"` + knowledgeDir + `"`
	tests := []struct{ opts, want string }{
		{``, `option "dir": is required`},
		{`{"max_results":2}`, `option "dir": is required`},
		{`[]`, `options: must be a JSON object`},
		{`{"dir":"` + filepath.Join(tmp, "nope") + `"}`, `does not exist`},
		{`{"dir":"` + file + `"}`, `is not a directory`},
		{`{"dir":"` + empty + `"}`, `holds no documents (.md, .markdown, .txt)`},
		{`{"dir":"` + latin1 + `"}`, `café.txt is not UTF-8 text`},
		{`{"dir":"` + big + `"}`, `huge.md is 5242882 bytes, more than the 5242880 allowed per file`},
		{`{"dir":"` + blank + `"}`, `hold no text`},
		{`{` + dir + `,"folder":"x"}`, `unknown option "folder"`},
		{`{` + dir + `,"max_results":-1}`, `option "max_results": must be between 1 and 20`},
		{`{` + dir + `,"max_results":21}`, `option "max_results": must be between 1 and 20`},
		{`{` + dir + `,"max_results":"3"}`, `option "max_results": want an integer, not a JSON string`},
		{`{` + dir + `,"max_chars":50}`, `option "max_chars": must be between 100 and 20000`},
		{`{` + dir + `,"chunk_chars":99999}`, `option "chunk_chars": must be between 100 and 8000`},
		{`{` + dir + `,"embeddings":{"model":"m"}}`, `option "embeddings": base_url is required`},
		{`{` + dir + `,"embeddings":{"base_url":"ftp://x","model":"m"}}`, `base_url must be an http or https URL`},
		{`{` + dir + `,"embeddings":{"base_url":"https://u:p@x.example.com/v1","model":"m"}}`, `must not hold credentials`},
		{`{` + dir + `,"embeddings":{"base_url":"https://x.example.com/v1"}}`, `option "embeddings": model is required`},
		{`{` + dir + `,"embeddings":{"base_url":"https://x.example.com/v1","model":"m","key":"k"}}`, `unknown option "key"`},
		{`{` + dir + `,"embeddings":{"base_url":"https://x.example.com/v1","model":"m","timeout":"-1s"}}`, `timeout must not be negative`},
		{`{` + dir + `,"embeddings":{"base_url":"https://x.example.com/v1","model":"m","timeout":"2m"}}`, `timeout must be at most 1m`},
	}
	for _, tt := range tests {
		_, err := NewKnowledgeSearch(json.RawMessage(tt.opts))
		if !errors.Is(err, plugins.ErrBadOptions) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%.120s:\n  err = %v\n  want %q", tt.opts, err, tt.want)
		}
	}
}

// fakeEmbeddings is an OpenAI-compatible embeddings server with deterministic
// vectors: texts that mention parking point one way, everything else the
// other, and the query "price of parking" points at parking. It records the
// inputs of each request.
type fakeEmbeddings struct {
	mu       sync.Mutex
	requests [][]string
	status   int           // answer with this status instead, if set
	body     string        // answer with this body instead, if set
	delay    time.Duration // wait before answering
	auth     string
}

func (f *fakeEmbeddings) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Model string   `json:"model"`
		Input []string `json:"input"`
	}
	if r.Method != http.MethodPost || r.URL.Path != "/v1/embeddings" || json.NewDecoder(r.Body).Decode(&req) != nil || req.Model != "test-embed" {
		http.Error(w, `{"error":{"message":"bad request"}}`, http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.requests = append(f.requests, req.Input)
	f.auth = r.Header.Get("Authorization")
	status, body, delay := f.status, f.body, f.delay
	f.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	if status != 0 {
		w.WriteHeader(status)
	}
	if body != "" || status != 0 {
		fmt.Fprint(w, body)
		return
	}
	type item struct {
		Object    string    `json:"object"`
		Index     int       `json:"index"`
		Embedding []float64 `json:"embedding"`
	}
	out := struct {
		Object string `json:"object"`
		Data   []item `json:"data"`
		Model  string `json:"model"`
	}{Object: "list", Model: req.Model}
	// Answer in reverse order: the index field, not the position, says which
	// input a vector belongs to.
	for i := len(req.Input) - 1; i >= 0; i-- {
		v := []float64{1, 0.1}
		if strings.Contains(strings.ToLower(req.Input[i]), "parking") {
			v = []float64{0.1, 1}
		}
		out.Data = append(out.Data, item{Object: "embedding", Index: i, Embedding: v})
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}

func (f *fakeEmbeddings) seen() [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

func rerankTool(t *testing.T, f *fakeEmbeddings, extra string) plugins.Tool {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return newKnowledgeTool(t, fmt.Sprintf(`{"dir":%q,"max_results":2,
		"embeddings":{"base_url":"%s/v1/","model":"test-embed","api_key":%q%s}}`, knowledgeDir, srv.URL, secret, extra))
}

func sections(ans knowledgeAnswer) []string {
	var s []string
	for _, r := range ans.Results {
		s = append(s, r.Section)
	}
	return s
}

func TestKnowledgeRerank(t *testing.T) {
	const query = "prices prices, cost of parking"
	plain := newKnowledgeTool(t, `{"dir":"`+knowledgeDir+`","max_results":2}`)
	if got := sections(search(t, plain, query)); !slices.Equal(got, []string{"Prices", "Parking"}) {
		t.Fatalf("BM25 order = %v, want Prices then Parking", got)
	}

	f := &fakeEmbeddings{}
	tool := rerankTool(t, f, "")
	ans := search(t, tool, query)
	if got := sections(ans); !slices.Equal(got, []string{"Parking", "Prices"}) || ans.Note != "" {
		t.Fatalf("re-ranked = %v (%+v), want Parking then Prices", got, ans)
	}
	if ans.Results[0].Score != 1 || ans.Results[1].Score >= 1 {
		t.Errorf("scores = %v, %v; want cosine 1 for the parking passage", ans.Results[0].Score, ans.Results[1].Score)
	}
	reqs := f.seen()
	// One request: the query and every BM25 candidate (up to 20).
	if len(reqs) != 1 || reqs[0][0] != query || len(reqs[0]) < 3 || len(reqs[0]) > rerankCandidates+1 {
		t.Fatalf("requests = %q", reqs)
	}
	if f.auth != "Bearer "+secret {
		t.Errorf("Authorization = %q", f.auth)
	}
	// Chunk embeddings are cached: the second search sends only its query.
	search(t, tool, query)
	if reqs = f.seen(); len(reqs) != 2 || !slices.Equal(reqs[1], []string{query}) {
		t.Errorf("second request inputs = %q", reqs[len(reqs)-1])
	}
	// Nothing found by keywords: no request at all.
	if ans := search(t, tool, "xylophone"); len(ans.Results) != 0 || len(f.seen()) != 2 {
		t.Errorf("%+v after %d requests", ans, len(f.seen()))
	}
}

func TestKnowledgeRerankFallback(t *testing.T) {
	const query = "prices prices, cost of parking"
	tests := []struct {
		name  string
		f     *fakeEmbeddings
		extra string
	}{
		{"HTTP 500", &fakeEmbeddings{status: http.StatusInternalServerError, body: `{"error":{"message":"overloaded"}}`}, ""},
		{"HTTP 429", &fakeEmbeddings{status: http.StatusTooManyRequests}, ""},
		{"not JSON", &fakeEmbeddings{status: http.StatusOK, body: `<html>`}, ""},
		{"too few vectors", &fakeEmbeddings{status: http.StatusOK, body: `{"data":[{"embedding":[1,0]}]}`}, ""},
		{"zero vector", &fakeEmbeddings{status: http.StatusOK, body: `{"data":[{"embedding":[1,0]},{"embedding":[0,0]},{"embedding":[0,1]}]}`}, ""},
		{"slow", &fakeEmbeddings{delay: 5 * time.Second}, `,"timeout":"150ms"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tool := rerankTool(t, tt.f, tt.extra)
			start := time.Now()
			ans := search(t, tool, query)
			if got := sections(ans); !slices.Equal(got, []string{"Prices", "Parking"}) || ans.Note != noteRerankFallback {
				t.Errorf("answer = %v, note %q; want BM25 order and the fallback note", got, ans.Note)
			}
			if ans.Results[0].Score <= 1 {
				t.Errorf("score %v is not the BM25 score", ans.Results[0].Score)
			}
			if time.Since(start) > 3*time.Second {
				t.Errorf("took %v", time.Since(start))
			}
			if len(tt.f.seen()) != 1 {
				t.Errorf("%d requests", len(tt.f.seen()))
			}
		})
	}
	// A call cancelled while waiting (barge-in) is an error, not a fallback.
	tool := rerankTool(t, &fakeEmbeddings{delay: 5 * time.Second}, "")
	ctx, cancel := context.WithCancel(context.Background())
	timer := time.AfterFunc(100*time.Millisecond, cancel)
	defer timer.Stop()
	_, err := tool.Call(ctx, json.RawMessage(`{"query":"parking"}`))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want the context's error", err)
	}
}

func TestKnowledgeEmbeddingErrorsHideKey(t *testing.T) {
	f := &fakeEmbeddings{status: http.StatusUnauthorized}
	tool := rerankTool(t, f, "")
	_, err := tool.(*knowledgeTool).emb.embed(context.Background(), []string{"x"})
	if err == nil || !strings.Contains(err.Error(), "HTTP 401") || strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "/v1") {
		t.Errorf("err = %v", err)
	}
	for _, s := range []string{fmt.Sprint(tool), fmt.Sprintf("%+v", tool), fmt.Sprintf("%#v", tool)} {
		if strings.Contains(s, secret) || !strings.HasPrefix(s, "knowledge_search(") {
			t.Errorf("formatted tool = %s", s)
		}
	}
}

func TestKnowledgeThroughEnvironment(t *testing.T) {
	if !slices.Contains(plugins.Default().Names(), KnowledgeSearchName) {
		t.Fatalf("%s not registered in Default: %v", KnowledgeSearchName, plugins.Default().Names())
	}
	ts, err := plugins.Default().Build([]plugins.Ref{
		{Name: EndCallName},
		{Name: KnowledgeSearchName, As: "clinic_faq", Description: "Answers questions about the clinic.",
			Options: json.RawMessage(`{"dir":"` + knowledgeDir + `","max_results":1,"max_chars":1500,"chunk_chars":800}`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	tool, ok := ts.Lookup("clinic_faq")
	if !ok {
		t.Fatal("clinic_faq missing")
	}
	if spec := tool.Spec(); spec.Description != "Answers questions about the clinic." {
		t.Errorf("spec = %+v", spec)
	}
	res, err := plugins.Run(context.Background(), tool, json.RawMessage(`{"query":"parking"}`), ts.Timeout("clinic_faq"), 0)
	if err != nil {
		t.Fatal(err)
	}
	var ans knowledgeAnswer
	if err := json.Unmarshal([]byte(res.Content), &ans); err != nil || len(ans.Results) != 1 || ans.Results[0].Section != "Parking" {
		t.Errorf("content = %s (%v)", res.Content, err)
	}
	_, err = plugins.Run(context.Background(), tool, json.RawMessage(`{}`), 0, 0)
	if !errors.Is(err, plugins.ErrBadArguments) || !strings.HasPrefix(err.Error(), `tool "clinic_faq": argument "query": missing required field`) {
		t.Errorf("err = %v", err)
	}
	_, err = plugins.Default().Build([]plugins.Ref{{Name: KnowledgeSearchName, Options: json.RawMessage(`{"dir":"testdata/none"}`)}})
	if !errors.Is(err, plugins.ErrBadOptions) || !strings.HasPrefix(err.Error(), `tool ref 0 ("knowledge_search"): `) {
		t.Errorf("err = %v", err)
	}
}

// FuzzChunkDocument checks that any text chunks without panicking into
// non-empty passages no longer than the chunk size.
func FuzzChunkDocument(f *testing.F) {
	for _, s := range []string{"", "# a\nb", "a\n===\n\n---\n", "```\n# x\n", strings.Repeat("long words ", 100), "é. è! ê? \n\n\t#\n##x"} {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, text string, markdown bool) {
		if !utf8.ValidString(text) {
			return
		}
		for _, c := range chunkDocument(knowledgeDoc{source: "f.md", text: text}, 100, markdown) {
			n := utf8.RuneCountInString(c.text)
			if n == 0 || n > 100 || strings.TrimSpace(c.text) != c.text {
				t.Fatalf("chunk %q (%d runes)", c.text, n)
			}
		}
	})
}
