package main

import (
	"errors"
	"log/slog"
	"regexp"
	"sort"
	"strings"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/pipeline"
	"github.com/parley-voice/parley/pipeline/sphinx"
)

var placeholderRe = regexp.MustCompile(`\{\{\s*([a-zA-Z0-9_.]+)\s*\}\}`)

// replyPhrases lists the sentences a flow agent may say, with its slot values and
// variables filled in, so the simulated caller can transcribe the agent's audio
// with a grammar-constrained recogniser. Words the recogniser's dictionary lacks
// (names such as "Parley") are left out of the phrases.
func replyPhrases(cfg *agents.Config) []string {
	if cfg == nil || cfg.Flow == nil {
		return nil
	}
	var texts []string
	for _, n := range cfg.Flow.Nodes {
		texts = append(texts, n.Say, n.Reprompt)
	}
	texts = append(texts, cfg.Flow.Fallback, cfg.Timeouts.SilencePrompt, cfg.Timeouts.GoodbyeMessage)
	texts = append(texts, cfg.Budgets.OnExceeded.FillerPhrases...)
	set := map[string]bool{}
	for _, t := range texts {
		for _, s := range expandTemplates(t, cfg.Flow) {
			var c pipeline.Chunker
			sentences := c.Push(s + " ")
			if rest := c.Flush(); rest != "" {
				sentences = append(sentences, rest)
			}
			for _, sen := range sentences {
				if n := sphinx.NormalizePhrase(sen); n != "" {
					set[n] = true
				}
			}
		}
	}
	phrases := make([]string, 0, len(set))
	for p := range set {
		phrases = append(phrases, p)
	}
	sort.Strings(phrases)
	return dropUnknownWords(phrases)
}

// expandTemplates fills {{slot}} with each of the slot's values (one slot at a
// time varies; others take their first value) and {{var}} with its default.
func expandTemplates(text string, f *agents.FlowConfig) []string {
	if strings.TrimSpace(text) == "" {
		return nil
	}
	out := []string{text}
	for {
		var next []string
		changed := false
		for _, t := range out {
			m := placeholderRe.FindStringSubmatchIndex(t)
			if m == nil {
				next = append(next, t)
				continue
			}
			changed = true
			name := t[m[2]:m[3]]
			var values []string
			if s, ok := f.Slots[name]; ok {
				values = s.Values
			} else if v, ok := f.Vars[name]; ok {
				values = []string{v}
			}
			if len(values) == 0 {
				values = []string{""}
			}
			for _, v := range values {
				next = append(next, t[:m[0]]+v+t[m[1]:])
			}
		}
		out = next
		if !changed || len(out) > 2000 {
			return out
		}
	}
}

func dropUnknownWords(phrases []string) []string {
	stt, err := sphinx.New(sphinx.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return phrases
	}
	defer stt.Close()
	for range 5 {
		err := stt.CheckPhrases(phrases)
		var uw *sphinx.UnknownWordsError
		if !errors.As(err, &uw) {
			break
		}
		unknown := map[string]bool{}
		for _, w := range uw.Words {
			unknown[w] = true
		}
		kept := phrases[:0]
		for _, p := range phrases {
			var words []string
			for _, w := range strings.Fields(p) {
				if !unknown[w] {
					words = append(words, w)
				}
			}
			if len(words) > 0 {
				kept = append(kept, strings.Join(words, " "))
			}
		}
		phrases = kept
	}
	return phrases
}
