package runtime

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/tetherws/tether/runtime/internal/h2stream"
	_ "github.com/tetherws/tether/runtime/xconnect" // RFC 8441 in net/http's HTTP/2 server
	"github.com/tetherws/tether/ws"
)

// h2Modes are the two ways to reach an HTTP/2 server: TLS with ALPN h2,
// and cleartext with prior knowledge (h2c).
var h2Modes = []string{"tls", "h2c"}

// startH2 serves h with net/http over HTTP/2 and HTTP/1.1 (TLS with ALPN
// h2 and http/1.1, or cleartext h2c with prior knowledge and HTTP/1.1),
// and returns the ws:// or wss:// URL of path and the DialOptions to
// reach it over HTTP/2.
func startH2(t *testing.T, mode string, h http.Handler, path string) (string, *DialOptions) {
	t.Helper()
	ts := httptest.NewUnstartedServer(h)
	ts.Config.ErrorLog = nil
	o := &DialOptions{HTTP2: true}
	scheme := "ws"
	switch mode {
	case "tls":
		serverTLS, clientTLS := selfSigned(t)
		serverTLS.NextProtos = []string{"h2", "http/1.1"}
		ts.TLS = serverTLS
		ts.EnableHTTP2 = true
		ts.StartTLS()
		o.TLSConfig = clientTLS
		scheme = "wss"
	case "h2c":
		p := new(http.Protocols)
		p.SetHTTP1(true)
		p.SetUnencryptedHTTP2(true)
		ts.Config.Protocols = p
		ts.Start()
	default:
		t.Fatalf("mode %q", mode)
	}
	t.Cleanup(ts.Close)
	return scheme + "://" + ts.Listener.Addr().String() + path, o
}

// h2Pair starts a Server (as an http.Handler) over HTTP/2 and dials it
// over HTTP/2: it returns both ends.
func h2Pair(t *testing.T, mode string, so *ServerOptions, do *DialOptions) (client, server *Conn) {
	t.Helper()
	sink := newConnSink()
	s := &Server{Handler: sink.handler}
	if so != nil {
		s.Options = *so
	}
	u, o := startH2(t, mode, s, "/ws")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	if do != nil {
		do.HTTP2, do.TLSConfig = true, o.TLSConfig
		o = do
	}
	client = dial(t, u, o)
	server = sink.next(t)
	return client, server
}

func TestH2EchoesMessages(t *testing.T) {
	large := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB: many flow-control windows
	for _, mode := range h2Modes {
		t.Run(mode, func(t *testing.T) {
			s := &Server{Handler: echoHandler}
			u, o := startH2(t, mode, s, "/echo")
			o.MaxMessageSize = 8 << 20
			o.DisableCompression = true
			s.Options.MaxMessageSize = 8 << 20
			c := dial(t, u, o)
			if r := c.Response(); r.ProtoMajor != 2 || r.StatusCode != http.StatusOK {
				t.Fatalf("response %s %d, want HTTP/2.0 200", r.Proto, r.StatusCode)
			}
			if r := c.Request(); r.Method != http.MethodConnect || r.Header.Get(ws.ProtocolPseudoHeader) != "websocket" {
				t.Fatalf("request %s %v", r.Method, r.Header)
			}
			ctx := testCtx(t)
			for _, m := range []struct {
				typ  ws.Opcode
				data []byte
			}{
				{ws.OpText, []byte("hello over HTTP/2")},
				{ws.OpBinary, []byte{0, 1, 2, 0xff}},
				{ws.OpText, nil},
				{ws.OpBinary, large},
			} {
				if err := c.Send(ctx, m.typ, m.data); err != nil {
					t.Fatal(err)
				}
				got := recv(t, c)
				if got.Type != m.typ || !bytes.Equal(got.Data, m.data) {
					t.Fatalf("echo of %d bytes (%v): got %d bytes (%v)", len(m.data), m.typ, len(got.Data), got.Type)
				}
				got.Release()
			}
			if _, err := c.Ping(ctx, []byte("p")); err != nil {
				t.Fatalf("Ping: %v", err)
			}
			if err := c.Close(ws.CloseNormal, ""); err != nil {
				t.Fatal(err)
			}
			if err := c.Err(); err != nil {
				t.Fatalf("Err after a clean close: %v", err)
			}
		})
	}
}

func TestH2NegotiatesCompressionAndSubprotocol(t *testing.T) {
	for _, mode := range h2Modes {
		t.Run(mode, func(t *testing.T) {
			so := &ServerOptions{Handshake: ws.ServerHandshake{Subprotocols: []string{"chat"}}}
			client, server := h2Pair(t, mode, so, &DialOptions{Subprotocols: []string{"superchat", "chat"}})
			for _, c := range []*Conn{client, server} {
				if c.Subprotocol() != "chat" {
					t.Errorf("subprotocol %q, want chat", c.Subprotocol())
				}
				if len(c.Extensions()) != 1 || c.Extensions()[0].Name() != "permessage-deflate" {
					t.Errorf("extensions %v, want permessage-deflate", c.Extensions())
				}
			}
			if got := client.Response().Header.Get("Sec-WebSocket-Extensions"); !strings.HasPrefix(got, "permessage-deflate") {
				t.Errorf("Sec-WebSocket-Extensions %q", got)
			}
			text := strings.Repeat("compressible text ", 10000)
			ctx := testCtx(t)
			if err := client.Send(ctx, ws.OpText, []byte(text)); err != nil {
				t.Fatal(err)
			}
			if m := recv(t, server); string(m.Data) != text {
				t.Fatalf("server got %d bytes", len(m.Data))
			}
			if err := server.Send(ctx, ws.OpText, []byte(text)); err != nil {
				t.Fatal(err)
			}
			if m := recv(t, client); string(m.Data) != text {
				t.Fatalf("client got %d bytes", len(m.Data))
			}
		})
	}
}

func TestH2ClosingHandshake(t *testing.T) {
	for _, mode := range h2Modes {
		t.Run(mode+"/client closes", func(t *testing.T) {
			client, server := h2Pair(t, mode, nil, nil)
			if err := client.Close(ws.CloseNormal, "bye"); err != nil {
				t.Fatal(err)
			}
			wantEnd(t, "client", client, "sent 1000 (OK) bye; then received 1000 (OK) bye", true)
			wantEnd(t, "server", server, "received 1000 (OK) bye; then sent 1000 (OK) bye", true)
		})
		t.Run(mode+"/server closes", func(t *testing.T) {
			client, server := h2Pair(t, mode, nil, nil)
			if err := server.Close(4000, "custom"); err != nil {
				t.Fatal(err)
			}
			wantEnd(t, "server", server, "sent 4000 (private use) custom; then received 4000 (private use) custom", false)
			wantEnd(t, "client", client, "received 4000 (private use) custom; then sent 4000 (private use) custom", false)
		})
		t.Run(mode+"/shutdown", func(t *testing.T) {
			sink := newConnSink()
			s := &Server{Handler: sink.handler}
			u, o := startH2(t, mode, s, "/")
			client := dial(t, u, o)
			sink.next(t)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := s.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			wantEnd(t, "client", client, "received 1001 (going away); then sent 1001 (going away)", true)
		})
		t.Run(mode+"/client aborts", func(t *testing.T) {
			client, server := h2Pair(t, mode, nil, nil)
			client.CloseNow()
			if err := waitDone(t, server); err == nil || server.CloseStatus().Rcvd != nil {
				t.Fatalf("server Err %v, close status %v: want an abnormal end", err, server.CloseStatus())
			}
		})
	}
}

// TestH2AcceptInHandler pins the plain Accept pattern over HTTP/2: the
// deferred Close keeps the handler, and so the stream, alive until the
// connection has ended.
func TestH2AcceptInHandler(t *testing.T) {
	for _, mode := range h2Modes {
		t.Run(mode, func(t *testing.T) {
			handlerDone := make(chan struct{})
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				defer close(handlerDone)
				conn, err := Accept(w, r, nil)
				if err != nil {
					return
				}
				defer conn.Close(ws.CloseNormal, "")
				for m := range conn.Messages() {
					_ = conn.Send(r.Context(), m.Type, append([]byte("echo: "), m.Data...))
				}
			})
			u, o := startH2(t, mode, h, "/")
			c := dial(t, u, o)
			if err := c.Send(testCtx(t), ws.OpText, []byte("hi")); err != nil {
				t.Fatal(err)
			}
			if m := recv(t, c); string(m.Data) != "echo: hi" {
				t.Fatalf("got %q", m.Data)
			}
			if err := c.Close(ws.CloseNormal, ""); err != nil || c.Err() != nil {
				t.Fatalf("Close %v, Err %v", err, c.Err())
			}
			<-handlerDone
		})
	}
}

// TestH2HandlerReturningEarlyEndsConnection: a handler that returns while
// the connection is open ends the stream; the connection fails on both
// sides instead of hanging.
func TestH2HandlerReturningEarlyEndsConnection(t *testing.T) {
	server := make(chan *Conn, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := Accept(w, r, nil)
		if err == nil {
			server <- conn
		}
	})
	u, o := startH2(t, "h2c", h, "/")
	c := dial(t, u, o)
	s := <-server
	if err := waitDone(t, s); err == nil {
		t.Error("server: Err nil after the handler returned")
	}
	if err := waitDone(t, c); err == nil {
		t.Error("client: Err nil after the handler returned")
	}
}

func TestH2RejectsBadHandshakes(t *testing.T) {
	so := ServerOptions{Handshake: ws.ServerHandshake{Origins: []string{"https://good.example"}, AllowMissingOrigin: true}}
	for _, mode := range h2Modes {
		s := &Server{Handler: echoHandler, Options: so}
		u, o := startH2(t, mode, s, "/ws")
		for _, tt := range []struct {
			name   string
			edit   func(r *http.Request)
			status int
			body   string
		}{
			{"bad :protocol", func(r *http.Request) { r.Header[ws.ProtocolPseudoHeader] = []string{"not-websocket"} }, 501, `unsupported :protocol "not-websocket"`},
			{"bad version", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Version", "8") }, 400, `unsupported Sec-WebSocket-Version "8"`},
			{"no version", func(r *http.Request) { r.Header.Del("Sec-WebSocket-Version") }, 400, "missing Sec-WebSocket-Version"},
			{"bad origin", func(r *http.Request) { r.Header.Set("Origin", "https://evil.example") }, 403, "invalid Origin"},
		} {
			t.Run(mode+"/"+tt.name, func(t *testing.T) {
				resp, body := h2RawRequest(t, u, o, tt.edit)
				if resp.StatusCode != tt.status || !strings.Contains(string(body), tt.body) {
					t.Fatalf("got %d %q, want %d with %q", resp.StatusCode, body, tt.status, tt.body)
				}
				if resp.Header.Get("Connection") != "" || resp.Header.Get("Upgrade") != "" {
					t.Errorf("connection-specific headers in an HTTP/2 response: %v", resp.Header)
				}
				if tt.name == "bad version" && resp.Header.Get("Sec-WebSocket-Version") != "13" {
					t.Errorf("Sec-WebSocket-Version %q, want 13", resp.Header.Get("Sec-WebSocket-Version"))
				}
			})
		}
		t.Run(mode+"/Dial reports the status", func(t *testing.T) {
			o.Origin = "https://evil.example"
			_, resp, err := Dial(testCtx(t), u, o)
			var se *ws.StatusError
			if !errors.As(err, &se) || resp == nil || resp.StatusCode != http.StatusForbidden || !strings.Contains(string(se.Body), "invalid Origin") {
				t.Fatalf("Dial: %v, response %v", err, resp)
			}
		})
	}
}

// h2RawRequest sends the RFC 8441 request for u, changed by edit, on a new
// HTTP/2 connection and returns the response and its body.
func h2RawRequest(t *testing.T, u string, o *DialOptions, edit func(*http.Request)) (*http.Response, []byte) {
	t.Helper()
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := o.connect(testCtx(t), pu)
	if err != nil {
		t.Fatal(err)
	}
	req, err := (&ws.ClientHandshake{}).RequestH2(pu)
	if err != nil {
		t.Fatal(err)
	}
	edit(req)
	hc := h2stream.NewClient(nc, ws.Limits{})
	defer hc.Close()
	resp, err := hc.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := ws.ReadResponseBody(hc, resp, ws.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// TestH2ServerStillServesHTTP11: the server that takes RFC 8441 requests
// takes HTTP/1.1 upgrades on the same port (ALPN http/1.1, or cleartext
// HTTP/1.1 next to h2c).
func TestH2ServerStillServesHTTP11(t *testing.T) {
	for _, mode := range h2Modes {
		t.Run(mode, func(t *testing.T) {
			s := &Server{Handler: echoHandler}
			u, o := startH2(t, mode, s, "/")
			o.HTTP2 = false
			c := dial(t, u, o)
			if r := c.Response(); r.StatusCode != http.StatusSwitchingProtocols || r.ProtoMajor != 1 {
				t.Fatalf("response %s %d", r.Proto, r.StatusCode)
			}
			if err := c.Send(testCtx(t), ws.OpText, []byte("h1")); err != nil {
				t.Fatal(err)
			}
			if m := recv(t, c); string(m.Data) != "h1" {
				t.Fatalf("got %q", m.Data)
			}
			if err := c.Close(ws.CloseNormal, ""); err != nil || c.Err() != nil {
				t.Fatalf("Close %v, Err %v", err, c.Err())
			}
		})
	}
}

// TestH2DialWithoutServerSupport: a server that does not advertise
// SETTINGS_ENABLE_CONNECT_PROTOCOL, one that answers the h2c preface in
// HTTP/1.1, or a TLS server that does not select h2, fails Dial with
// ErrHTTP2Unsupported.
func TestH2DialWithoutServerSupport(t *testing.T) {
	t.Run("no SETTINGS_ENABLE_CONNECT_PROTOCOL", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		served := make(chan struct{})
		go func() {
			defer close(served)
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			defer nc.Close()
			preface := make([]byte, len(http2.ClientPreface))
			if _, err := io.ReadFull(nc, preface); err != nil || string(preface) != http2.ClientPreface {
				return
			}
			fr := http2.NewFramer(nc, nc)
			_ = fr.WriteSettings(http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 100})
			_, _ = io.Copy(io.Discard, nc) // until the client goes
		}()
		_, _, err = Dial(testCtx(t), "ws://"+ln.Addr().String()+"/", &DialOptions{HTTP2: true})
		if !errors.Is(err, ErrHTTP2Unsupported) || !errors.Is(err, ws.ErrInvalidHandshake) {
			t.Fatalf("Dial: %v, want ErrHTTP2Unsupported", err)
		}
		<-served
	})
	// A server that speaks no HTTP/2 at all answers the h2c preface in
	// HTTP/1.1.
	t.Run("h2c to an HTTP/1.1 server", func(t *testing.T) {
		hs := httptest.NewServer(&Server{Handler: echoHandler}) // net/http without h2c
		defer hs.Close()
		for _, u := range []string{startServer(t, &Server{Handler: echoHandler}), "ws" + strings.TrimPrefix(hs.URL, "http") + "/"} {
			_, _, err := Dial(testCtx(t), u, &DialOptions{HTTP2: true})
			if !errors.Is(err, ErrHTTP2Unsupported) || !errors.Is(err, ws.ErrInvalidHandshake) {
				t.Fatalf("Dial %s: %v, want ErrHTTP2Unsupported", u, err)
			}
		}
	})
	t.Run("no ALPN h2", func(t *testing.T) {
		s := &Server{Handler: echoHandler}
		serverTLS, clientTLS := selfSigned(t)
		clientTLS.NextProtos = []string{"h2", "http/1.1"}
		s.TLSConfig = serverTLS // Serve: HTTP/1.1 only
		u := strings.Replace(startServer(t, s), "ws://", "wss://", 1)
		_, _, err := Dial(testCtx(t), u, &DialOptions{HTTP2: true, TLSConfig: clientTLS})
		if !errors.Is(err, ErrHTTP2Unsupported) {
			t.Fatalf("Dial: %v, want ErrHTTP2Unsupported", err)
		}
	})
}

// TestH2OutlivesServerTimeouts: http.Server's ReadTimeout and WriteTimeout
// bound each HTTP/2 stream; Accept clears them, as it clears the deadlines
// of a hijacked HTTP/1.1 connection.
func TestH2OutlivesServerTimeouts(t *testing.T) {
	const timeout = 100 * time.Millisecond
	s := &Server{Handler: echoHandler}
	ts := httptest.NewUnstartedServer(s)
	ts.Config.ReadTimeout, ts.Config.WriteTimeout = timeout, timeout
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	ts.Config.Protocols = p
	ts.Start()
	defer ts.Close()
	c := dial(t, "ws://"+ts.Listener.Addr().String()+"/", &DialOptions{HTTP2: true})
	<-time.After(3 * timeout) // let the timeouts pass
	if err := c.SendText(testCtx(t), "still here"); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, c); string(m.Data) != "still here" {
		t.Fatalf("got %q", m.Data)
	}
	if err := c.Close(ws.CloseNormal, ""); err != nil || c.Err() != nil {
		t.Fatalf("Close %v, Err %v", err, c.Err())
	}
}
