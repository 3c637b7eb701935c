package runtime

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tetherws/tether/ws"
)

// serveHTTP mounts srv on an httptest server and returns its ws:// URL;
// both are shut down when the test ends.
func serveHTTP(t *testing.T, srv *Server) string {
	t.Helper()
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return "ws" + strings.TrimPrefix(hs.URL, "http") + "/"
}

// wantBusy checks that err is the 503 of a full server with its
// Retry-After.
func wantBusy(t *testing.T, err error, retryAfter string) {
	t.Helper()
	var se *ws.StatusError
	if !errors.As(err, &se) || se.StatusCode() != http.StatusServiceUnavailable {
		t.Fatalf("Dial = %v, want 503", err)
	}
	if got := se.Response.Header.Get("Retry-After"); got != retryAfter {
		t.Fatalf("Retry-After %q, want %q", got, retryAfter)
	}
}

func TestMaxConnectionsAnswers503WithRetryAfter(t *testing.T) {
	for _, mode := range []string{"Serve", "ServeHTTP"} {
		t.Run(mode, func(t *testing.T) {
			srv := &Server{Handler: echoHandler, MaxConnections: 2}
			var url string
			if mode == "Serve" {
				url = startServer(t, srv)
			} else {
				url = serveHTTP(t, srv)
			}
			a := dial(t, url, nil)
			dial(t, url, nil)
			_, _, err := Dial(testCtx(t), url, nil)
			wantBusy(t, err, "5")
			// (A connection is listed once its handler starts, a moment
			// after the client got its 101.)
			eventually(t, "two connections listed", func() bool { return len(srv.Connections()) == 2 })
			// Once one closes, there is room again.
			if err := a.Close(ws.CloseNormal, ""); err != nil {
				t.Fatal(err)
			}
			eventually(t, "the server forgets the closed connection", func() bool { return len(srv.Connections()) == 1 })
			dial(t, url, nil)
		})
	}
}

func TestRetryAfterIsRoundedUpToSeconds(t *testing.T) {
	url := startServer(t, &Server{Handler: echoHandler, MaxConnections: 1, RetryAfter: 1500 * time.Millisecond})
	dial(t, url, nil)
	_, _, err := Dial(testCtx(t), url, nil)
	wantBusy(t, err, "2")
}

// A connection refused for capacity does not keep its place: the count
// stays right after refusals and failed handshakes.
func TestMaxConnectionsCountsOnlyOpenConnections(t *testing.T) {
	srv := &Server{Handler: echoHandler, MaxConnections: 1}
	url := startServer(t, srv)
	for range 3 {
		// Refused by a check: no place is taken.
		if _, _, err := Dial(testCtx(t), url, &DialOptions{Origin: "http://evil.example"}); err == nil {
			t.Fatal("cross-origin Dial succeeded")
		}
	}
	c := dial(t, url, nil)
	_, _, err := Dial(testCtx(t), url, nil)
	wantBusy(t, err, "5")
	eventually(t, "the connection listed", func() bool { return len(srv.Connections()) == 1 })
	c.CloseNow()
	eventually(t, "the server forgets the closed connection", func() bool { return len(srv.Connections()) == 0 })
	dial(t, url, nil)
}

// Serve accepts no more connections while MaxHandshakes handshakes are in
// progress: a second client waits until the first one's handshake ends.
func TestMaxHandshakesHoldsBackServe(t *testing.T) {
	srv := &Server{Handler: echoHandler, MaxHandshakes: 1, Options: ServerOptions{Options: Options{OpenTimeout: time.Minute}}}
	url := startServer(t, srv)
	silent, err := net.Dial("tcp", hostOf(url)) // holds the only place
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	eventually(t, "the silent connection in the handshake", func() bool {
		srv.mu.Lock()
		defer srv.mu.Unlock()
		return len(srv.raw) == 1
	})
	dialed := make(chan error, 1)
	go func() {
		c, _, err := Dial(context.Background(), url, &DialOptions{Options: Options{OpenTimeout: time.Minute}})
		if err == nil {
			c.CloseNow()
		}
		dialed <- err
	}()
	select {
	case err := <-dialed:
		t.Fatalf("a second handshake ran while the first held the only place: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	srv.mu.Lock()
	inHandshake := len(srv.raw)
	srv.mu.Unlock()
	if inHandshake != 1 {
		t.Fatalf("%d connections in the handshake, want 1", inHandshake)
	}
	silent.Close() // its handshake fails: the place is free
	if err := <-dialed; err != nil {
		t.Fatalf("Dial after the place was freed: %v", err)
	}
}

// With several listeners, a loop waiting in Accept holds no handshake
// place: every listener serves.
func TestMaxHandshakesServesEveryListener(t *testing.T) {
	srv := &Server{Handler: echoHandler, MaxHandshakes: 1}
	url := startServer(t, srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveOn(t, srv, ln)
	other := "ws://" + ln.Addr().String() + "/"
	for _, u := range []string{url, url, other, other, url} {
		c, _, err := Dial(testCtx(t), u, &DialOptions{Options: Options{OpenTimeout: 2 * time.Second}})
		if err != nil {
			t.Fatalf("Dial %s: %v", u, err)
		}
		c.CloseNow()
	}
}

// Shutdown ends an accept loop that waits for a handshake place.
func TestShutdownEndsServeWaitingForAHandshakePlace(t *testing.T) {
	srv := &Server{Handler: echoHandler, MaxHandshakes: 1, Options: ServerOptions{Options: Options{OpenTimeout: time.Minute}}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	silent, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	eventually(t, "the silent connection in the handshake", func() bool {
		srv.mu.Lock()
		defer srv.mu.Unlock()
		return len(srv.raw) == 1
	})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_ = srv.Shutdown(ctx) // aborts the silent handshake when ctx ends
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve = %v, want ErrServerClosed", err)
	}
}

// ServeHTTP answers 503 with Retry-After past MaxHandshakes.
func TestMaxHandshakesRefusesServeHTTPPastTheBound(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	srv := &Server{Handler: echoHandler, MaxHandshakes: 1, RetryAfter: 3 * time.Second}
	srv.Options.ProcessRequest = func(ctx context.Context, r *http.Request) (*Response, error) {
		if r.URL.Query().Get("slow") != "" {
			close(entered)
			<-release
		}
		return nil, nil
	}
	url := serveHTTP(t, srv)
	slow := make(chan error, 1)
	go func() {
		c, _, err := Dial(testCtx(t), url+"?slow=1", nil)
		if err == nil {
			t.Cleanup(c.CloseNow)
		}
		slow <- err
	}()
	<-entered
	_, _, err := Dial(testCtx(t), url, nil)
	wantBusy(t, err, "3")
	close(release)
	if err := <-slow; err != nil {
		t.Fatalf("the slow handshake: %v", err)
	}
	// The place is freed before the connection is tracked.
	eventually(t, "the slow connection tracked", func() bool { return len(srv.Connections()) > 0 })
	dial(t, url, nil)
}
