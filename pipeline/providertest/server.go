package providertest

import (
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// server is a loopback HTTP server that counts its running handlers and
// tracks the WebSockets they upgraded, so Close can end those (http.Server's
// Close does not know hijacked connections) and wait until every handler has
// returned: a test that closes a fake leaves no goroutine of it behind.
type server struct {
	ln  net.Listener
	srv *http.Server

	mu       sync.Mutex
	sockets  map[*websocket.Conn]struct{}
	closed   bool
	handlers sync.WaitGroup
	serving  sync.WaitGroup

	closeOnce sync.Once
}

// startServer listens on 127.0.0.1 on a free port and serves h.
func startServer(name string, h http.Handler) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("providertest: %s: listening on loopback: %w", name, err)
	}
	s := &server{ln: ln, sockets: map[*websocket.Conn]struct{}{}}
	s.srv = &http.Server{Handler: s.count(h), ReadHeaderTimeout: 10 * time.Second}
	s.serving.Add(1)
	go func() {
		defer s.serving.Done()
		_ = s.srv.Serve(ln) // returns http.ErrServerClosed after Close
	}()
	return s, nil
}

// count wraps h so that Close can wait for every request in progress.
func (s *server) count(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			http.Error(w, "providertest: server closing", http.StatusServiceUnavailable)
			return
		}
		s.handlers.Add(1)
		s.mu.Unlock()
		defer s.handlers.Done()
		h.ServeHTTP(w, r)
	})
}

// addr is host:port of the listener.
func (s *server) addr() string { return s.ln.Addr().String() }

// upgrade switches r to a WebSocket tracked until untrack. It returns nil
// (having answered or closed) when the upgrade fails or the server is closing.
func (s *server) upgrade(w http.ResponseWriter, r *http.Request, h http.Header) *websocket.Conn {
	ws, err := upgrader.Upgrade(w, r, h)
	if err != nil {
		return nil // the upgrader has answered with an HTTP error
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		ws.Close()
		return nil
	}
	s.sockets[ws] = struct{}{}
	return ws
}

// untrack forgets and closes a socket from upgrade.
func (s *server) untrack(ws *websocket.Conn) {
	s.mu.Lock()
	delete(s.sockets, ws)
	s.mu.Unlock()
	ws.Close()
}

// Close stops accepting, closes every connection (WebSockets included) and
// waits for every handler to return. It is idempotent.
func (s *server) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		for ws := range s.sockets {
			ws.Close()
		}
		s.mu.Unlock()
		_ = s.srv.Close()
		s.handlers.Wait()
		s.serving.Wait()
	})
	return nil
}

// upgrader accepts any origin: the fakes are reached only over loopback.
var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
