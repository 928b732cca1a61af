package openai

import (
	"bytes"
	"io"
	"net/http"
)

// go-openai reports the end of a stream as io.EOF both after "data: [DONE]" and when
// the server closed the body early. spyDoer watches the end of each response body so
// that Generate can tell a complete reply from a cut one.
type spyDoer struct {
	client *http.Client
}

type spyKey struct{}

// bodySpy records whether the last response body ended with [DONE]. It is written by
// the goroutine reading the stream, which is Generate's own.
type bodySpy struct {
	done bool
}

func (d *spyDoer) Do(req *http.Request) (*http.Response, error) {
	resp, err := d.client.Do(req)
	if err != nil || resp == nil {
		return resp, err
	}
	if spy, ok := req.Context().Value(spyKey{}).(*bodySpy); ok {
		spy.done = false
		resp.Body = &spyBody{ReadCloser: resp.Body, spy: spy}
	}
	return resp, nil
}

type spyBody struct {
	io.ReadCloser
	spy  *bodySpy
	tail []byte
}

const tailSize = 32

func (b *spyBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.tail = append(b.tail, p[:n]...)
		if len(b.tail) > tailSize {
			b.tail = append(b.tail[:0], b.tail[len(b.tail)-tailSize:]...)
		}
	}
	if err == io.EOF {
		b.spy.done = bytes.HasSuffix(bytes.TrimSpace(b.tail), []byte("[DONE]"))
	}
	return n, err
}
