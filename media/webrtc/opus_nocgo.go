//go:build !cgo

package webrtc

import "errors"

var errNoOpus = errors.New("webrtc: this parley binary was built without cgo; Opus needs libopus through cgo, so only PCMU is offered")

// OpusAvailable reports that this build does not speak Opus (it has no cgo);
// calls negotiate PCMU.
func OpusAvailable() error { return errNoOpus }

func newOpusEncoder() (audioEncoder, error) { return nil, errNoOpus }

func newOpusDecoder() (audioDecoder, error) { return nil, errNoOpus }
