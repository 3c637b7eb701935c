package auth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/tetherws/tether/runtime"
	_ "github.com/tetherws/tether/runtime/xconnect" // RFC 8441 in net/http's HTTP/2 server
	"github.com/tetherws/tether/ws"
)

// serve runs s on a loopback listener, shuts it down when the test ends,
// and returns its host:port.
func serve(t *testing.T, s *runtime.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; !errors.Is(err, runtime.ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	})
	return ln.Addr().String()
}

// sendPathAndUser is a handler that sends the request path, then the
// authenticated user name.
func sendPathAndUser(ctx context.Context, c *runtime.Conn) error {
	if err := c.SendText(ctx, c.Request().URL.Path); err != nil {
		return err
	}
	return c.SendText(ctx, c.Username())
}

// sendUser is a handler that sends the authenticated user name.
func sendUser(ctx context.Context, c *runtime.Conn) error { return c.SendText(ctx, c.Username()) }

// startH2 serves h with net/http over TLS with HTTP/2 (and HTTP/1.1), and
// returns the wss:// URL of path and the DialOptions to reach it over
// HTTP/2.
func startH2(t *testing.T, h http.Handler, path string) (string, *runtime.DialOptions) {
	t.Helper()
	ts := httptest.NewUnstartedServer(h)
	ts.EnableHTTP2 = true
	ts.StartTLS()
	t.Cleanup(ts.Close)
	roots := x509.NewCertPool()
	roots.AddCert(ts.Certificate())
	return "wss://" + ts.Listener.Addr().String() + path,
		&runtime.DialOptions{HTTP2: true, TLSConfig: &tls.Config{RootCAs: roots}}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func dial(t *testing.T, url string, o *runtime.DialOptions) *runtime.Conn {
	t.Helper()
	c, _, err := runtime.Dial(testCtx(t), url, o)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// recvText returns the text of the next message on c.
func recvText(t *testing.T, c *runtime.Conn) string {
	t.Helper()
	select {
	case m, ok := <-c.Messages():
		if !ok {
			t.Fatalf("connection ended: %v", c.Err())
		}
		return m.Text()
	case <-time.After(5 * time.Second):
		t.Fatal("no message within 5s")
	}
	return ""
}

func bodyOf(se *ws.StatusError) []byte {
	if se == nil {
		return nil
	}
	return se.Body
}

// countRequests counts the handshake requests a hook sees, by the remote
// address they come from.
type countRequests struct {
	mu      sync.Mutex
	remotes []string
}

func (c *countRequests) add(r *http.Request) {
	c.mu.Lock()
	c.remotes = append(c.remotes, r.RemoteAddr)
	c.mu.Unlock()
}

func (c *countRequests) get() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.remotes...)
}

// digestEndpoint serves Digest-protected WebSocket connections that send
// back the authenticated user name, counting the requests.
func digestEndpoint(a *DigestAuth, count *countRequests) *runtime.Server {
	return &runtime.Server{
		Options: runtime.ServerOptions{ProcessRequest: func(ctx context.Context, r *http.Request) (*runtime.Response, error) {
			count.add(r)
			return a.ProcessRequest(ctx, r)
		}},
		Handler: sendUser,
	}
}
