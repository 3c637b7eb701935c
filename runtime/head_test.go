package runtime

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/tetherws/tether/runtime/proxy"
	"github.com/tetherws/tether/ws"
)

// drip writes b to nc one byte per write.
func drip(nc net.Conn, b string) error {
	for i := 0; i < len(b); i++ {
		if _, err := nc.Write([]byte{b[i]}); err != nil {
			return err
		}
	}
	return nil
}

// extraHeaders returns n header lines of about size bytes each.
func extraHeaders(n, size int) []string {
	h := make([]string, n)
	for i := range h {
		h[i] = fmt.Sprintf("X-Pad-%d: %s", i, strings.Repeat("p", size))
	}
	return h
}

// TestServerReadsARequestHeadDrippedOneBytePerWrite: a client that sends
// its request one byte per write still gets its connection.
func TestServerReadsARequestHeadDrippedOneBytePerWrite(t *testing.T) {
	addr := hostOf(startServer(t, &Server{Handler: echoHandler}))
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	if err := drip(nc, wsRequest("GET", "/", addr, extraHeaders(20, 100)...)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("response %v, %v", resp, err)
	}
	p := &rawPeer{t: t, nc: nc, br: br, mask: true}
	p.send(true, ws.OpText, []byte("after the drip"))
	if f := p.expect(ws.OpText); string(f.Payload) != "after the drip" {
		t.Fatalf("echo %q", f.Payload)
	}
}

// headServer listens on loopback and answers every handshake with the
// response head that respond returns (given the accept key), written one
// byte per write when dripped, then the bytes of after.
func headServer(t *testing.T, respond func(accept string) string, after string, dripped bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { _ = ln.Close(); <-done })
	go func() {
		defer close(done)
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = nc.Close() })
			req, err := http.ReadRequest(bufio.NewReader(nc))
			if err != nil {
				_ = nc.Close()
				continue
			}
			h := sha1.Sum([]byte(req.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
			out := respond(base64.StdEncoding.EncodeToString(h[:])) + after
			if dripped {
				_ = drip(nc, out)
			} else {
				_, _ = io.WriteString(nc, out)
			}
		}
	}()
	return "ws://" + ln.Addr().String() + "/"
}

// upgradeResponse is a 101 response with extra header lines.
func upgradeResponse(accept string, extra ...string) string {
	return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
		accept + "\r\n" + strings.Join(append(extra, ""), "\r\n") + "\r\n"
}

// TestDialReadsAResponseHeadDrippedOneBytePerWrite: a server that answers
// one byte per write, with a frame right behind its head, is understood:
// the bytes past the head are the connection's first.
func TestDialReadsAResponseHeadDrippedOneBytePerWrite(t *testing.T) {
	frame := string(appendFrame(nil, true, ws.OpText, []byte("first"), false))
	url := headServer(t, func(accept string) string { return upgradeResponse(accept, extraHeaders(20, 100)...) }, frame, true)
	c := dial(t, url, &DialOptions{Options: Options{PingInterval: -1}})
	if m := recv(t, c); m.Text() != "first" {
		t.Fatalf("first message %q", m.Data)
	}
}

// TestProxyConnectAnswerDrippedOneBytePerWrite: an HTTP proxy that answers
// CONNECT one byte per write still makes a tunnel.
func TestProxyConnectAnswerDrippedOneBytePerWrite(t *testing.T) {
	target := hostOf(startServer(t, &Server{Handler: echoHandler}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { _ = ln.Close(); <-done })
	go func() {
		defer close(done)
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		br := bufio.NewReader(nc)
		req, err := http.ReadRequest(br)
		if err != nil || req.Method != http.MethodConnect {
			return
		}
		up, err := net.Dial("tcp", req.Host)
		if err != nil {
			return
		}
		defer up.Close()
		if drip(nc, "HTTP/1.1 200 Connection established\r\nVia: 1.1 dripping-proxy\r\n\r\n") != nil {
			return
		}
		go func() { _, _ = io.Copy(up, br); _ = up.(*net.TCPConn).CloseWrite() }()
		_, _ = io.Copy(nc, up)
	}()
	c := dial(t, "ws://"+target+"/", &DialOptions{Proxy: proxy.URL("http://" + ln.Addr().String())})
	if err := c.SendText(testCtx(t), "through the proxy"); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, c); m.Text() != "through the proxy" {
		t.Fatalf("echo %q", m.Data)
	}
	if err := c.Close(ws.CloseNormal, ""); err != nil {
		t.Fatal(err)
	}
}

// TestServerHeadLimitsJustUnderAndJustOver sends requests at each limit
// and one byte past it, whole and dripped.
func TestServerHeadLimitsJustUnderAndJustOver(t *testing.T) {
	lim := ws.Limits{MaxLineLength: 300, MaxHeaders: 12}
	addr := hostOf(startServer(t, &Server{Handler: echoHandler, Options: ServerOptions{Options: Options{Limits: lim}}}))
	// wsRequest sends 5 header lines; the request line is
	// "GET <target> HTTP/1.1\r\n".
	target := func(line int) string { return "/" + strings.Repeat("t", line-len("GET / HTTP/1.1\r\n")) }
	header := func(line int) string { return "X-Long: " + strings.Repeat("h", line-len("X-Long: \r\n")) }
	tests := []struct {
		name    string
		request string
		status  int
	}{
		{"request line at the limit", wsRequest("GET", target(300), addr), 101},
		{"request line over the limit", wsRequest("GET", target(301), addr), 414},
		{"header line at the limit", wsRequest("GET", "/", addr, header(300)), 101},
		{"header line over the limit", wsRequest("GET", "/", addr, header(301)), 431},
		{"headers at the limit", wsRequest("GET", "/", addr, extraHeaders(7, 1)...), 101},
		{"headers over the limit", wsRequest("GET", "/", addr, extraHeaders(8, 1)...), 431},
	}
	for _, tt := range tests {
		for _, dripped := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/dripped=%v", tt.name, dripped), func(t *testing.T) {
				nc, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				defer nc.Close()
				if dripped {
					err = drip(nc, tt.request)
				} else {
					_, err = io.WriteString(nc, tt.request)
				}
				if err != nil {
					t.Fatal(err)
				}
				resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
				if err != nil || resp.StatusCode != tt.status {
					t.Fatalf("response %v, %v; want %d", resp, err, tt.status)
				}
			})
		}
	}
}

// TestDialHeadLimitsJustUnderAndJustOver: the client applies the same
// limits to the server's response.
func TestDialHeadLimitsJustUnderAndJustOver(t *testing.T) {
	lim := ws.Limits{MaxLineLength: 300, MaxHeaders: 12}
	statusLine := func(line int) string {
		return "HTTP/1.1 101 " + strings.Repeat("r", line-len("HTTP/1.1 101 \r\n"))
	}
	header := func(line int) string { return "X-Long: " + strings.Repeat("h", line-len("X-Long: \r\n")) }
	tests := []struct {
		name    string
		respond func(accept string) string
		ok      bool
	}{
		{"status line at the limit", func(a string) string {
			return strings.Replace(upgradeResponse(a), "HTTP/1.1 101 Switching Protocols", statusLine(300), 1)
		}, true},
		{"status line over the limit", func(a string) string {
			return strings.Replace(upgradeResponse(a), "HTTP/1.1 101 Switching Protocols", statusLine(301), 1)
		}, false},
		{"header line at the limit", func(a string) string { return upgradeResponse(a, header(300)) }, true},
		{"header line over the limit", func(a string) string { return upgradeResponse(a, header(301)) }, false},
		{"headers at the limit", func(a string) string { return upgradeResponse(a, extraHeaders(9, 1)...) }, true},
		{"headers over the limit", func(a string) string { return upgradeResponse(a, extraHeaders(10, 1)...) }, false},
	}
	for _, tt := range tests {
		for _, dripped := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/dripped=%v", tt.name, dripped), func(t *testing.T) {
				url := headServer(t, tt.respond, "", dripped)
				c, _, err := Dial(testCtx(t), url, &DialOptions{Options: Options{Limits: lim, PingInterval: -1}})
				if tt.ok {
					if err != nil {
						t.Fatal(err)
					}
					c.CloseNow()
					return
				}
				var he *ws.HandshakeError
				if err == nil {
					c.CloseNow()
				}
				if !errors.Is(err, ws.ErrSecurityLimit) || !errors.As(err, &he) {
					t.Fatalf("Dial = %v, want a security limit error", err)
				}
			})
		}
	}
}
