package runtime

import (
	"bytes"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tetherws/tether/compress"
	"github.com/tetherws/tether/ws"
)

// countingListener counts the bytes its connections read: the server has
// read a message's bytes before it delivers the message.
type countingListener struct {
	net.Listener
	read *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{nc, l.read}, nil
}

type countingConn struct {
	net.Conn
	read *atomic.Int64
}

func (c countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.read.Add(int64(n))
	return n, err
}

func TestCompressionIsNegotiatedByDefault(t *testing.T) {
	client, server := pair(t, nil, nil)
	want := "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12"
	if got := client.Response().Header.Get("Sec-WebSocket-Extensions"); got != want {
		t.Fatalf("negotiated %q, want %q", got, want)
	}
	if len(client.Extensions()) != 1 || len(server.Extensions()) != 1 {
		t.Fatalf("extensions: client %d, server %d", len(client.Extensions()), len(server.Extensions()))
	}
	ctx := testCtx(t)
	msg := strings.Repeat(`{"event":"tick","symbol":"ACME","price":101.25}`, 50)
	for range 20 { // context takeover across messages
		if err := client.SendText(ctx, msg); err != nil {
			t.Fatal(err)
		}
		if m := recv(t, server); m.Text() != msg {
			t.Fatalf("server got %d bytes", len(m.Data))
		}
		if err := server.SendText(ctx, msg); err != nil {
			t.Fatal(err)
		}
		if m := recv(t, client); m.Text() != msg {
			t.Fatalf("client got %d bytes", len(m.Data))
		}
	}
}

func TestCompressionShrinksWhatGoesOnTheWireUnlessNoCompress(t *testing.T) {
	var written atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sink := newConnSink()
	serveOn(t, &Server{Handler: sink.handler}, countingListener{ln, &written})
	client := dial(t, "ws://"+ln.Addr().String()+"/", nil)
	server := sink.next(t)
	ctx := testCtx(t)
	msg := bytes.Repeat([]byte("compressible "), 1000) // 13,000 bytes

	before := written.Load()
	if err := client.SendBinary(ctx, msg); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, server); !bytes.Equal(m.Data, msg) {
		t.Fatal("compressed message altered")
	}
	if n := written.Load() - before; n > int64(len(msg))/10 {
		t.Fatalf("compressed message took %d bytes on the wire", n)
	}

	before = written.Load()
	if err := client.SendWith(ctx, ws.OpBinary, msg, SendOptions{NoCompress: true}); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, server); !bytes.Equal(m.Data, msg) {
		t.Fatal("uncompressed message altered")
	}
	if n := written.Load() - before; n < int64(len(msg)) {
		t.Fatalf("NoCompress message took only %d bytes on the wire", n)
	}
}

func TestDisableCompressionOnEitherSide(t *testing.T) {
	for _, tt := range []struct {
		name string
		so   *ServerOptions
		do   *DialOptions
	}{
		{"client", nil, &DialOptions{Options: Options{DisableCompression: true}}},
		{"server", &ServerOptions{Options: Options{DisableCompression: true}}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			client, server := pair(t, tt.so, tt.do)
			if h := client.Response().Header.Get("Sec-WebSocket-Extensions"); h != "" {
				t.Fatalf("negotiated %q", h)
			}
			if len(client.Extensions())+len(server.Extensions()) != 0 {
				t.Fatal("extensions negotiated")
			}
		})
	}
}

func TestCompressionOptionsAreHonouredAndChecked(t *testing.T) {
	client, _ := pair(t,
		&ServerOptions{Options: Options{Compression: &compress.SmallMemory}},
		&DialOptions{Options: Options{Compression: &compress.Options{ServerNoContextTakeover: true}}})
	want := "permessage-deflate; server_no_context_takeover; server_max_window_bits=9; client_max_window_bits=9"
	if got := client.Response().Header.Get("Sec-WebSocket-Extensions"); got != want {
		t.Fatalf("negotiated %q, want %q", got, want)
	}

	_, _, err := Dial(testCtx(t), "ws://127.0.0.1:1/", &DialOptions{Options: Options{Compression: &compress.Options{Level: 42}}})
	if !errors.Is(err, compress.ErrOptions) {
		t.Fatalf("Dial with a bad level: %v", err)
	}
}

// TestBroadcastCompressesOnceWithoutContextTakeover: a server that
// compresses without context takeover sends every compressing client the
// same compressed frame (one encoding key), and each client inflates it;
// a client without compression gets the plain frame in the same
// broadcast.
func TestBroadcastCompressesOnceWithoutContextTakeover(t *testing.T) {
	sink := newConnSink()
	url := startServer(t, &Server{Handler: sink.handler, Options: ServerOptions{
		Options: Options{Compression: &compress.Options{ServerNoContextTakeover: true}},
	}})
	var servers, clients []*Conn
	for i := range 4 {
		clients = append(clients, dial(t, url, &DialOptions{Options: Options{PingInterval: -1, DisableCompression: i == 3}}))
		servers = append(servers, sink.next(t))
	}
	var keys []any
	for _, c := range servers[:3] {
		k, ok := c.Extensions()[0].(ws.SharedEncoder).EncodingKey()
		if !ok {
			t.Fatal("no encoding key without context takeover")
		}
		keys = append(keys, k)
	}
	if keys[0] != keys[1] || keys[1] != keys[2] || len(servers[3].Extensions()) != 0 {
		t.Fatalf("keys %v; plain connection's extensions %v", keys, servers[3].Extensions())
	}
	msg := []byte(strings.Repeat(`{"type":"tick","price":101.25},`, 100))
	for round := range 3 { // no history: every round is encoded alike
		if err := Broadcast(testCtx(t), servers, ws.OpText, msg); err != nil {
			t.Fatal(err)
		}
		for i, c := range clients {
			if m := recv(t, c); !bytes.Equal(m.Data, msg) {
				t.Fatalf("round %d client %d: %d bytes", round, i, len(m.Data))
			}
		}
	}
}

// Servers and dials with equal compression options share one factory per
// side, so that the budget of kept encoders is the process's; other
// options get another.
func TestCompressionFactoriesAreSharedPerOptions(t *testing.T) {
	last := func(exts []ws.ServerExtensionFactory, err error) ws.ServerExtensionFactory {
		t.Helper()
		if err != nil || len(exts) == 0 {
			t.Fatalf("server extensions: %v, %v", exts, err)
		}
		return exts[len(exts)-1]
	}
	fast := compress.Fast
	a := last(serverExtensions(&ServerOptions{}))
	b := last(serverExtensions(&ServerOptions{}))
	c := last(serverExtensions(&ServerOptions{Options: Options{Compression: &fast}}))
	if a != b || a == c {
		t.Errorf("server factories: equal options shared %v, other options shared %v", a == b, a == c)
	}
	ca, err1 := clientExtensions(&DialOptions{})
	cb, err2 := clientExtensions(&DialOptions{})
	if err1 != nil || err2 != nil || ca[len(ca)-1] != cb[len(cb)-1] {
		t.Errorf("client factories with equal options are not shared (%v, %v)", err1, err2)
	}
}
