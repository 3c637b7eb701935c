package runtime

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"testing"

	"github.com/tetherws/tether/runtime/internal/proxytest"
)

// testTLS returns a self-signed certificate for 127.0.0.1, localhost,
// *.test and ws.example, and a pool that trusts it.
func testTLS(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	return proxytest.Certificate()
}

// startEchoServer serves echoHandler (with so) and returns its host:port.
func startEchoServer(t *testing.T, so ServerOptions) string {
	t.Helper()
	u := startServer(t, &Server{Handler: echoHandler, Options: so})
	return u[len("ws://") : len(u)-1]
}

// startTLSEchoServer serves echoHandler over TLS and returns host:port.
func startTLSEchoServer(t *testing.T) string {
	t.Helper()
	cert, _ := testTLS(t)
	u := startServer(t, &Server{Handler: echoHandler, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}})
	return u[len("ws://") : len(u)-1]
}

// echoOnce sends text on c and checks that it comes back.
func echoOnce(t *testing.T, c *Conn, text string) {
	t.Helper()
	if err := c.SendText(testCtx(t), text); err != nil {
		t.Fatalf("Send: %v", err)
	}
	m := recv(t, c)
	if string(m.Data) != text {
		t.Fatalf("echo = %q, want %q", m.Data, text)
	}
}

// dialVia dials through a DialContext that maps fake host names to real
// addresses (for tests that must not depend on DNS).
func dialVia(routes map[string]string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if to, ok := routes[addr]; ok {
			addr = to
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
}
