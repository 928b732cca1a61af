package builtin

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// Limits on what knowledge_search loads, so that a wrong dir (a home folder, a
// data volume) fails the config load instead of eating the server's memory.
const (
	maxKnowledgeFileBytes  = 5 << 20
	maxKnowledgeTotalBytes = 50 << 20
)

// knowledgeExts are the file types knowledge_search reads.
var knowledgeExts = []string{".md", ".markdown", ".txt"}

// knowledgeLimits caps a load; tests lower them.
type knowledgeLimits struct {
	file, total int64
}

// knowledgeDoc is one loaded document.
type knowledgeDoc struct {
	source string // path relative to the dir, with forward slashes
	text   string
}

// loadKnowledge reads every .md, .markdown and .txt file under dir (recursively,
// skipping hidden files and folders), sorted by path. Errors say which file and
// why: too large, not UTF-8, unreadable; a dir without documents is an error.
func loadKnowledge(dir string, lim knowledgeLimits) ([]knowledgeDoc, error) {
	info, err := os.Stat(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("dir %q does not exist", dir)
		}
		return nil, fmt.Errorf("dir %q: %v", dir, err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("dir %q is not a directory", dir)
	}
	var docs []knowledgeDoc
	var total int64
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path != dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() || !slices.Contains(knowledgeExts, strings.ToLower(filepath.Ext(path))) {
			return nil
		}
		rel, _ := filepath.Rel(dir, path)
		rel = filepath.ToSlash(rel)
		fi, err := os.Stat(path) // follows a symlinked file
		if err != nil {
			return fmt.Errorf("%s: %v", rel, err)
		}
		if !fi.Mode().IsRegular() {
			return nil
		}
		if fi.Size() > lim.file {
			return fmt.Errorf("%s is %d bytes, more than the %d allowed per file", rel, fi.Size(), lim.file)
		}
		total += fi.Size()
		if total > lim.total {
			return fmt.Errorf("documents add up to more than the %d bytes allowed in all (at %s)", lim.total, rel)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("%s: %v", rel, err)
		}
		if int64(len(b)) > lim.file {
			return fmt.Errorf("%s is more than the %d bytes allowed per file", rel, lim.file)
		}
		b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
		if !utf8.Valid(b) {
			return fmt.Errorf("%s is not UTF-8 text", rel)
		}
		docs = append(docs, knowledgeDoc{source: rel, text: string(b)})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("dir %q holds no documents (%s)", dir, strings.Join(knowledgeExts, ", "))
	}
	return docs, nil
}

// knowledgeChunk is a passage of a document, the unit that is indexed and
// returned.
type knowledgeChunk struct {
	source  string
	section string // nearest heading; empty before the first one
	trail   string // every heading above the chunk, indexed with its text
	text    string
}

var (
	atxHeadingRE    = regexp.MustCompile(`^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$`)
	setextUnderline = regexp.MustCompile(`^ {0,3}(=+|-+)[ \t]*$`)
	fenceRE         = regexp.MustCompile("^ {0,3}(```|~~~)")
)

// chunkDocument splits a document into passages of about size characters:
// Markdown headings (ATX "## x" and setext underlines) start a new section,
// blank lines separate paragraphs, paragraphs of one section are packed
// together up to size, and a paragraph longer than size is cut at sentence
// or word boundaries. Headings inside code fences are text.
func chunkDocument(doc knowledgeDoc, size int, markdown bool) []knowledgeChunk {
	text := strings.ReplaceAll(strings.ReplaceAll(doc.text, "\r\n", "\n"), "\r", "\n")
	lines := strings.Split(text, "\n")
	var (
		chunks   []knowledgeChunk
		headings [6]string
		level    int // depth of the current heading, 0 before any
		paras    []string
		para     []string
		inFence  bool
	)
	flushPara := func() {
		if p := strings.TrimSpace(strings.Join(para, "\n")); p != "" {
			paras = append(paras, p)
		}
		para = para[:0]
	}
	flushSection := func() {
		flushPara()
		var trail []string
		for _, h := range headings[:level] {
			if h != "" {
				trail = append(trail, h)
			}
		}
		section := ""
		if len(trail) > 0 {
			section = trail[len(trail)-1]
		}
		for _, body := range packParagraphs(paras, size) {
			chunks = append(chunks, knowledgeChunk{
				source: doc.source, section: section, trail: strings.Join(trail, " > "), text: body,
			})
		}
		paras = paras[:0]
	}
	setHeading := func(depth int, title string) {
		flushSection()
		headings[depth-1] = strings.TrimSpace(title)
		for i := depth; i < len(headings); i++ {
			headings[i] = ""
		}
		level = depth
	}
	for _, line := range lines {
		if markdown && fenceRE.MatchString(line) {
			inFence = !inFence
		}
		if markdown && !inFence {
			if m := atxHeadingRE.FindStringSubmatch(line); m != nil {
				setHeading(len(m[1]), m[2])
				continue
			}
			if m := setextUnderline.FindStringSubmatch(line); m != nil && len(para) <= 1 {
				if len(para) == 0 {
					// A thematic break ("---" on its own): a paragraph break.
					continue
				}
				title := para[0]
				para = para[:0]
				depth := 1
				if m[1][0] == '-' {
					depth = 2
				}
				setHeading(depth, title)
				continue
			}
		}
		if strings.TrimSpace(line) == "" && !inFence {
			flushPara()
			continue
		}
		para = append(para, line)
	}
	flushSection()
	return chunks
}

// packParagraphs joins consecutive paragraphs into bodies of at most size
// characters (runes), splitting paragraphs that are longer on their own.
func packParagraphs(paras []string, size int) []string {
	var out []string
	var cur strings.Builder
	curLen := 0
	flush := func() {
		if curLen > 0 {
			out = append(out, cur.String())
		}
		cur.Reset()
		curLen = 0
	}
	for _, p := range paras {
		for _, piece := range splitLong(p, size) {
			n := utf8.RuneCountInString(piece)
			if curLen > 0 && curLen+2+n > size {
				flush()
			}
			if curLen > 0 {
				cur.WriteString("\n\n")
				curLen += 2
			}
			cur.WriteString(piece)
			curLen += n
		}
	}
	flush()
	return out
}

// splitLong cuts s into pieces of at most size runes, preferring to end a
// piece after a sentence (". ", "? ", "! " or a line break), else at a space,
// else anywhere in the second half of the window.
func splitLong(s string, size int) []string {
	var out []string
	for utf8.RuneCountInString(s) > size {
		window := s[:runeOffset(s, size)]
		cut := -1
		for _, sep := range []string{". ", "? ", "! ", "\n"} {
			if i := strings.LastIndex(window, sep); i >= 0 && i+1 > cut {
				cut = i + 1
			}
		}
		if cut < len(window)/2 {
			if i := strings.LastIndexAny(window, " \t"); i >= len(window)/2 {
				cut = i
			} else {
				cut = len(window)
			}
		}
		out = append(out, strings.TrimSpace(s[:cut]))
		s = strings.TrimSpace(s[cut:])
	}
	if s != "" {
		out = append(out, s)
	}
	return out
}

// runeOffset is the byte offset of the n-th rune of s (len(s) if s is shorter).
func runeOffset(s string, n int) int {
	for i := range s {
		if n == 0 {
			return i
		}
		n--
	}
	return len(s)
}

// isMarkdown reports whether a source is parsed for headings.
func isMarkdown(source string) bool {
	ext := strings.ToLower(filepath.Ext(source))
	return ext == ".md" || ext == ".markdown"
}
