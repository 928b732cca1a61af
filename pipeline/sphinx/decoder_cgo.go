//go:build cgo

package sphinx

/*
#cgo pkg-config: pocketsphinx
#include <pocketsphinx.h>
#include <sphinxbase/err.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

// PocketSphinx reports through one process-wide callback. Errors are kept in
// a thread-local buffer so that the Go caller, locked to its thread, can turn
// the first error of an operation into a Go error; everything else is dropped.
//
// After a fatal error the library calls exit(). While a decoder is being
// loaded, parley_escape is armed and the callback jumps back to the loader
// instead, which then reports the error (leaking the half-built decoder, a
// one-off cost of a broken model). Only C frames lie between the setjmp and
// the longjmp.
static __thread char parley_err[512];
static __thread jmp_buf *parley_escape;

static void parley_log(void *user, err_lvl_t lvl, const char *fmt, ...) {
	va_list ap;
	if (lvl == ERR_FATAL) {
		va_start(ap, fmt);
		vsnprintf(parley_err, sizeof parley_err, fmt, ap);
		va_end(ap);
		if (parley_escape != NULL) {
			longjmp(*parley_escape, 1);
		}
		fprintf(stderr, "pocketsphinx: exiting after a fatal error: %s", parley_err);
		return;
	}
	if (lvl < ERR_ERROR || parley_err[0] != 0) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(parley_err, sizeof parley_err, fmt, ap);
	va_end(ap);
}

static void parley_silence(void) {
	err_set_logfp(NULL);
	err_set_callback(parley_log, NULL);
}

static void parley_clear_err(void) { parley_err[0] = 0; }
static const char *parley_last_err(void) { return parley_err; }

static ps_decoder_t *parley_ps_new(char *hmm, char *dict) {
	jmp_buf env;
	if (setjmp(env) != 0) {
		parley_escape = NULL;
		return NULL;
	}
	parley_escape = &env;
	char *argv[] = {"-hmm", hmm, "-dict", dict};
	ps_decoder_t *ps = NULL;
	cmd_ln_t *config = cmd_ln_parse_r(NULL, ps_args(), 4, argv, TRUE);
	if (config != NULL) {
		ps = ps_init(config);
		cmd_ln_free_r(config);
	}
	parley_escape = NULL;
	return ps;
}

// parley_set_grammar loads and selects a JSGF grammar; -1 on failure.
static int parley_set_grammar(ps_decoder_t *ps, const char *name, const char *jsgf) {
	jmp_buf env;
	if (setjmp(env) != 0) {
		parley_escape = NULL;
		return -1;
	}
	parley_escape = &env;
	int rc = ps_set_jsgf_string(ps, name, jsgf);
	if (rc >= 0) {
		rc = ps_set_search(ps, name);
	}
	parley_escape = NULL;
	return rc;
}

// parley_score sums the acoustic score and frames of the words (not fillers)
// of the best path of the last utterance.
static void parley_score(ps_decoder_t *ps, long *ascr, long *frames) {
	*ascr = 0;
	*frames = 0;
	for (ps_seg_t *seg = ps_seg_iter(ps); seg != NULL; seg = ps_seg_next(seg)) {
		const char *w = ps_seg_word(seg);
		if (w[0] == '<' || w[0] == '[' || w[0] == '+') {
			continue;
		}
		int sf, ef;
		int32 a, l, b;
		ps_seg_frames(seg, &sf, &ef);
		ps_seg_prob(seg, &a, &l, &b);
		*ascr += a;
		*frames += ef - sf + 1;
	}
}
*/
import "C"

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
	"unsafe"
)

var silenceOnce sync.Once

// psError turns the first error PocketSphinx logged on this thread into a Go
// error, or returns fallback when it logged none.
func psError(fallback string) error {
	msg := C.GoString(C.parley_last_err())
	if msg == "" {
		return errors.New(fallback)
	}
	// Drop the source location: `ERROR: "dict.c", line 275: message`.
	if i := strings.Index(msg, ", line "); i >= 0 {
		if j := strings.Index(msg[i:], ": "); j >= 0 {
			msg = msg[i+j+2:]
		}
	}
	return errors.New(strings.TrimSpace(msg))
}

// psDecoder is a PocketSphinx decoder loaded with one grammar and a dictionary
// holding only that grammar's words.
type psDecoder struct {
	ps *C.ps_decoder_t
}

// newPSDecoder creates a decoder for g, or a bare one (no grammar, for probing
// the model) when g is nil.
func newPSDecoder(modelDir string, g *grammar) (_ *psDecoder, err error) {
	silenceOnce.Do(func() { C.parley_silence() })
	runtime.LockOSThread() // keep the thread-local error buffer ours
	defer runtime.UnlockOSThread()
	C.parley_clear_err()

	hmm := C.CString(modelDir)
	defer C.free(unsafe.Pointer(hmm))
	// The decoder starts with an empty dictionary; the grammar's words are
	// added below. This saves about 22 MB and 150 ms per decoder.
	empty := C.CString("/dev/null")
	defer C.free(unsafe.Pointer(empty))
	ps := C.parley_ps_new(hmm, empty)
	if ps == nil {
		return nil, fmt.Errorf("sphinx: loading acoustic model %s: %w", modelDir, psError("initialisation failed"))
	}
	d := &psDecoder{ps: ps}
	defer func() {
		if err != nil {
			d.free()
		}
	}()
	if g == nil {
		return d, nil
	}
	for _, p := range g.prons {
		word, phones := C.CString(p.word), C.CString(p.phones)
		rc := C.ps_add_word(ps, word, phones, 0)
		C.free(unsafe.Pointer(word))
		C.free(unsafe.Pointer(phones))
		if rc < 0 {
			return nil, fmt.Errorf("sphinx: adding word %q (%s): %w", p.word, p.phones, psError("ps_add_word failed"))
		}
	}
	name := C.CString("parley")
	defer C.free(unsafe.Pointer(name))
	jsgf := C.CString(g.jsgf)
	defer C.free(unsafe.Pointer(jsgf))
	if C.parley_set_grammar(ps, name, jsgf) < 0 {
		return nil, fmt.Errorf("sphinx: loading grammar: %w", psError("ps_set_jsgf_string failed"))
	}
	return d, nil
}

func (d *psDecoder) startUtterance() error {
	if C.ps_start_utt(d.ps) < 0 {
		return errors.New("ps_start_utt failed")
	}
	return nil
}

func (d *psDecoder) process(pcm []int16) error {
	if len(pcm) == 0 {
		return nil
	}
	if C.ps_process_raw(d.ps, (*C.int16)(unsafe.Pointer(&pcm[0])), C.size_t(len(pcm)), 0, 0) < 0 {
		return errors.New("ps_process_raw failed")
	}
	return nil
}

func (d *psDecoder) partial() string {
	if h := C.ps_get_hyp(d.ps, nil); h != nil {
		return C.GoString(h)
	}
	return ""
}

func (d *psDecoder) endUtterance() (string, float64, error) {
	if C.ps_end_utt(d.ps) < 0 {
		return "", 0, errors.New("ps_end_utt failed")
	}
	h := C.ps_get_hyp(d.ps, nil)
	if h == nil {
		return "", 0, nil
	}
	text := C.GoString(h)
	if text == "" {
		return "", 0, nil
	}
	var ascr, frames C.long
	C.parley_score(d.ps, &ascr, &frames)
	return text, confidence(int64(ascr), int64(frames)), nil
}

func (d *psDecoder) free() {
	if d.ps != nil {
		C.ps_free(d.ps)
		d.ps = nil
	}
}

// confidence maps the best path's mean acoustic score per speech frame to
// [0, 1]. With this PocketSphinx version the lattice posterior of a grammar
// search (ps_get_prob) is always 1, so it says nothing. The acoustic scores are
// relative to the best senone of each frame, so a path that fits the audio well
// stays near 0: measured with espeak-ng voices, phrases that were said score
// about -17 to -50 per frame, near misses ("cancel" heard as "book") -38 to -60,
// and audio matching no phrase gives no hypothesis at all. The first utterance
// on a fresh decoder scores lower (0.5 rather than 0.9 for the same audio)
// while its live cepstral mean adapts. The logistic below puts 0.5 at -45: it
// ranks results, it is not a calibrated probability.
func confidence(ascr, frames int64) float64 {
	if frames <= 0 {
		return 0
	}
	perFrame := -float64(ascr) / float64(frames)
	return 1 / (1 + math.Exp((perFrame-45)/7))
}
