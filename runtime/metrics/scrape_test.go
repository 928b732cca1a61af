package metrics_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// families is one scrape, parsed.
type families map[string]*dto.MetricFamily

// scrape GETs url in the text format (with the bearer token when not empty)
// and parses it as Prometheus would.
func scrape(t *testing.T, url, token string) families {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("scraping %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scraping %s: status %d", url, resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing the scrape of %s: %v", url, err)
	}
	return fams
}

// scrapeHandler scrapes h in process.
func scrapeHandler(t *testing.T, h http.Handler) families {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	return scrape(t, srv.URL, "")
}

// find returns the series of family name whose labels include want ("k=v"
// pairs), or nil.
func (f families) find(name string, want ...string) *dto.Metric {
	fam := f[name]
	if fam == nil {
		return nil
	}
next:
	for _, m := range fam.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for _, kv := range want {
			k, v, _ := strings.Cut(kv, "=")
			if have[k] != v {
				continue next
			}
		}
		return m
	}
	return nil
}

// value is a counter's or gauge's value, or -1 when the series is absent.
func (f families) value(name string, labels ...string) float64 {
	m := f.find(name, labels...)
	switch {
	case m == nil:
		return -1
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Untyped != nil:
		return m.Untyped.GetValue()
	}
	return -1
}

// hist returns a histogram's count and sum (count -1 when absent).
func (f families) hist(name string, labels ...string) (count int64, sum float64) {
	m := f.find(name, labels...)
	if m == nil || m.Histogram == nil {
		return -1, 0
	}
	return int64(m.Histogram.GetSampleCount()), m.Histogram.GetSampleSum()
}

// series lists a family's series as label strings, for failure messages.
func (f families) series(name string) string {
	fam := f[name]
	if fam == nil {
		return "(no " + name + ")"
	}
	var out []string
	for _, m := range fam.Metric {
		var ls []string
		for _, l := range m.Label {
			ls = append(ls, l.GetName()+"="+l.GetValue())
		}
		out = append(out, "{"+strings.Join(ls, ",")+"}")
	}
	sort.Strings(out)
	return fmt.Sprintf("%s%v", name, out)
}
