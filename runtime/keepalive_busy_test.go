package runtime

import (
	"testing"
	"time"

	"github.com/tetherws/tether/ws"
)

// A peer whose pong is late but whose frames keep arriving is alive: the
// connection stays open and keeps pinging; a ping followed by silence
// fails it with 1011.
func TestKeepaliveForgivesALatePongWhenFramesArrive(t *testing.T) {
	clock := newFakeClock()
	c, peer := dialRaw(t, &DialOptions{Options: Options{
		PingInterval:   time.Hour,
		PingTimeout:    time.Minute,
		CloseTimeout:   100 * time.Millisecond,
		KeepaliveClock: clock,
	}})
	clock.next(t).fire() // the interval
	peer.expect(ws.OpPing)
	wait := clock.next(t)
	peer.send(true, ws.OpText, []byte("busy, pong later"))
	if m := recv(t, c); m.Text() != "busy, pong later" {
		t.Fatalf("got %q", m.Data)
	}
	wait.fire()
	if sleep := clock.next(t); sleep.d != time.Hour {
		t.Fatalf("after a late pong from a busy peer: timer of %v, want the next interval", sleep.d)
	} else {
		sleep.fire()
	}
	peer.expect(ws.OpPing) // the connection is still open and pinging
	clock.next(t).fire()   // silence this time
	peer.expectClose(ws.CloseInternalError, "keepalive ping timeout")
}

// While the application has not taken the messages the reader holds, the
// pong may be unread behind them: a late pong does not fail the
// connection.
func TestKeepaliveForgivesALatePongWhileTheApplicationIsBehind(t *testing.T) {
	clock := newFakeClock()
	c, peer := dialRaw(t, &DialOptions{Options: Options{
		MaxQueue:       1,
		PingInterval:   time.Hour,
		PingTimeout:    time.Minute,
		CloseTimeout:   100 * time.Millisecond,
		KeepaliveClock: clock,
	}})
	peer.send(true, ws.OpText, []byte("one"))
	peer.send(true, ws.OpText, []byte("two")) // the reader waits to deliver it
	eventually(t, "reader held by the application", c.held.Load)
	clock.next(t).fire()
	peer.expect(ws.OpPing)
	clock.next(t).fire() // no pong read: it would be behind "two"
	if sleep := clock.next(t); sleep.d != time.Hour {
		t.Fatalf("timer of %v, want the next interval", sleep.d)
	}
	for _, want := range []string{"one", "two"} {
		if m := recv(t, c); m.Text() != want {
			t.Fatalf("got %q, want %q", m.Data, want)
		}
	}
	c.CloseNow()
}
