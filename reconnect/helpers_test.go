package reconnect_test

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tetherws/tether/reconnect"
	"github.com/tetherws/tether/runtime"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// half makes the random first delay of the backoff exactly half of Initial.
func half() float64 { return 0.5 }

// events records a supervisor's events; pass events.on as OnEvent.
type events chan reconnect.Event

func newEvents() events { return make(events, 10000) }

func (e events) on(ev reconnect.Event) { e <- ev }

// next returns the next event, failing the test unless it is of kind.
func (e events) next(t *testing.T, kind reconnect.EventKind) reconnect.Event {
	t.Helper()
	select {
	case ev := <-e:
		if ev.Kind != kind {
			t.Fatalf("event %v, want %v", ev, kind)
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatalf("no %v event within 10s", kind)
	}
	return reconnect.Event{}
}

// testServer is a WebSocket server that can be killed and restarted on
// the same address, and made to fail the next handshakes.
//
// Its default handler speaks a small pub/sub protocol: "subscribe X" is
// answered "subscribed X" and the server side of the connection is sent on
// subs; any other text is answered "echo: <text>" and then sent on got.
type testServer struct {
	t       *testing.T
	addr    string
	handler runtime.Handler

	mu      sync.Mutex
	hangups int                 // the next connections are closed mid-handshake
	rejects []*runtime.Response // the next requests are answered with these
	ln      net.Listener
	srv     *runtime.Server
	served  chan error

	subs chan *runtime.Conn
	got  chan string
}

func newTestServer(t *testing.T, h runtime.Handler) *testServer {
	s := newStoppedServer(t, "127.0.0.1:0", h)
	s.start()
	return s
}

// newStoppedServer returns a server for addr that is not listening yet.
func newStoppedServer(t *testing.T, addr string, h runtime.Handler) *testServer {
	s := &testServer{t: t, addr: addr, handler: h, subs: make(chan *runtime.Conn, 100), got: make(chan string, 100)}
	if s.handler == nil {
		s.handler = s.pubsub
	}
	t.Cleanup(s.stop)
	return s
}

func (s *testServer) url() string { return "ws://" + s.addr + "/" }

func (s *testServer) pubsub(ctx context.Context, c *runtime.Conn) error {
	for m := range c.Messages() {
		text := m.Text()
		if topic, ok := strings.CutPrefix(text, "subscribe "); ok {
			if err := c.SendText(ctx, "subscribed "+topic); err != nil {
				return err
			}
			s.subs <- c
			continue
		}
		if err := c.SendText(ctx, "echo: "+text); err != nil {
			return err
		}
		s.got <- text
	}
	return nil
}

// start listens on the server's address (a fresh port the first time).
func (s *testServer) start() {
	s.t.Helper()
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		s.t.Fatalf("listen %s: %v", s.addr, err)
	}
	s.addr = ln.Addr().String()
	srv := &runtime.Server{Handler: s.handler}
	srv.Options.ProcessRequest = func(ctx context.Context, r *http.Request) (*runtime.Response, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if len(s.rejects) > 0 {
			resp := s.rejects[0]
			s.rejects = s.rejects[1:]
			return resp, nil
		}
		return nil, nil
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(&hangupListener{ln, s}) }()
	s.mu.Lock()
	s.ln, s.srv, s.served = ln, srv, served
	s.mu.Unlock()
}

// kill stops the server as a crash would: every connection is aborted
// without a closing handshake and the listener is closed.
func (s *testServer) kill() {
	s.t.Helper()
	s.mu.Lock()
	ln, srv, served := s.ln, s.srv, s.served
	s.srv = nil
	s.mu.Unlock()
	if srv == nil {
		return
	}
	ln.Close() // first, so that no client reconnects meanwhile
	for _, c := range srv.Connections() {
		c.CloseNow()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		s.t.Errorf("Shutdown: %v", err)
	}
	<-served // the listener's error
}

// stop shuts the server down gracefully (1001 going away).
func (s *testServer) stop() {
	s.mu.Lock()
	srv, served := s.srv, s.served
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		s.shutdown(srv, served)
	}
}

func (s *testServer) shutdown(srv *runtime.Server, served chan error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		s.t.Errorf("Shutdown: %v", err)
	}
	if err := <-served; !errors.Is(err, runtime.ErrServerClosed) {
		s.t.Errorf("Serve: %v", err)
	}
}

// hangUp makes the next n connections close after reading the request.
func (s *testServer) hangUp(n int) {
	s.mu.Lock()
	s.hangups += n
	s.mu.Unlock()
}

// reject makes the next requests be answered with these statuses.
func (s *testServer) reject(rs ...*runtime.Response) {
	s.mu.Lock()
	s.rejects = append(s.rejects, rs...)
	s.mu.Unlock()
}

func status(code int, header ...string) *runtime.Response {
	h := http.Header{}
	for i := 0; i+1 < len(header); i += 2 {
		h.Set(header[i], header[i+1])
	}
	return &runtime.Response{Status: code, Header: h, Body: []byte(http.StatusText(code) + "\n")}
}

type hangupListener struct {
	net.Listener
	s *testServer
}

func (l *hangupListener) Accept() (net.Conn, error) {
	for {
		nc, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.s.mu.Lock()
		hang := l.s.hangups > 0
		if hang {
			l.s.hangups--
		}
		l.s.mu.Unlock()
		if !hang {
			return nc, nil
		}
		// Read the request, then hang up without a response.
		_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, _ = http.ReadRequest(bufio.NewReader(nc))
		_ = nc.Close()
	}
}

// refusedURL returns a ws:// URL on which nothing listens.
func refusedURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "ws://" + addr + "/"
}

// recvText reads the next message of a supervisor.
func recvText(t *testing.T, msgs <-chan runtime.Message) string {
	t.Helper()
	select {
	case m, ok := <-msgs:
		if !ok {
			t.Fatal("Messages closed")
		}
		return m.Text()
	case <-time.After(10 * time.Second):
		t.Fatal("no message within 10s")
	}
	return ""
}
