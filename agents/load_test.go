package agents

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseMinimalAppliesDefaults(t *testing.T) {
	c := mustParse(t, minimalYAML)
	want := Default()
	if c.Language != want.Language || c.STT.Provider != "pocketsphinx" || c.TTS.Rate != 175 {
		t.Errorf("provider defaults not applied: %+v %+v", c.STT, c.TTS)
	}
	if !reflect.DeepEqual(c.Turn, want.Turn) || c.VAD != want.VAD || !reflect.DeepEqual(c.Timeouts, want.Timeouts) {
		t.Errorf("turn/vad/timeouts defaults not applied:\n%+v\n%+v\n%+v", c.Turn, c.VAD, c.Timeouts)
	}
	if c.Flow.Threshold != 0.5 || c.Flow.Fallback != "Sorry, I didn't catch that." {
		t.Errorf("flow defaults not applied: %+v", c.Flow)
	}
	if c.Tools[0].As != "end_call" {
		t.Errorf("tools[0].as = %q, want the name", c.Tools[0].As)
	}
	if c.Source() != "test.yaml" {
		t.Errorf("Source() = %q", c.Source())
	}
}

func TestParseOverridesDefaults(t *testing.T) {
	c := mustParse(t, minimalYAML+`turn:
  endpointing: 1.5s
  allow_interruptions: false
  backchannels: []
vad: {min_level: -40}
budgets:
  stages: {stt_final: 300ms}
`)
	if c.Turn.Endpointing.Std() != 1500*time.Millisecond {
		t.Errorf("endpointing = %v", c.Turn.Endpointing)
	}
	if c.Turn.AllowInterruptions {
		t.Error("allow_interruptions: false was not applied")
	}
	if !c.Turn.ResumeAfterFalseInterruption {
		t.Error("resume_after_false_interruption lost its default true")
	}
	if len(c.Turn.Backchannels) != 0 {
		t.Errorf("backchannels: [] should empty the list, got %q", c.Turn.Backchannels)
	}
	if c.VAD.MinLevel != -40 || c.VAD.StartMargin != 12 {
		t.Errorf("vad = %+v", c.VAD)
	}
	if got := c.Budgets.Budget("stt_final"); got != 300*time.Millisecond {
		t.Errorf("Budget(stt_final) = %v", got)
	}
	if got := c.Budgets.Budget("first_sentence"); got != 200*time.Millisecond {
		t.Errorf("Budget(first_sentence) = %v, want the default", got)
	}
}

func TestParseStructureErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		wants      []string
	}{
		{"unknown nested field with suggestion", minimalYAML + "turn:\n  endpointng: 600ms\n",
			[]string{`test.yaml:18:3: unknown field "endpointng" in turn (did you mean "endpointing"?)`}},
		{"unknown top-level field", "gretting: hi\n" + minimalYAML,
			[]string{`test.yaml:1:1: unknown field "gretting" (did you mean "greeting"?)`}},
		{"unknown field lists known ones", minimalYAML + "vad:\n  zzzzzz: 1\n",
			[]string{`unknown field "zzzzzz" in vad (known fields: min_level, start_duration, start_margin, stop_duration, stop_margin)`}},
		{"unknown field in list item", strings.Replace(minimalYAML, "  - name: lookup", "  - name: lookup\n    timout: 1s", 1),
			[]string{`test.yaml:6:5: unknown field "timout" in tools[2] (did you mean "timeout"?)`}},
		{"unknown field in map value", strings.Replace(minimalYAML, "      say: Bye", "      sya: Bye", 1),
			[]string{`unknown field "sya" in flow.nodes.end (did you mean "say"?)`}},
		{"integer expected", minimalYAML + "turn: {min_interrupt_words: two}\n",
			[]string{`test.yaml:17:29: turn.min_interrupt_words: expected an integer, got "two"`}},
		{"number expected", minimalYAML + "vad: {min_level: loud}\n", []string{`vad.min_level: expected a number, got "loud"`}},
		{"bool expected", minimalYAML + "turn: {allow_interruptions: sometimes}\n",
			[]string{`turn.allow_interruptions: expected true or false, got "sometimes"`}},
		{"duration without unit", minimalYAML + "turn: {endpointing: 600}\n",
			[]string{`turn.endpointing: invalid duration "600" (want a number with a unit, e.g. "600ms"`}},
		{"negative duration", minimalYAML + "turn: {endpointing: -1s}\n", []string{`turn.endpointing: invalid duration "-1s"`}},
		{"mapping expected", minimalYAML + "turn: fast\n", []string{`test.yaml:17:7: turn: expected a mapping of keys to values, got a string`}},
		{"list expected", minimalYAML + "turn: {backchannels: okay}\n", []string{`turn.backchannels: expected a list, got a string`}},
		{"string expected", "name: [a, b]\n" + minimalYAML, []string{`name: expected a string, got a list`}},
		{"duplicate key", minimalYAML + "name: a\nname: b\n", []string{`test.yaml:18:1: key "name" appears twice (first on line 17)`}},
		{"duplicate node", strings.Replace(minimalYAML, "    end:\n", "    hello:\n      say: x\n    end:\n", 1),
			[]string{`key "hello" appears twice`}},
		{"syntax error", "id: test\nflow: [\n", []string{"test.yaml:", "invalid YAML"}},
		{"tab indentation", "id: test\nturn:\n\tendpointing: 1s\n", []string{"test.yaml:3: invalid YAML"}},
		{"empty file", "", []string{"test.yaml: file is empty"}},
		{"only a comment", "# nothing\n", []string{"file is empty"}},
		{"null document", "~\n", []string{"file is empty"}},
		{"list document", "- id: test\n", []string{"test.yaml:1:1: an agent config is a mapping"}},
		{"two documents", minimalYAML + "---\nid: other\n", []string{"more than one YAML document"}},
		{"bad merge", minimalYAML + "turn:\n  <<: 3\n", []string{"a merge (<<) takes a mapping"}},
		{"merge into itself", minimalYAML + "turn: &t {<<: *t}\n", []string{"test.yaml:17:7: turn: a merge (<<) includes the mapping it is in"}},
		{"merge loop through a list", minimalYAML + "vad: &v {<<: [{<<: *v}]}\n", []string{"a merge (<<) includes the mapping it is in"}},
		{"non-string key", minimalYAML + "? [a]\n: b\n", []string{"keys must be plain names"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("test.yaml", []byte(tt.yaml), noEnv)
			wantErr(t, err, tt.wants...)
		})
	}
}

func TestParseReportsAllStructureErrors(t *testing.T) {
	_, err := Parse("test.yaml", []byte(minimalYAML+"turn:\n  endpointng: 1s\n  min_interrupt_words: x\nvad: {stat_margin: 3}\n"), noEnv)
	wantErr(t, err, `"endpointng"`, "min_interrupt_words", `"stat_margin"`)
	if n := strings.Count(err.Error(), "\n") + 1; n != 3 {
		t.Errorf("got %d errors, want 3:\n%v", n, err)
	}
}

func TestParseAnchorsAndMerges(t *testing.T) {
	c := mustParse(t, `id: test
tools: [{name: end_call}]
flow:
  start: hello
  intents:
    bye: {examples: [goodbye]}
  nodes:
    hello: &base
      say: Hi
      transitions: [{intent: bye, next: end}]
    again:
      <<: *base
      say: Hi again
    end:
      say: Bye
      action: end_call
      transitions: [{intent: bye, next: again}]
`)
	again := c.Flow.Nodes["again"]
	if again.Say != "Hi again" || len(again.Transitions) != 1 || again.Transitions[0].Next != "end" {
		t.Errorf("merged node = %+v", again)
	}
}

func TestParseMergeChecksKeys(t *testing.T) {
	_, err := Parse("test.yaml", []byte(strings.Replace(minimalYAML, "    end:\n", "    x: &x {sya: hi}\n    end:\n      <<: *x\n", 1)), noEnv)
	wantErr(t, err, `unknown field "sya" in flow.nodes.x`)
}

func TestParseAliasBombFailsFast(t *testing.T) {
	// Typed fields: 400 aliases of a 1000-item list.
	var typed strings.Builder
	typed.WriteString("id: test\nturn:\n  backchannels: &a [" + strings.Repeat("x, ", 999) + "x]\nflow:\n  start: n0\n  nodes:\n")
	for i := range 400 {
		fmt.Fprintf(&typed, "    n%d: {capture: *a}\n", i)
	}
	// Free-form options: ten levels of ten aliases each (10^10 leaves).
	var free strings.Builder
	free.WriteString("id: test\nstt:\n  options:\n    a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&free, "    a%d: &a%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d, ", i-1), 10), ", "))
	}
	for _, tt := range []struct{ doc, want string }{
		{typed.String(), "expands too many aliases"},
		{free.String(), "excessive aliasing"},
	} {
		start := time.Now()
		_, err := Parse("bomb.yaml", []byte(tt.doc), noEnv)
		wantErr(t, err, tt.want)
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("took %v", d)
		}
	}
}

func TestParseRejectsHugeFiles(t *testing.T) {
	_, err := Parse("big.yaml", make([]byte, MaxConfigSize+1), noEnv)
	wantErr(t, err, "larger than")
}

// The checker must accept exactly what yaml.v3's KnownFields decoding accepts, so
// that its nicer errors never hide or invent a problem.
func TestCheckerAgreesWithKnownFields(t *testing.T) {
	docs := []string{
		minimalYAML,
		minimalYAML + "turn: {endpointng: 1s}\n",
		minimalYAML + "turn: {min_interrupt_words: x}\n",
		minimalYAML + "vad: {min_level: 3}\n",
		minimalYAML + "vad: {min_level: true}\n",
		minimalYAML + "turn: {allow_interruptions: yes}\n",
		minimalYAML + "tts: {rate: 1.5}\n",
		minimalYAML + "tts: {rate: 0x20}\n",
		minimalYAML + "llm: {temperature: 1}\n",
		minimalYAML + "stt: {options: {a: [1, {b: c}]}}\n",
		minimalYAML + "name: 12\n",
		minimalYAML + "turn: {backchannels: [1, true]}\n",
		minimalYAML + "turn: {backchannels: [[a]]}\n",
		minimalYAML + "budgets: {stages: {x: [a]}}\n",
	}
	for _, doc := range docs {
		ck := &checker{src: &source{name: "x", pos: map[string]position{}}, present: map[string]bool{}}
		root, err := parseYAML("x", []byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		ck.check(root.Content[0], reflect.TypeOf(Config{}), "")
		checkerOK := len(ck.errs) == 0
		cfg := Default()
		cfg.Flow = DefaultFlow()
		decodeOK := decodeStrict([]byte(doc), nil, cfg) == nil && decodeStrict(nil, root, cfg) == nil
		if checkerOK != decodeOK {
			t.Errorf("checker ok=%v (%v), yaml.v3 KnownFields ok=%v, for:\n%s", checkerOK, ck.errs, decodeOK, doc)
		}
	}
}

func TestLoadDir(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("b.yaml", minimalYAML)
	write("a.yml", strings.Replace(minimalYAML, "id: test", "id: alpha", 1))
	write("notes.txt", "not a config")
	cfgs, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfgs) != 2 || cfgs[0].ID != "alpha" || cfgs[1].ID != "test" {
		t.Fatalf("got %d configs", len(cfgs))
	}

	write("c.yaml", minimalYAML)
	write("d.yaml", "id: broken\nturn: {endpointng: 1s}\n")
	_, err = LoadDir(dir)
	wantErr(t, err, "c.yaml:1:5: id: agent id \"test\" is also used by "+filepath.Join(dir, "b.yaml"), "d.yaml:2:8: unknown field")
	if !errors.Is(err, ErrDuplicateID) {
		t.Error("error does not wrap ErrDuplicateID")
	}

	if _, err := LoadDir(filepath.Join(dir, "missing")); err == nil {
		t.Error("LoadDir of a missing directory succeeded")
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v", err)
	}
}

func TestFieldErrorFormat(t *testing.T) {
	tests := []struct {
		e    FieldError
		want string
	}{
		{FieldError{File: "a.yaml", Line: 3, Column: 5, Path: "turn", Msg: "bad"}, "a.yaml:3:5: turn: bad"},
		{FieldError{File: "a.yaml", Line: 3, Msg: "bad"}, "a.yaml:3: bad"},
		{FieldError{File: "a.yaml", Path: "id", Msg: "is required"}, "a.yaml: id: is required"},
		{FieldError{Path: "id", Msg: "is required"}, "id: is required"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}
