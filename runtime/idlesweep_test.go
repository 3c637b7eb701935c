package runtime

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/tetherws/tether/ws"
)

// An idle server connection's reader moves to a fresh goroutine, and the
// connection goes on both ways and closes cleanly afterwards.
func TestIdleReaderMovesAndReadsOn(t *testing.T) {
	client, server := pair(t, nil, nil)
	ctx := testCtx(t)
	if err := client.SendText(ctx, "one"); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, server); string(m.Data) != "one" {
		t.Fatalf("got %q, want one", m.Data)
	}
	eventually(t, "the idle reader moved", func() bool { return server.moves.Load() > 0 })
	if err := client.SendText(ctx, "two"); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, server); string(m.Data) != "two" {
		t.Fatalf("after the move: got %q, want two", m.Data)
	}
	if err := server.SendText(ctx, "back"); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, client); string(m.Data) != "back" {
		t.Fatalf("got %q, want back", m.Data)
	}
	if err := client.Close(ws.CloseNormal, ""); err != nil {
		t.Fatal(err)
	}
	wantEnd(t, "server", server, "received 1000 (OK); then sent 1000 (OK)", true)
}

// A reader that moves in the middle of a fragmented message keeps what
// it has assembled: the message arrives whole.
func TestIdleReaderMoveKeepsAPartialMessage(t *testing.T) {
	server, peer := acceptRaw(t, nil)
	peer.send(false, ws.OpText, []byte("hel"))
	eventually(t, "the idle reader moved", func() bool { return server.moves.Load() > 0 })
	peer.send(true, ws.OpContinuation, []byte("lo"))
	if m := recv(t, server); string(m.Data) != "hello" {
		t.Fatalf("got %q, want hello", m.Data)
	}
}

// A read deadline that the application sets on the socket still ends the
// connection: only the sweeper's wake-up moves the reader.
func TestApplicationReadDeadlineIsNotAMove(t *testing.T) {
	server, peer := acceptRaw(t, nil)
	peer.send(true, ws.OpText, []byte("x"))
	recv(t, server)
	_ = server.NetConn().SetReadDeadline(time.Unix(1, 0))
	select {
	case <-server.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the connection did not end after its read deadline")
	}
	var ne net.Error
	if err := server.Err(); err == nil || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("Err = %v, want the read deadline's timeout", err)
	}
}

// A server connection whose handshake no hook saw keeps the request as
// received and parses it when asked: the same request each time, with
// what the client sent.
func TestRequestWithoutHooksIsParsedWhenAsked(t *testing.T) {
	sink := newConnSink()
	url := startServer(t, &Server{Handler: sink.handler})
	client := dial(t, url+"path?q=1", &DialOptions{Header: map[string][]string{"X-Test": {"yes"}}})
	server := sink.next(t)
	if server.request != nil || server.reqHead == nil {
		t.Fatal("the request was kept parsed, not as received")
	}
	r := server.Request()
	if r != server.Request() {
		t.Error("Request returns a different request each time")
	}
	if r.Method != "GET" || r.URL.Path != "/path" || r.URL.Query().Get("q") != "1" || r.Header.Get("X-Test") != "yes" {
		t.Errorf("request = %s %v %v", r.Method, r.URL, r.Header)
	}
	if r.Host == "" || r.Header.Get("Host") != "" {
		t.Errorf("Host = %q, header Host = %q", r.Host, r.Header.Get("Host"))
	}
	if r.RemoteAddr != client.LocalAddr().String() {
		t.Errorf("RemoteAddr = %q, want %q", r.RemoteAddr, client.LocalAddr())
	}
	if resp := server.Response(); resp.StatusCode != 101 || resp.Request != r {
		t.Errorf("Response = %d, request %p, want 101 and %p", resp.StatusCode, resp.Request, r)
	}
}
