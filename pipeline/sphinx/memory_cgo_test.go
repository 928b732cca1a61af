//go:build cgo

package sphinx

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestDecoderMemory logs the resident memory each pooled decoder costs.
func TestDecoderMemory(t *testing.T) {
	s := newRealSTT(t, Config{})
	g, err := buildGrammar(normalizePhrases(testPhrases), s.cfg.Dict, false)
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	rss0 := rssBytes(t)
	var ds []*psDecoder
	for range n {
		d, err := newPSDecoder(s.cfg.ModelDir, g)
		if err != nil {
			t.Fatal(err)
		}
		ds = append(ds, d)
	}
	per := (rssBytes(t) - rss0) / n
	for _, d := range ds {
		d.free()
	}
	t.Logf("%.1f MB resident per decoder", float64(per)/(1<<20))
	if per > 16<<20 {
		t.Errorf("%d MB per decoder: the grammar-only dictionary should keep it well under 16 MB", per>>20)
	}
}

func rssBytes(t testing.TB) int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skip("no /proc/self/statm")
	}
	f := strings.Fields(string(b))
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}
