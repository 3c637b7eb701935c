package runtime

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tetherws/tether/ws"
)

// chops are the ways a peer puts the same bytes on the wire.
var chops = []struct {
	name  string
	write func(p *rawPeer, frames [][]byte)
}{
	{"one write", func(p *rawPeer, frames [][]byte) {
		var all []byte
		for _, f := range frames {
			all = append(all, f...)
		}
		p.write(all)
	}},
	{"one frame per write", func(p *rawPeer, frames [][]byte) {
		for _, f := range frames {
			p.write(f)
		}
	}},
	{"one byte per write", func(p *rawPeer, frames [][]byte) {
		for _, f := range frames {
			for i := range f {
				p.write(f[i : i+1])
			}
		}
	}},
}

// violationFrames are a valid text message, a frame with a reserved bit
// set, and a ping (which must not be answered: nothing after the violation
// is processed), as Autobahn case 3.2 sends them.
func violationFrames(mask bool) [][]byte {
	bad := appendFrame(nil, true, ws.OpText, []byte("bad"), mask)
	bad[0] |= 0x20 // RSV2
	return [][]byte{
		appendFrame(nil, true, ws.OpText, []byte("hello"), mask),
		bad,
		appendFrame(nil, true, ws.OpPing, []byte("ping"), mask),
	}
}

// The echo of a message received before a violation goes out before the
// failure's close frame, however the peer chops its bytes: a server whose
// handler echoes and returns.
func TestServerEchoesTheMessageBeforeAViolationThenFails(t *testing.T) {
	for _, chop := range chops {
		t.Run(chop.name, func(t *testing.T) {
			url := startServer(t, &Server{Handler: echoHandler, Options: ServerOptions{Options: Options{PingInterval: -1}}})
			peer := rawClient(t, url)
			chop.write(peer, violationFrames(true))
			if f := peer.expect(ws.OpText); string(f.Payload) != "hello" {
				t.Fatalf("echo %q", f.Payload)
			}
			peer.expectClose(ws.CloseProtocolError, "reserved bits must be 0")
			peer.expectEOF()
		})
	}
}

// The same on the client side: an application that echoes what it
// receives answers the message before the client fails the connection.
func TestClientEchoesTheMessageBeforeAViolationThenFails(t *testing.T) {
	for _, chop := range chops {
		t.Run(chop.name, func(t *testing.T) {
			c, peer := dialRaw(t, &DialOptions{Options: Options{PingInterval: -1}})
			app := make(chan error, 1)
			go func() {
				ctx := context.Background()
				for m := range c.Messages() {
					if err := c.Send(ctx, m.Type, m.Data); err != nil {
						app <- err
						return
					}
				}
				app <- c.Err()
				_ = c.Close(ws.CloseNormal, "") // sends the failure's frame instead
			}()
			chop.write(peer, violationFrames(false))
			if f := peer.expect(ws.OpText); string(f.Payload) != "hello" {
				t.Fatalf("echo %q", f.Payload)
			}
			peer.expectClose(ws.CloseProtocolError, "reserved bits must be 0")
			peer.close()
			err := <-app
			var pe *ws.ProtocolError
			if !errors.Is(err, ws.ErrProtocol) || !errors.As(err, &pe) || pe.Code != ws.CloseProtocolError {
				t.Fatalf("Err when Messages closed = %v, want the 1002 failure", err)
			}
			if err := waitDone(t, c); err == nil || err.Error() != "sent 1002 (protocol error) reserved bits must be 0; no close frame received" {
				t.Fatalf("Err at the end = %v", err)
			}
		})
	}
}

// An application that does not read still gets the connection failed, at
// most CloseTimeout after the violation, and its queued data goes first.
func TestViolationWithAnIdleApplicationFailsAfterCloseTimeout(t *testing.T) {
	sc, peer := acceptRaw(t, &ServerOptions{Options: Options{PingInterval: -1, CloseTimeout: 50e6}})
	if err := sc.SendText(testCtx(t), "queued before"); err != nil {
		t.Fatal(err)
	}
	chops[0].write(peer, violationFrames(true))
	if f := peer.expect(ws.OpText); string(f.Payload) != "queued before" {
		t.Fatalf("got %q", f.Payload)
	}
	peer.expectClose(ws.CloseProtocolError, "reserved bits must be 0")
}

// A message followed at once by the peer's close frame is answered before
// the close is echoed (Autobahn 7.1.1), however the bytes are chopped; the
// application that ranges over Messages then finds the final status.
func TestServerEchoesTheMessageBeforeThePeersCloseThenEchoesIt(t *testing.T) {
	for _, chop := range chops {
		t.Run(chop.name, func(t *testing.T) {
			statuses := make(chan string, 1)
			url := startServer(t, &Server{Options: ServerOptions{Options: Options{PingInterval: -1}},
				Handler: func(ctx context.Context, c *Conn) error {
					for m := range c.Messages() {
						if err := c.Send(ctx, m.Type, m.Data); err != nil {
							return err
						}
					}
					statuses <- c.CloseStatus().Error() // final once Messages is closed
					return nil
				}})
			peer := rawClient(t, url)
			chop.write(peer, [][]byte{
				appendFrame(nil, true, ws.OpText, []byte("hello"), true),
				appendFrame(nil, true, ws.OpClose, closePayload(ws.CloseNormal, "bye"), true),
			})
			if f := peer.expect(ws.OpText); string(f.Payload) != "hello" {
				t.Fatalf("echo %q", f.Payload)
			}
			peer.expectClose(ws.CloseNormal, "bye")
			peer.expectEOF()
			peer.close()
			if got := <-statuses; got != "received 1000 (OK) bye; then sent 1000 (OK) bye" {
				t.Fatalf("CloseStatus after Messages = %q", got)
			}
		})
	}
}

// A handler that keeps sending on its own does not hold up the echo of the
// peer's close: the close goes out once Messages has stayed drained, long
// before CloseTimeout.
func TestAHandlerThatKeepsSendingDoesNotHoldTheCloseUp(t *testing.T) {
	long := Options{PingInterval: -1, CloseTimeout: time.Minute}
	url := startServer(t, &Server{Options: ServerOptions{Options: long}, Handler: func(ctx context.Context, c *Conn) error {
		for ctx.Err() == nil {
			if err := c.SendText(ctx, "tick"); err != nil {
				return nil
			}
		}
		return nil
	}})
	c := dial(t, url, &DialOptions{Options: long})
	recv(t, c)
	closed := make(chan error, 1)
	go func() { closed <- c.Close(ws.CloseNormal, "bye") }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close waited for the server's CloseTimeout: its handler kept sending")
	}
	if st := c.CloseStatus(); st.Rcvd == nil || st.Rcvd.Code != ws.CloseNormal {
		t.Fatalf("close status %v", st)
	}
}
