package builtin

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultEmbeddingsTimeout bounds one request to the embeddings endpoint. It is
// short because re-ranking is optional: on timeout, knowledge_search answers
// in keyword order rather than miss the turn.
const DefaultEmbeddingsTimeout = 2 * time.Second

// maxEmbeddingsResponse caps the body read from the embeddings endpoint (21
// vectors of a few thousand floats fit many times over).
const maxEmbeddingsResponse = 32 << 20

// embeddingOptions configure re-ranking by an OpenAI-compatible embeddings
// endpoint.
type embeddingOptions struct {
	BaseURL string   `json:"base_url"`
	Model   string   `json:"model"`
	APIKey  string   `json:"api_key"`
	Timeout duration `json:"timeout"`
}

// embedder calls POST {base_url}/embeddings and caches the unit vectors of
// chunks, which never change, by chunk number.
type embedder struct {
	endpoint  string // base_url + "/embeddings"
	origin    string // scheme://host, the only part errors show
	model     string
	apiKey    string
	timeout   time.Duration
	client    *http.Client
	transport *http.Transport

	mu    sync.Mutex
	cache map[int][]float64
}

func newEmbedder(o embeddingOptions) (*embedder, error) {
	const opt = "embeddings"
	base := strings.TrimRight(strings.TrimSpace(o.BaseURL), "/")
	if base == "" {
		return nil, knowledgeOption(opt, "base_url is required")
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, knowledgeOption(opt, "base_url must be an http or https URL such as https://api.openai.com/v1")
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, knowledgeOption(opt, "base_url must not hold credentials, a query or a fragment; put the key in api_key")
	}
	if strings.TrimSpace(o.Model) == "" {
		return nil, knowledgeOption(opt, "model is required")
	}
	if strings.ContainsAny(o.APIKey, "\r\n\x00") {
		return nil, knowledgeOption(opt, "api_key contains a line break or NUL")
	}
	timeout := time.Duration(o.Timeout)
	switch {
	case timeout < 0:
		return nil, knowledgeOption(opt, "timeout must not be negative")
	case timeout > time.Minute:
		return nil, knowledgeOption(opt, "timeout must be at most 1m")
	case timeout == 0:
		timeout = DefaultEmbeddingsTimeout
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 4
	return &embedder{
		endpoint:  base + "/embeddings",
		origin:    u.Scheme + "://" + u.Host,
		model:     strings.TrimSpace(o.Model),
		apiKey:    o.APIKey,
		timeout:   timeout,
		transport: transport,
		client:    &http.Client{Transport: transport},
		cache:     map[int][]float64{},
	}, nil
}

func (e *embedder) close() { e.transport.CloseIdleConnections() }

// rerank orders candidates by the cosine similarity of their embedding to the
// query's, embedding in one request the query and the chunks not yet cached.
// Scores become the similarity, rounded to three places.
func (e *embedder) rerank(ctx context.Context, query string, chunks []knowledgeChunk, cands []scored) ([]scored, error) {
	inputs := []string{query}
	var missing []int
	vecs := make([][]float64, len(cands))
	e.mu.Lock()
	for i, c := range cands {
		if v, ok := e.cache[c.chunk]; ok {
			vecs[i] = v
		} else {
			missing = append(missing, i)
			inputs = append(inputs, chunks[c.chunk].indexText())
		}
	}
	e.mu.Unlock()
	got, err := e.embed(ctx, inputs)
	if err != nil {
		return nil, err
	}
	q := got[0]
	e.mu.Lock()
	for j, i := range missing {
		vecs[i] = got[j+1]
		e.cache[cands[i].chunk] = got[j+1]
	}
	e.mu.Unlock()
	out := make([]scored, len(cands))
	for i, c := range cands {
		if len(vecs[i]) != len(q) {
			return nil, fmt.Errorf("embeddings endpoint %s: vectors of %d and %d dimensions (did the model change?)", e.origin, len(q), len(vecs[i]))
		}
		var dot float64
		for k := range q {
			dot += q[k] * vecs[i][k]
		}
		out[i] = scored{chunk: c.chunk, score: math.Round(dot*1000) / 1000}
	}
	// Stable: equal similarities keep their BM25 order.
	slices.SortStableFunc(out, func(a, b scored) int { return cmp.Compare(b.score, a.score) })
	return out, nil
}

// embed posts inputs and returns one unit vector per input, in order.
func (e *embedder) embed(ctx context.Context, inputs []string) ([][]float64, error) {
	timeout := e.timeout
	if dl, ok := ctx.Deadline(); ok {
		// Leave the tool a fifth of its remaining time to answer without
		// re-ranking if the endpoint is slow.
		timeout = min(timeout, time.Until(dl)*4/5)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	body, _ := json.Marshal(map[string]any{"model": e.model, "input": inputs})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("embeddings endpoint %s: %w", e.origin, errorWithoutURL(err))
	}
	req.Header.Set("Content-Type", "application/json")
	if e.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+e.apiKey)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("embeddings endpoint %s: %w", e.origin, errorWithoutURL(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxEmbeddingsResponse+1))
	if err != nil {
		return nil, fmt.Errorf("embeddings endpoint %s: reading response: %w", e.origin, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("embeddings endpoint %s: HTTP %d", e.origin, resp.StatusCode)
	}
	if len(raw) > maxEmbeddingsResponse {
		return nil, fmt.Errorf("embeddings endpoint %s: response larger than %d bytes", e.origin, maxEmbeddingsResponse)
	}
	var r struct {
		Data []struct {
			Embedding []float64 `json:"embedding"`
			Index     *int      `json:"index"`
		} `json:"data"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("embeddings endpoint %s: response is not an embeddings list: %v", e.origin, err)
	}
	if len(r.Data) != len(inputs) {
		return nil, fmt.Errorf("embeddings endpoint %s: %d embeddings for %d inputs", e.origin, len(r.Data), len(inputs))
	}
	out := make([][]float64, len(inputs))
	dims := -1
	for i, d := range r.Data {
		at := i
		if d.Index != nil {
			at = *d.Index
		}
		if at < 0 || at >= len(out) || out[at] != nil {
			return nil, fmt.Errorf("embeddings endpoint %s: bad or repeated index %d", e.origin, at)
		}
		v, err := unit(d.Embedding)
		if err != nil {
			return nil, fmt.Errorf("embeddings endpoint %s: embedding %d: %w", e.origin, at, err)
		}
		if dims >= 0 && len(v) != dims {
			return nil, fmt.Errorf("embeddings endpoint %s: embeddings of different sizes", e.origin)
		}
		dims = len(v)
		out[at] = v
	}
	return out, nil
}

// unit scales v to length 1, so that cosine similarity is a dot product.
func unit(v []float64) ([]float64, error) {
	var norm float64
	for _, x := range v {
		norm += x * x
	}
	norm = math.Sqrt(norm)
	if len(v) == 0 || norm == 0 || math.IsNaN(norm) || math.IsInf(norm, 0) {
		return nil, errors.New("empty, zero or non-finite vector")
	}
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = x / norm
	}
	return out, nil
}
