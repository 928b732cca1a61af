//go:build cgo

package espeak

/*
#cgo pkg-config: espeak-ng
#include <stdlib.h>
#include <espeak-ng/espeak_ng.h>
#include <espeak-ng/speak_lib.h>

extern int parleySynthCallback(short *wav, int numsamples, espeak_EVENT *events);
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"unsafe"
)

// bufferMillis is how much audio the library produces between two callbacks,
// and so the chunk size delivered to sinks before resampling.
const bufferMillis = 100

// The library's globals, and these, belong to whoever holds engineSem: a
// channel rather than a mutex so that a stopped job can give up waiting.
var (
	engineSem = make(chan struct{}, 1)

	initDone bool
	initErr  error
	initPath string // Config.DataPath of the first initialisation
	dataDir  string // where the library found its data

	curVoice string
	current  *job // the job whose synthesis is running, for the callback
)

// lockEngine takes the library, or gives up when cancel is closed first.
func lockEngine(cancel <-chan struct{}) bool {
	select {
	case engineSem <- struct{}{}:
		return true
	case <-cancel:
		return false
	}
}

func unlockEngine() { <-engineSem }

// New initialises libespeak-ng if needed and checks that cfg.Voice exists.
func New(cfg Config) (*TTS, error) {
	cfg = cfg.withDefaults()
	lockEngine(nil)
	defer unlockEngine()
	if err := initLocked(cfg.DataPath); err != nil {
		return nil, err
	}
	if err := setVoiceLocked([]string{cfg.Voice}); err != nil {
		return nil, err
	}
	return &TTS{cfg: cfg}, nil
}

// Available reports whether this binary and machine can synthesise speech:
// nil, or an error saying why not. It initialises the library if no New did.
func Available() error {
	lockEngine(nil)
	defer unlockEngine()
	return initLocked("")
}

// initLocked initialises the library once per process. An empty dataPath
// accepts whatever data the library was initialised with.
func initLocked(dataPath string) error {
	if initDone {
		if dataPath != "" && dataPath != initPath && filepath.Clean(dataPath) != dataDir && filepath.Join(dataPath, "espeak-ng-data") != dataDir {
			return fmt.Errorf("espeak: libespeak-ng already uses the data in %s and cannot switch to %s within one process", dataDir, dataPath)
		}
		return initErr
	}
	initDone, initPath = true, dataPath
	initErr = initialise(dataPath)
	return initErr
}

func initialise(dataPath string) error {
	var cpath *C.char
	if dataPath != "" {
		// The library silently falls back to its default data when the path
		// has none, so check first.
		if !hasData(dataPath) && !hasData(filepath.Join(dataPath, "espeak-ng-data")) {
			return fmt.Errorf("espeak: DataPath %s holds no espeak-ng data (no phontab in it or in its espeak-ng-data directory)", dataPath)
		}
		cpath = C.CString(dataPath)
		defer C.free(unsafe.Pointer(cpath))
	}
	C.espeak_ng_InitializePath(cpath)
	var pathData *C.char
	C.espeak_Info(&pathData)
	dataDir = C.GoString(pathData)

	var ectx C.espeak_ng_ERROR_CONTEXT
	if st := C.espeak_ng_Initialize(&ectx); st != C.ENS_OK {
		C.espeak_ng_ClearErrorContext(&ectx)
		return fmt.Errorf("espeak: initialising libespeak-ng with the data in %s: %w (install the espeak-ng-data package or set DataPath)", dataDir, statusError(st))
	}
	if st := C.espeak_ng_InitializeOutput(C.ENOUTPUT_MODE_SYNCHRONOUS, bufferMillis, nil); st != C.ENS_OK {
		return fmt.Errorf("espeak: setting up synchronous output: %w", statusError(st))
	}
	if rate := int(C.espeak_ng_GetSampleRate()); rate != nativeRate {
		return fmt.Errorf("espeak: libespeak-ng synthesises at %d Hz, this package expects %d Hz", rate, nativeRate)
	}
	C.espeak_SetSynthCallback((*C.t_espeak_callback)(C.parleySynthCallback))
	return nil
}

func hasData(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "phontab"))
	return err == nil
}

func statusError(st C.espeak_ng_STATUS) error {
	var buf [256]C.char
	C.espeak_ng_GetStatusCodeMessage(st, &buf[0], C.size_t(len(buf)))
	return errors.New(C.GoString(&buf[0]))
}

// setVoiceLocked selects the first of voices that exists.
func setVoiceLocked(voices []string) error {
	var err error
	for _, v := range voices {
		if v == curVoice {
			return nil
		}
		cv := C.CString(v)
		st := C.espeak_ng_SetVoiceByName(cv)
		C.free(unsafe.Pointer(cv))
		if st == C.ENS_OK {
			curVoice = v
			return nil
		}
		curVoice = ""
		if err == nil {
			err = fmt.Errorf("espeak: voice %q: %w (list voices with `espeak-ng --voices`)", v, statusError(st))
		}
	}
	return err
}

// synthesize runs j through the library, holding it for the duration.
func synthesize(j *job) error {
	if !lockEngine(j.cancel) {
		return errCancelled
	}
	defer unlockEngine()
	if err := initLocked(""); err != nil {
		return err
	}
	if err := setVoiceLocked(j.voices); err != nil {
		return err
	}
	if st := C.espeak_ng_SetParameter(C.espeakRATE, C.int(j.rate), 0); st != C.ENS_OK {
		return fmt.Errorf("espeak: setting rate %d wpm: %w", j.rate, statusError(st))
	}
	text := C.CString(j.text)
	defer C.free(unsafe.Pointer(text))
	current = j
	st := C.espeak_ng_Synthesize(unsafe.Pointer(text), C.size_t(len(j.text)+1), 0, C.POS_CHARACTER, 0, C.espeakCHARS_UTF8, nil, nil)
	current = nil
	switch {
	case j.cancelled.Load():
		return errCancelled
	case st != C.ENS_OK:
		return fmt.Errorf("espeak: synthesising: %w", statusError(st))
	}
	return nil
}

// parleySynthCallback receives audio from the library during
// espeak_ng_Synthesize, on the goroutine that called it. Returning 1 aborts.
//
//export parleySynthCallback
func parleySynthCallback(wav *C.short, n C.int, _ *C.espeak_EVENT) C.int {
	j := current
	if j == nil {
		return 1
	}
	if wav == nil || n <= 0 {
		if j.cancelled.Load() {
			return 1
		}
		return 0
	}
	chunk := make([]int16, int(n))
	copy(chunk, unsafe.Slice((*int16)(unsafe.Pointer(wav)), int(n)))
	if !j.push(chunk) {
		return 1
	}
	return 0
}
