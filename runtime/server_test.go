package runtime

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
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
