package runtime

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tetherws/tether/ws"
)

// rawHTTP sends a raw HTTP request to addr and returns the response with
// its body read.
func rawHTTP(t *testing.T, addr, request string) (*http.Response, string) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	go func() { _, _ = io.WriteString(nc, request) }() // may be refused midway
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func hostOf(url string) string {
	return strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(url, "ws://"), "wss://"), "/")
}

// wsRequest is a valid opening handshake request, with extra header lines.
func wsRequest(method, target, host string, extra ...string) string {
	return method + " " + target + " HTTP/1.1\r\nHost: " + host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
		strings.Join(append(extra, ""), "\r\n") + "\r\n"
}

func TestHandshakeRejectionsGetTheRightStatus(t *testing.T) {
	srv := &Server{Handler: echoHandler, Options: ServerOptions{Handshake: ws.ServerHandshake{Origins: []string{"https://good.example"}, AllowMissingOrigin: true}}}
	addr := hostOf(startServer(t, srv))
	manyHeaders := strings.Repeat("X-H: v\r\n", 129)
	tests := []struct {
		name    string
		request string
		status  int
		header  string // "Key: value" expected in the response
	}{
		{"method not GET", wsRequest("POST", "/", addr), 405, "Allow: GET"},
		{"plain HTTP GET", "GET / HTTP/1.1\r\nHost: " + addr + "\r\n\r\n", 426, "Upgrade: websocket"},
		{"bad key", strings.Replace(wsRequest("GET", "/", addr), "dGhlIHNhbXBsZSBub25jZQ==", "c2hvcnQ=", 1), 400, ""},
		{"missing version", strings.Replace(wsRequest("GET", "/", addr), "Sec-WebSocket-Version: 13\r\n", "", 1), 400, ""},
		{"bad origin", wsRequest("GET", "/", addr, "Origin: https://evil.example"), 403, ""},
		{"request line too long", wsRequest("GET", "/"+strings.Repeat("a", 9000), addr), 414, ""},
		{"too many headers", "GET / HTTP/1.1\r\nHost: " + addr + "\r\n" + manyHeaders + "\r\n", 431, ""},
		{"header line too long", wsRequest("GET", "/", addr, "X-Long: "+strings.Repeat("l", 9000)), 431, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := rawHTTP(t, addr, tt.request)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d; body %q", resp.StatusCode, tt.status, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if !strings.HasPrefix(body, "Failed to open a WebSocket connection: ") {
				t.Errorf("body %q", body)
			}
			if tt.header != "" {
				k, v, _ := strings.Cut(tt.header, ": ")
				if resp.Header.Get(k) != v {
					t.Errorf("%s = %q, want %q", k, resp.Header.Get(k), v)
				}
			}
		})
	}
	// A browser-like plain GET is told what is going on.
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 426 || !strings.Contains(string(body), "You cannot access a WebSocket server directly with a browser") {
		t.Fatalf("http.Get: %d %q", resp.StatusCode, body)
	}
}

func TestAcceptMountedOnAServeMux(t *testing.T) {
	mux := http.NewServeMux()
	accepted := make(chan *Conn, 1)
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r, nil)
		if err != nil {
			return
		}
		accepted <- c
		_ = echoHandler(r.Context(), c)
	})
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "fine") })
	hs := httptest.NewServer(mux)
	defer hs.Close()
	url := "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws"

	c := dial(t, url, nil)
	if err := c.SendText(testCtx(t), "through net/http"); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, c); m.Text() != "through net/http" {
		t.Fatalf("got %q", m.Data)
	}
	sc := <-accepted
	if sc.Request().URL.Path != "/ws" || sc.Response().StatusCode != 101 {
		t.Errorf("server side request %v response %v", sc.Request().URL, sc.Response().StatusCode)
	}
	if err := c.Close(ws.CloseNormal, ""); err != nil || c.Err() != nil {
		t.Fatalf("Close %v, Err %v", err, c.Err())
	}
	waitDone(t, sc)

	// The other routes and plain requests still work.
	resp, err := http.Get(hs.URL + "/health")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "fine" {
		t.Fatalf("health: %q", b)
	}
	resp, err = http.Get(hs.URL + "/ws")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUpgradeRequired {
		t.Fatalf("plain GET /ws: %d", resp.StatusCode)
	}
}

func TestServerAsAnHTTPHandler(t *testing.T) {
	srv := &Server{Handler: echoHandler}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	c := dial(t, "ws"+strings.TrimPrefix(hs.URL, "http")+"/", nil)
	if err := c.SendText(testCtx(t), "hi"); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, c); m.Text() != "hi" {
		t.Fatalf("got %q", m.Data)
	}
	if n := len(srv.Connections()); n != 1 {
		t.Fatalf("Connections() = %d", n)
	}
	if err := srv.Shutdown(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	wantEnd(t, "client", c, "received 1001 (going away); then sent 1001 (going away)", true)
}

func TestServeOnAUnixSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ws.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Skipf("no Unix sockets: %v", err)
	}
	serveOn(t, &Server{Handler: echoHandler}, ln)
	c := dial(t, "ws://localhost/chat", &DialOptions{UnixSocket: path})
	if err := c.SendText(testCtx(t), "over unix"); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, c); m.Text() != "over unix" {
		t.Fatalf("got %q", m.Data)
	}
	if c.Request().Host != "localhost" || c.Request().URL.Path != "/chat" {
		t.Errorf("request %v %v", c.Request().Host, c.Request().URL)
	}
	if err := c.Close(ws.CloseNormal, ""); err != nil || c.Err() != nil {
		t.Fatalf("Close %v Err %v", err, c.Err())
	}
}

func TestDialOverAPreexistingConnection(t *testing.T) {
	url := startServer(t, &Server{Handler: echoHandler})
	nc, err := net.Dial("tcp", hostOf(url))
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, "ws://example.com/", &DialOptions{NetConn: nc})
	if c.NetConn() != nc {
		t.Error("NetConn() is not the given connection")
	}
	if c.Request().Host != "example.com" {
		t.Errorf("Host %q", c.Request().Host)
	}
	if err := c.SendText(testCtx(t), "given conn"); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, c); m.Text() != "given conn" {
		t.Fatalf("got %q", m.Data)
	}
}

// selfSigned returns a server TLS config with a fresh self-signed
// certificate for 127.0.0.1 and localhost, and a client config trusting it.
func selfSigned(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "tether test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		&tls.Config{RootCAs: pool}
}

func TestServeAndDialOverTLS(t *testing.T) {
	serverTLS, clientTLS := selfSigned(t)
	sink := newConnSink()
	url := startServer(t, &Server{Handler: sink.handler, TLSConfig: serverTLS})
	wss := "wss://" + hostOf(url) + "/secure"
	c := dial(t, wss, &DialOptions{TLSConfig: clientTLS})
	sc := sink.next(t)
	if _, ok := c.NetConn().(*tls.Conn); !ok {
		t.Fatalf("client NetConn is %T", c.NetConn())
	}
	if sc.Request().TLS == nil {
		t.Fatal("server request has no TLS state")
	}
	if err := c.SendText(testCtx(t), "secret"); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, sc); m.Text() != "secret" {
		t.Fatalf("got %q", m.Data)
	}
	if err := c.Close(ws.CloseNormal, ""); err != nil {
		t.Fatal(err)
	}
	wantEnd(t, "client", c, "sent 1000 (OK); then received 1000 (OK)", true)
	wantEnd(t, "server", sc, "received 1000 (OK); then sent 1000 (OK)", true)

	// Without the certificate the client refuses the server.
	if _, _, err := Dial(testCtx(t), wss, nil); err == nil {
		t.Fatal("Dial trusted a self-signed certificate")
	}
}

// listenAddr is a slog.Handler that reports the address of the "server
// listening" record.
type listenAddr chan string

func (h listenAddr) Enabled(context.Context, slog.Level) bool { return true }
func (h listenAddr) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h listenAddr) WithGroup(string) slog.Handler            { return h }

func (h listenAddr) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "server listening" {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "addr" {
				h <- a.Value.String()
			}
			return true
		})
	}
	return nil
}

// writeKeyPair writes cert and its key as PEM files and returns their
// names.
func writeKeyPair(t *testing.T, cert tls.Certificate) (certFile, keyFile string) {
	t.Helper()
	key, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	for name, block := range map[string]*pem.Block{
		certFile: {Type: "CERTIFICATE", Bytes: cert.Certificate[0]},
		keyFile:  {Type: "PRIVATE KEY", Bytes: key},
	} {
		if err := os.WriteFile(name, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return certFile, keyFile
}

// ListenAndServeTLS runs TLS once, with the certificate of the files added
// to a copy of TLSConfig, and offers http/1.1 by ALPN.
func TestListenAndServeTLSWithAndWithoutTLSConfig(t *testing.T) {
	serverTLS, clientTLS := selfSigned(t)
	certFile, keyFile := writeKeyPair(t, serverTLS.Certificates[0])
	for name, cfg := range map[string]*tls.Config{
		"no TLSConfig":                    nil,
		"TLSConfig without a certificate": {MinVersion: tls.VersionTLS12},
	} {
		t.Run(name, func(t *testing.T) {
			listening := make(listenAddr, 1)
			sink := newConnSink()
			s := &Server{Handler: sink.handler, TLSConfig: cfg, Options: ServerOptions{Options: Options{Logger: slog.New(listening)}}}
			served := make(chan error, 1)
			go func() { served <- s.ListenAndServeTLS("127.0.0.1:0", certFile, keyFile) }()
			var addr string
			select {
			case addr = <-listening:
			case err := <-served:
				t.Fatalf("ListenAndServeTLS: %v", err)
			case <-time.After(5 * time.Second):
				t.Fatal("not listening within 5s")
			}
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				if err := s.Shutdown(ctx); err != nil {
					t.Errorf("Shutdown: %v", err)
				}
				if err := <-served; !errors.Is(err, ErrServerClosed) {
					t.Errorf("ListenAndServeTLS returned %v", err)
				}
			})
			c := dial(t, "wss://"+addr+"/", &DialOptions{TLSConfig: clientTLS})
			tc, ok := c.NetConn().(*tls.Conn)
			if !ok {
				t.Fatalf("client NetConn is %T", c.NetConn())
			}
			if p := tc.ConnectionState().NegotiatedProtocol; p != "http/1.1" {
				t.Fatalf("ALPN protocol %q, want http/1.1", p)
			}
			if cfg != nil && cfg.Certificates != nil {
				t.Fatal("TLSConfig was changed")
			}
			sc := sink.next(t)
			if err := c.SendText(testCtx(t), "over TLS"); err != nil {
				t.Fatal(err)
			}
			if m := recv(t, sc); m.Text() != "over TLS" {
				t.Fatalf("got %q", m.Data)
			}
		})
	}
	err := (&Server{}).ListenAndServeTLS("127.0.0.1:0", certFile, filepath.Join(t.TempDir(), "missing.pem"))
	if !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), "tether: ") {
		t.Fatalf("missing key file: %v", err)
	}
}

func TestProcessRequestCanAnswerInsteadOfUpgrading(t *testing.T) {
	srv := &Server{Handler: echoHandler, Options: ServerOptions{
		ProcessRequest: func(ctx context.Context, r *http.Request) (*Response, error) {
			if r.URL.Path == "/healthz" {
				return &Response{Status: http.StatusOK, Header: http.Header{"Content-Type": {"text/plain"}}, Body: []byte("OK\n")}, nil
			}
			return nil, nil
		},
	}}
	url := startServer(t, srv)
	resp, err := http.Get("http://" + hostOf(url) + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "OK\n" {
		t.Fatalf("health check: %d %q", resp.StatusCode, body)
	}
	if resp.Header.Get("Server") != ws.DefaultUserAgent {
		t.Errorf("Server header %q", resp.Header.Get("Server"))
	}
	c := dial(t, url, nil) // other paths upgrade
	if err := c.SendText(testCtx(t), "x"); err != nil {
		t.Fatal(err)
	}
	recv(t, c)
}

func TestProcessRequestErrorAnswers500(t *testing.T) {
	url := startServer(t, &Server{Handler: echoHandler, Options: ServerOptions{
		ProcessRequest: func(ctx context.Context, r *http.Request) (*Response, error) {
			return nil, errors.New("database down")
		},
	}})
	_, resp, err := Dial(testCtx(t), url, nil)
	var se *ws.StatusError
	if !errors.As(err, &se) || resp.StatusCode != 500 {
		t.Fatalf("Dial = %v", err)
	}
	if string(se.Body) != "Failed to open a WebSocket connection.\nSee server log for more information.\n" {
		t.Fatalf("body %q: the error must not leak", se.Body)
	}
}

func TestProcessRequestCanChangeTheRequestHeaders(t *testing.T) {
	sink := newConnSink()
	url := startServer(t, &Server{Handler: sink.handler, Options: ServerOptions{
		Handshake: ws.ServerHandshake{Origins: []string{"https://good.example"}},
		ProcessRequest: func(ctx context.Context, r *http.Request) (*Response, error) {
			// A trusted proxy in front rewrites the origin.
			if r.Header.Get("X-Forwarded-Origin") != "" {
				r.Header.Set("Origin", r.Header.Get("X-Forwarded-Origin"))
			}
			r.Header.Set("X-Seen-By-Hook", "yes")
			return nil, nil
		},
	}})
	c := dial(t, url, &DialOptions{Origin: "https://evil.example", Header: http.Header{"X-Forwarded-Origin": {"https://good.example"}}})
	sc := sink.next(t)
	if sc.Request().Header.Get("X-Seen-By-Hook") != "yes" || sc.Request().Header.Get("Origin") != "https://good.example" {
		t.Fatalf("request headers %v", sc.Request().Header)
	}
	c.CloseNow()
}

func TestProcessResponseAltersThe101AndReplacesRejections(t *testing.T) {
	url := startServer(t, &Server{Handler: echoHandler, Options: ServerOptions{
		Handshake: ws.ServerHandshake{Origins: []string{"https://good.example"}},
		ProcessResponse: func(ctx context.Context, r *http.Request, resp *Response) (*Response, error) {
			if resp.Status == http.StatusSwitchingProtocols {
				resp.Header.Set("X-Session", "42")
				return nil, nil
			}
			return &Response{Status: http.StatusUnauthorized, Header: http.Header{"Content-Type": {"text/plain"}}, Body: []byte("log in first\n")}, nil
		},
	}})
	c := dial(t, url, &DialOptions{Origin: "https://good.example"})
	if c.Response().Header.Get("X-Session") != "42" {
		t.Fatalf("101 headers %v", c.Response().Header)
	}
	_, resp, err := Dial(testCtx(t), url, &DialOptions{Origin: "https://evil.example"})
	var se *ws.StatusError
	if !errors.As(err, &se) || resp.StatusCode != 401 || string(se.Body) != "log in first\n" {
		t.Fatalf("Dial = %v, body %q", err, se.Body)
	}
}

func TestServerHeader(t *testing.T) {
	tests := []struct {
		name string
		opts ServerOptions
		want []string
	}{
		{"default", ServerOptions{}, []string{ws.DefaultUserAgent}},
		{"custom", ServerOptions{ServerHeader: "custom/1.0"}, []string{"custom/1.0"}},
		{"omitted", ServerOptions{OmitServerHeader: true}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := startServer(t, &Server{Handler: echoHandler, Options: tt.opts})
			c := dial(t, url, nil)
			if got := c.Response().Header.Values("Server"); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("101: Server = %q, want %q", got, tt.want)
			}
			resp, _ := rawHTTP(t, hostOf(url), "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			if got := resp.Header.Values("Server"); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("426: Server = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSubprotocolNegotiation(t *testing.T) {
	tests := []struct {
		name    string
		server  []string
		offered []string
		want    string
		status  int // rejection, or 0
	}{
		{"server preference wins", []string{"chat", "superchat"}, []string{"superchat", "chat"}, "chat", 0},
		{"one in common", []string{"chat", "superchat"}, []string{"other", "superchat"}, "superchat", 0},
		{"server has none", nil, []string{"chat"}, "", 0},
		{"client offers none", []string{"chat"}, nil, "", 400},
		{"nothing in common", []string{"chat"}, []string{"other"}, "", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := newConnSink()
			url := startServer(t, &Server{Handler: sink.handler, Options: ServerOptions{Handshake: ws.ServerHandshake{Subprotocols: tt.server}}})
			c, resp, err := Dial(testCtx(t), url, &DialOptions{Subprotocols: tt.offered})
			if tt.status != 0 {
				if err == nil || resp == nil || resp.StatusCode != tt.status {
					t.Fatalf("Dial = %v, want status %d", err, tt.status)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			sc := sink.next(t)
			if c.Subprotocol() != tt.want || sc.Subprotocol() != tt.want {
				t.Fatalf("client %q, server %q, want %q", c.Subprotocol(), sc.Subprotocol(), tt.want)
			}
		})
	}
}

func TestShutdownClosesConnectionsWith1001AndWaitsForHandlers(t *testing.T) {
	var handlersDone atomic.Int32
	started := make(chan struct{}, 4)
	srv := &Server{Handler: func(ctx context.Context, c *Conn) error {
		started <- struct{}{}
		for range c.Messages() {
		}
		handlersDone.Add(1) // work after the connection ended
		return nil
	}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	url := "ws://" + ln.Addr().String() + "/"
	var clients []*Conn
	for range 3 {
		clients = append(clients, dial(t, url, nil))
		<-started
	}
	if n := len(srv.Connections()); n != 3 {
		t.Fatalf("Connections() = %d, want 3", n)
	}
	if err := srv.Shutdown(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if n := handlersDone.Load(); n != 3 {
		t.Fatalf("Shutdown returned with %d of 3 handlers done", n)
	}
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve = %v", err)
	}
	if n := len(srv.Connections()); n != 0 {
		t.Fatalf("Connections() after Shutdown = %d", n)
	}
	for _, c := range clients {
		wantEnd(t, "client", c, "received 1001 (going away); then sent 1001 (going away)", true)
	}
	if _, _, err := Dial(testCtx(t), url, nil); err == nil {
		t.Fatal("Dial after Shutdown succeeded")
	}
	if err := srv.Shutdown(testCtx(t)); err != nil {
		t.Fatalf("second Shutdown = %v", err)
	}
	if err := srv.Serve(ln); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve after Shutdown = %v", err)
	}
}

func TestShutdownWithACustomCloseCode(t *testing.T) {
	sink := newConnSink()
	srv := &Server{Handler: sink.handler, CloseCode: ws.CloseServiceRestart, CloseReason: "back soon"}
	url := startServer(t, srv)
	c := dial(t, url, nil)
	sink.next(t)
	if err := srv.Shutdown(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	const f = "1012 (service restart) back soon"
	wantEnd(t, "client", c, "received "+f+"; then sent "+f, false)
}

func TestHandshakeFinishingAfterShutdownBeganGets503(t *testing.T) {
	inHook := make(chan struct{})
	release := make(chan struct{})
	srv := &Server{Handler: echoHandler, Options: ServerOptions{
		ProcessRequest: func(ctx context.Context, r *http.Request) (*Response, error) {
			close(inHook)
			<-release
			return nil, nil
		},
	}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	dialed := make(chan error, 1)
	var resp *http.Response
	go func() {
		var err error
		_, resp, err = Dial(testCtx(t), "ws://"+ln.Addr().String()+"/", nil)
		dialed <- err
	}()
	<-inHook
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(testCtx(t)) }()
	<-served // Shutdown has begun: the listener is closed
	close(release)
	err = <-dialed
	var se *ws.StatusError
	if !errors.As(err, &se) || resp.StatusCode != 503 || string(se.Body) != "Server is shutting down.\n" {
		t.Fatalf("Dial = %v", err)
	}
	if err := <-shut; err != nil {
		t.Fatal(err)
	}
}

func TestShutdownContextExpiryAbortsStuckConnections(t *testing.T) {
	sink := newConnSink()
	srv := &Server{Handler: sink.handler} // default close timeout: 10 s
	url := startServer(t, srv)
	peer := rawClient(t, url) // never answers the close frame
	sc := sink.next(t)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := srv.Shutdown(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v", err)
	}
	peer.expectClose(ws.CloseGoingAway, "")
	if _, err := peer.readFrame(); err == nil {
		t.Fatal("the stuck connection was not aborted")
	}
	if err := waitDone(t, sc); err == nil || err.Error() != "sent 1001 (going away); no close frame received" {
		t.Fatalf("server side Err = %v", err)
	}
}

func TestHandlerPanicClosesWith1011AndTheServerKeepsServing(t *testing.T) {
	url := startServer(t, &Server{Handler: func(ctx context.Context, c *Conn) error {
		m := <-c.Messages()
		if m.Text() == "panic" {
			panic("handler bug")
		}
		return c.SendText(ctx, "fine")
	}})
	c := dial(t, url, nil)
	if err := c.SendText(testCtx(t), "panic"); err != nil {
		t.Fatal(err)
	}
	wantEnd(t, "client", c, "received 1011 (internal error); then sent 1011 (internal error)", false)
	c2 := dial(t, url, nil)
	if err := c2.SendText(testCtx(t), "hello"); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, c2); m.Text() != "fine" {
		t.Fatalf("got %q", m.Data)
	}
}

func TestConnectionsListsOpenConnections(t *testing.T) {
	sink := newConnSink()
	srv := &Server{Handler: sink.handler}
	url := startServer(t, srv)
	if n := len(srv.Connections()); n != 0 {
		t.Fatalf("Connections() = %d before any client", n)
	}
	ids := map[string]bool{}
	var clients []*Conn
	for range 3 {
		clients = append(clients, dial(t, url, nil))
		ids[sink.next(t).ID()] = true
	}
	got := srv.Connections()
	if len(got) != 3 {
		t.Fatalf("Connections() = %d", len(got))
	}
	for _, c := range got {
		if !ids[c.ID()] {
			t.Errorf("unknown connection %s", c.ID())
		}
	}
	if err := clients[0].Close(ws.CloseNormal, ""); err != nil {
		t.Fatal(err)
	}
	// The server forgets the connection once its handler has returned.
	eventually(t, "Connections() = 2 after one client left", func() bool { return len(srv.Connections()) == 2 })
}

func TestConnectionTrackedAfterShutdownBeganIsClosed(t *testing.T) {
	// A handshake that passed the shutdown check just before Shutdown took
	// its list of connections: the connection must still be closed.
	srv := &Server{}
	srv.init()
	srv.shutdown = true
	client, server := pair(t, nil, nil)
	srv.track(server)
	wantEnd(t, "client", client, "received 1001 (going away); then sent 1001 (going away)", true)
}

func TestServeOnAListenerFromAFileDescriptor(t *testing.T) {
	// A listening socket inherited from elsewhere (systemd, a parent).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f, err := ln.(*net.TCPListener).File()
	ln.Close()
	if err != nil {
		t.Fatal(err)
	}
	inherited, err := net.FileListener(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	serveOn(t, &Server{Handler: echoHandler}, inherited)
	c := dial(t, "ws://"+inherited.Addr().String()+"/", nil)
	if err := c.SendText(testCtx(t), "inherited"); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, c); m.Text() != "inherited" {
		t.Fatalf("got %q", m.Data)
	}
}

func TestFramesPipelinedWithTheHandshakeRequestAreNotLost(t *testing.T) {
	sink := newConnSink()
	srv := &Server{Handler: sink.handler}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if c, err := Accept(w, r, nil); err == nil {
			sink <- c
		}
	})
	hs := httptest.NewServer(mux)
	defer hs.Close()
	for name, addr := range map[string]string{
		"Server":            hostOf(startServer(t, srv)),
		"Accept (net/http)": strings.TrimPrefix(hs.URL, "http://"),
	} {
		t.Run(name, func(t *testing.T) {
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			b := []byte(wsRequest("GET", "/", addr))
			b = appendFrame(b, true, ws.OpText, []byte("pipelined"), true)
			if _, err := nc.Write(b); err != nil {
				t.Fatal(err)
			}
			sc := sink.next(t)
			defer sc.CloseNow()
			if m := recv(t, sc); m.Text() != "pipelined" {
				t.Fatalf("got %q", m.Data)
			}
		})
	}
}

func TestRequestContextOutlivesTheOpenTimeout(t *testing.T) {
	got := make(chan error, 1)
	url := startServer(t, &Server{
		Options: ServerOptions{Options: Options{OpenTimeout: 50 * time.Millisecond}},
		Handler: func(ctx context.Context, c *Conn) error {
			// The handshake's deadline must not leak into the open
			// connection's request context.
			_, hasDeadline := c.Request().Context().Deadline()
			if hasDeadline {
				got <- errors.New("request context has the open timeout's deadline")
			} else {
				got <- c.Request().Context().Err()
			}
			return nil
		},
	})
	c := dial(t, url, nil)
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	<-c.Done()
}

// TestServerConnResponseIsThe101Sent: a server connection's Response is
// the 101 it wrote (kept as bytes, parsed on first use).
func TestServerConnResponseIsThe101Sent(t *testing.T) {
	client, server := pair(t, nil, nil)
	got, sent := server.Response(), client.Response()
	if got.StatusCode != http.StatusSwitchingProtocols || got.ProtoMajor != 1 || got.Body != nil {
		t.Fatalf("server Response = %d HTTP/%d body %v", got.StatusCode, got.ProtoMajor, got.Body)
	}
	for _, h := range []string{"Upgrade", "Connection", "Sec-WebSocket-Accept", "Sec-WebSocket-Extensions", "Date", "Server"} {
		if got.Header.Get(h) != sent.Header.Get(h) || got.Header.Get(h) == "" {
			t.Errorf("%s: server kept %q, client received %q", h, got.Header.Get(h), sent.Header.Get(h))
		}
	}
	if got.Request != server.Request() || server.Response() != got {
		t.Error("Response is not the same parsed response each time, for the handshake request")
	}
}
