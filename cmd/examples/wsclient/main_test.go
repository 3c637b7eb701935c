package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tetherws/tether/runtime"
	"github.com/tetherws/tether/ws"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const waitLimit = 10 * time.Second

// output is a concurrency-safe writer that tests can wait on.
type output struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func newOutput() *output { return &output{changed: make(chan struct{}, 1)} }

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	n, err := o.buf.Write(p)
	o.mu.Unlock()
	select {
	case o.changed <- struct{}{}:
	default:
	}
	return n, err
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// waitFor waits until the output contains s.
func (o *output) waitFor(t *testing.T, s string) {
	t.Helper()
	timeout := time.After(waitLimit)
	for !strings.Contains(o.String(), s) {
		select {
		case <-o.changed:
		case <-timeout:
			t.Fatalf("no %q in output:\n%s", s, o.String())
		}
	}
}

// waitForCount waits until s appears at least n times in the output.
func (o *output) waitForCount(t *testing.T, s string, n int) {
	t.Helper()
	timeout := time.After(waitLimit)
	for strings.Count(o.String(), s) < n {
		select {
		case <-o.changed:
		case <-timeout:
			t.Fatalf("fewer than %d %q in output:\n%s", n, s, o.String())
		}
	}
}

// startServer serves handler on 127.0.0.1:0 (TLS when tlsCfg is set) and
// returns its URL; the server is shut down at the end of the test.
func startServer(t *testing.T, opts runtime.ServerOptions, tlsCfg *tls.Config, handler runtime.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &runtime.Server{Handler: handler, Options: opts, TLSConfig: tlsCfg}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; !errors.Is(err, runtime.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	scheme := "ws://"
	if tlsCfg != nil {
		scheme = "wss://"
	}
	return scheme + ln.Addr().String() + "/"
}

func echo(ctx context.Context, c *runtime.Conn) error {
	for m := range c.Messages() {
		err := c.Send(ctx, m.Type, m.Data)
		m.Release()
		if err != nil {
			return nil
		}
	}
	return nil
}

// client is a run of the client logic with piped stdin.
type client struct {
	stdin          *io.PipeWriter
	stdout, stderr *output
	status         chan int
	cancel         context.CancelFunc
}

func startClient(t *testing.T, cfg config) *client {
	t.Helper()
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	c := &client{stdin: pw, stdout: newOutput(), stderr: newOutput(), status: make(chan int, 1), cancel: cancel}
	go func() { c.status <- run(ctx, cfg, pr, c.stdout, c.stderr) }()
	t.Cleanup(func() {
		cancel()
		_ = pw.Close() // ends the stdin reader goroutine
		select {
		case <-c.status:
		case <-time.After(waitLimit):
			t.Error("client did not return")
		}
	})
	return c
}

// send writes lines to the client's stdin.
func (c *client) send(t *testing.T, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if _, err := io.WriteString(c.stdin, l+"\n"); err != nil {
			t.Fatal(err)
		}
	}
}

// wait waits for the exit status.
func (c *client) wait(t *testing.T) int {
	t.Helper()
	select {
	case s := <-c.status:
		c.status <- s // for the cleanup
		return s
	case <-time.After(waitLimit):
		t.Fatalf("client did not return; stdout:\n%s\nstderr:\n%s", c.stdout, c.stderr)
		return -1
	}
}

// closeRecorder is a handler that echoes and then reports the close frame
// it received.
func closeRecorder() (runtime.Handler, <-chan *ws.CloseFrame) {
	ch := make(chan *ws.CloseFrame, 1)
	return func(ctx context.Context, c *runtime.Conn) error {
		err := echo(ctx, c)
		// Messages is closed: the connection has ended.
		ch <- c.CloseStatus().Rcvd
		return err
	}, ch
}

func recvClose(t *testing.T, ch <-chan *ws.CloseFrame) *ws.CloseFrame {
	t.Helper()
	select {
	case f := <-ch:
		return f
	case <-time.After(waitLimit):
		t.Fatal("server connection did not end")
		return nil
	}
}

func TestEchoPingBinaryAndEOF(t *testing.T) {
	h, closed := closeRecorder()
	url := startServer(t, runtime.ServerOptions{}, nil, h)
	c := startClient(t, config{URL: url})

	c.stdout.waitFor(t, "Connected to "+url+".\n")
	c.send(t, "hello, tether")
	c.stdout.waitFor(t, "< hello, tether\n")
	c.send(t, "//slash")
	c.stdout.waitFor(t, "< /slash\n")
	c.send(t, "/ping abc")
	c.stdout.waitFor(t, "Pong received: RTT ")
	c.send(t, "/ping")
	c.stdout.waitForCount(t, "Pong received: RTT ", 2)
	c.send(t, "/binary 00 01 ff", "/binary "+strings.Repeat("ab", 100))
	c.stdout.waitFor(t, "< (binary) 3 bytes: 0001ff\n")
	c.stdout.waitFor(t, "< (binary) 100 bytes: "+strings.Repeat("ab", 64)+"…\n")
	c.send(t, "/binary zz", "/nope")
	c.stderr.waitFor(t, "/binary: encoding/hex")
	c.stderr.waitFor(t, "unknown command /nope")

	_ = c.stdin.Close() // Ctrl-D
	if s := c.wait(t); s != 0 {
		t.Fatalf("exit %d; stderr:\n%s", s, c.stderr)
	}
	if out := c.stdout.String(); !strings.HasSuffix(out, "Connection closed: 1000 (OK).\n") {
		t.Fatalf("stdout:\n%s", out)
	}
	if f := recvClose(t, closed); f == nil || f.Code != ws.CloseNormal {
		t.Fatalf("server received close %v, want 1000", f)
	}
	if strings.Count(c.stdout.String(), "Pong received") != 2 {
		t.Fatalf("stdout:\n%s", c.stdout)
	}
}

func TestCloseCommand(t *testing.T) {
	h, closed := closeRecorder()
	url := startServer(t, runtime.ServerOptions{}, nil, h)
	c := startClient(t, config{URL: url})
	c.send(t, "/close 4000 bye")
	if s := c.wait(t); s != 0 {
		t.Fatalf("exit %d; stderr:\n%s", s, c.stderr)
	}
	f := recvClose(t, closed)
	if f == nil || f.Code != 4000 || f.Reason != "bye" {
		t.Fatalf("server received close %v, want 4000 bye", f)
	}
	c.stdout.waitFor(t, "Connection closed: 4000 (private use) bye.\n")
}

func TestCloseCommandRejectsBadCode(t *testing.T) {
	url := startServer(t, runtime.ServerOptions{}, nil, echo)
	c := startClient(t, config{URL: url})
	c.send(t, "/close 999", "/close x")
	c.stderr.waitFor(t, "/close: ws: invalid status code 999")
	c.stderr.waitFor(t, `/close: bad code "x"`)
	_ = c.stdin.Close()
	if s := c.wait(t); s != 0 {
		t.Fatalf("exit %d; stderr:\n%s", s, c.stderr)
	}
}

func TestServerCloses1011(t *testing.T) {
	url := startServer(t, runtime.ServerOptions{}, nil, func(ctx context.Context, c *runtime.Conn) error {
		return c.Close(ws.CloseInternalError, "oops")
	})
	c := startClient(t, config{URL: url})
	// stdin stays open: the server's close ends the session.
	if s := c.wait(t); s != 1 {
		t.Fatalf("exit %d, want 1", s)
	}
	c.stdout.waitFor(t, "Connection closed: 1011 (internal error) oops.\n")
	c.stderr.waitFor(t, "wsclient: received 1011 (internal error) oops; then sent 1011 (internal error) oops")
}

func TestCancelClosesWith1000(t *testing.T) {
	h, closed := closeRecorder()
	url := startServer(t, runtime.ServerOptions{}, nil, h)
	c := startClient(t, config{URL: url})
	c.stdout.waitFor(t, "Connected to ")
	c.cancel() // what SIGINT does in main
	if s := c.wait(t); s != 0 {
		t.Fatalf("exit %d; stderr:\n%s", s, c.stderr)
	}
	if f := recvClose(t, closed); f == nil || f.Code != ws.CloseNormal {
		t.Fatalf("server received close %v, want 1000", f)
	}
}

func TestHeadersOriginSubprotocol(t *testing.T) {
	got := make(chan http.Header, 1)
	opts := runtime.ServerOptions{
		Handshake: ws.ServerHandshake{Subprotocols: []string{"b"}, Origins: []string{"https://example.test"}},
		ProcessRequest: func(ctx context.Context, r *http.Request) (*runtime.Response, error) {
			got <- r.Header.Clone()
			return nil, nil
		},
	}
	url := startServer(t, opts, nil, echo)
	cfg, err := parseArgs([]string{
		"-H", "X-Token: s3cret", "-H", "X-Multi: 1", "-H", "X-Multi:2",
		"-origin", "https://example.test", "-subprotocol", "a, b", "-no-proxy", url,
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	c := startClient(t, cfg)
	var h http.Header
	select {
	case h = <-got:
	case <-time.After(waitLimit):
		t.Fatal("no request")
	}
	if v := h.Get("X-Token"); v != "s3cret" {
		t.Errorf("X-Token = %q", v)
	}
	if v := h.Values("X-Multi"); !slices.Equal(v, []string{"1", "2"}) {
		t.Errorf("X-Multi = %q", v)
	}
	if v := h.Get("Origin"); v != "https://example.test" {
		t.Errorf("Origin = %q", v)
	}
	if v := h.Get("Sec-WebSocket-Protocol"); v != "a, b" {
		t.Errorf("Sec-WebSocket-Protocol = %q", v)
	}
	c.stdout.waitFor(t, "Subprotocol: b.\n")
	_ = c.stdin.Close()
	if s := c.wait(t); s != 0 {
		t.Fatalf("exit %d; stderr:\n%s", s, c.stderr)
	}
}

func TestBinaryModeAndPeriodicPing(t *testing.T) {
	url := startServer(t, runtime.ServerOptions{}, nil, echo)
	c := startClient(t, config{URL: url, Binary: true, PingEvery: 5 * time.Millisecond})
	c.send(t, "hi")
	c.stdout.waitFor(t, "< (binary) 2 bytes: 6869\n")
	c.stdout.waitFor(t, "Pong received: RTT ")
	_ = c.stdin.Close()
	if s := c.wait(t); s != 0 {
		t.Fatalf("exit %d; stderr:\n%s", s, c.stderr)
	}
}

// selfSigned returns a TLS configuration with a fresh self-signed
// certificate for 127.0.0.1.
func selfSigned(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "wsclient test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

func TestInsecureTLS(t *testing.T) {
	url := startServer(t, runtime.ServerOptions{}, selfSigned(t), echo)

	// Without -insecure the certificate is rejected.
	c := startClient(t, config{URL: url})
	if s := c.wait(t); s != 1 {
		t.Fatalf("exit %d without -insecure, want 1", s)
	}
	c.stderr.waitFor(t, "Failed to connect to "+url+": ")
	c.stderr.waitFor(t, "certificate")

	c = startClient(t, config{URL: url, Insecure: true})
	c.stdout.waitFor(t, "Connected to "+url+".\n")
	c.send(t, "over tls")
	c.stdout.waitFor(t, "< over tls\n")
	_ = c.stdin.Close()
	if s := c.wait(t); s != 0 {
		t.Fatalf("exit %d; stderr:\n%s", s, c.stderr)
	}
}

func TestParseArgs(t *testing.T) {
	cfg, err := parseArgs([]string{"-proxy", "socks5h://127.0.0.1:1080", "-ping", "2s", "-binary", "ws://x/"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Proxy != "socks5h://127.0.0.1:1080" || cfg.PingEvery != 2*time.Second || !cfg.Binary || cfg.URL != "ws://x/" {
		t.Fatalf("cfg = %+v", cfg)
	}
	if o := cfg.dialOptions(); o.Proxy == nil || o.TLSConfig != nil {
		t.Fatalf("dial options = %+v", o)
	}
	for _, args := range [][]string{
		{},
		{"ws://a/", "ws://b/"},
		{"-proxy", "http://p:1", "-no-proxy", "ws://x/"},
		{"-H", "no colon", "ws://x/"},
		{"-ping", "-1s", "ws://x/"},
	} {
		if _, err := parseArgs(args, io.Discard); err == nil {
			t.Errorf("parseArgs(%q) succeeded", args)
		}
	}
}

func TestFormatMessage(t *testing.T) {
	for _, tc := range []struct {
		m    runtime.Message
		want string
	}{
		{runtime.Message{Type: ws.OpText, Data: []byte("héllo")}, "< héllo"},
		{runtime.Message{Type: ws.OpBinary}, "< (binary) 0 bytes"},
		{runtime.Message{Type: ws.OpBinary, Data: make([]byte, 64)}, "< (binary) 64 bytes: " + strings.Repeat("00", 64)},
		{runtime.Message{Type: ws.OpBinary, Data: make([]byte, 65)}, "< (binary) 65 bytes: " + strings.Repeat("00", 64) + "…"},
	} {
		if got := formatMessage(tc.m); got != tc.want {
			t.Errorf("formatMessage = %q, want %q", got, tc.want)
		}
	}
}
