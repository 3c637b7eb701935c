package runtime

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/tetherws/tether/ws"
)

func TestPingReturnsTheRoundTripTime(t *testing.T) {
	client, server := pair(t, nil, nil)
	for name, c := range map[string]*Conn{"client": client, "server": server} {
		if c.Latency() != 0 {
			t.Errorf("%s: latency before any ping = %v", name, c.Latency())
		}
		l, err := c.Ping(testCtx(t), nil)
		if err != nil {
			t.Fatalf("%s: Ping: %v", name, err)
		}
		if l <= 0 || c.Latency() != l {
			t.Errorf("%s: Ping = %v, Latency = %v", name, l, c.Latency())
		}
		if _, err := c.Ping(testCtx(t), []byte("payload")); err != nil {
			t.Fatalf("%s: Ping with a payload: %v", name, err)
		}
	}
}

// pingAsync starts Ping in a goroutine and waits until the peer has seen
// the ping frame.
func pingAsync(t *testing.T, ctx context.Context, c *Conn, peer *rawPeer, payload string) <-chan error {
	t.Helper()
	res := make(chan error, 1)
	go func() {
		_, err := c.Ping(ctx, []byte(payload))
		res <- err
	}()
	if f := peer.expect(ws.OpPing); string(f.Payload) != payload {
		t.Fatalf("peer got ping %q, want %q", f.Payload, payload)
	}
	return res
}

func pending(t *testing.T, res <-chan error) {
	t.Helper()
	select {
	case err := <-res:
		t.Fatalf("Ping returned early: %v", err)
	default:
	}
}

func result(t *testing.T, res <-chan error) error {
	t.Helper()
	select {
	case err := <-res:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("Ping did not return within 5s")
	}
	return nil
}

func TestPongAcknowledgesOlderPendingPingsToo(t *testing.T) {
	c, peer := dialRaw(t, nil)
	ctx := testCtx(t)
	a := pingAsync(t, ctx, c, peer, "a")
	b := pingAsync(t, ctx, c, peer, "b")
	cc := pingAsync(t, ctx, c, peer, "c")
	peer.send(true, ws.OpPong, []byte("b"))
	if err := result(t, a); err != nil {
		t.Fatalf("ping a: %v", err)
	}
	if err := result(t, b); err != nil {
		t.Fatalf("ping b: %v", err)
	}
	// An unknown pong acknowledges nothing; c is still pending.
	peer.send(true, ws.OpPong, []byte("zzz"))
	peer.send(true, ws.OpPing, []byte("sync"))
	peer.expect(ws.OpPong) // the client has read the pong "zzz"
	pending(t, cc)
	peer.send(true, ws.OpPong, []byte("c"))
	if err := result(t, cc); err != nil {
		t.Fatalf("ping c: %v", err)
	}
}

func TestPingWithThePayloadOfAPendingPingIsRefused(t *testing.T) {
	c, peer := dialRaw(t, nil)
	ctx := testCtx(t)
	first := pingAsync(t, ctx, c, peer, "same")
	_, err := c.Ping(ctx, []byte("same"))
	if !errors.Is(err, ErrDuplicatePing) || !errors.Is(err, ws.ErrConcurrency) {
		t.Fatalf("duplicate Ping = %v", err)
	}
	other := pingAsync(t, ctx, c, peer, "other")
	peer.send(true, ws.OpPong, []byte("other"))
	if result(t, first) != nil || result(t, other) != nil {
		t.Fatal("pings not acknowledged")
	}
}

func TestPingCancelledForgetsThePing(t *testing.T) {
	c, peer := dialRaw(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	res := pingAsync(t, ctx, c, peer, "x")
	cancel()
	if err := result(t, res); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Ping = %v", err)
	}
	// The payload is free again.
	res = pingAsync(t, testCtx(t), c, peer, "x")
	peer.send(true, ws.OpPong, []byte("x"))
	if err := result(t, res); err != nil {
		t.Fatal(err)
	}
}

func TestPendingPingFailsWhenTheConnectionEnds(t *testing.T) {
	c, peer := dialRaw(t, nil)
	res := pingAsync(t, testCtx(t), c, peer, "lost")
	peer.close()
	if err := result(t, res); !errors.Is(err, ws.ErrClosed) {
		t.Fatalf("Ping = %v, want ErrClosed", err)
	}
}

func TestPingAndPongAfterTheEndReturnErrClosed(t *testing.T) {
	client, _ := pair(t, nil, nil)
	if err := client.Close(ws.CloseNormal, ""); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := client.Ping(testCtx(t), nil); !errors.Is(err, ws.ErrClosed) {
			t.Errorf("Ping after the end = %v", err)
		}
		if err := client.Pong(nil); !errors.Is(err, ws.ErrClosed) {
			t.Errorf("Pong after the end = %v", err)
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Ping or Pong after the end blocked")
	}
}

func TestControlPayloadOver125BytesIsRefused(t *testing.T) {
	c, _ := pair(t, nil, nil)
	long := bytes.Repeat([]byte("p"), 126)
	var se *ws.SendError
	if _, err := c.Ping(testCtx(t), long); !errors.Is(err, ws.ErrInvalidSend) || !errors.As(err, &se) {
		t.Errorf("Ping(126 bytes) = %v", err)
	}
	if err := c.Pong(long); !errors.Is(err, ws.ErrInvalidSend) || !errors.As(err, &se) {
		t.Errorf("Pong(126 bytes) = %v", err)
	}
	c.pingMu.Lock()
	pending := len(c.pings)
	c.pingMu.Unlock()
	if pending != 0 {
		t.Errorf("%d pings pending after the refused one", pending)
	}
	if _, err := c.Ping(testCtx(t), long[:125]); err != nil {
		t.Errorf("Ping(125 bytes) = %v", err)
	}
}

func TestPingIsAnsweredAutomaticallyWithTheSamePayload(t *testing.T) {
	t.Run("server answers unmasked", func(t *testing.T) {
		_, peer := acceptRaw(t, nil)
		for _, payload := range []string{"hello", ""} {
			peer.send(true, ws.OpPing, []byte(payload))
			want := append([]byte{0x8A, byte(len(payload))}, payload...)
			got := make([]byte, len(want))
			if _, err := io.ReadFull(peer.br, got); err != nil || !bytes.Equal(got, want) {
				t.Fatalf("pong bytes %x, want %x (%v)", got, want, err)
			}
		}
	})
	t.Run("client answers masked", func(t *testing.T) {
		_, peer := dialRaw(t, nil)
		peer.send(true, ws.OpPing, []byte("hi"))
		f := peer.expect(ws.OpPong) // expect checks the mask bit
		if !f.Fin || string(f.Payload) != "hi" {
			t.Fatalf("pong %+v", f)
		}
	})
}

func TestUnsolicitedPongsAreSentAndIgnored(t *testing.T) {
	c, peer := dialRaw(t, nil)
	if err := c.Pong([]byte("heartbeat")); err != nil {
		t.Fatal(err)
	}
	if f := peer.expect(ws.OpPong); string(f.Payload) != "heartbeat" {
		t.Fatalf("pong %q", f.Payload)
	}
	peer.send(true, ws.OpPong, []byte("unsolicited"))
	peer.send(true, ws.OpText, []byte("still fine"))
	if m := recv(t, c); m.Text() != "still fine" {
		t.Fatalf("got %q", m.Data)
	}
	if c.Latency() != 0 {
		t.Fatalf("an unsolicited pong set the latency to %v", c.Latency())
	}
}

func TestKeepaliveTimeoutFailsWith1011(t *testing.T) {
	clock := newFakeClock()
	c, peer := dialRaw(t, &DialOptions{Options: Options{
		PingInterval:   time.Hour,
		PingTimeout:    time.Minute,
		CloseTimeout:   100 * time.Millisecond,
		KeepaliveClock: clock,
	}})
	sleep := clock.next(t)
	if sleep.d != time.Hour {
		t.Fatalf("first keepalive wait = %v, want the ping interval", sleep.d)
	}
	sleep.fire()
	peer.expect(ws.OpPing) // never answered
	wait := clock.next(t)
	if wait.d != time.Minute {
		t.Fatalf("pong wait = %v, want the ping timeout", wait.d)
	}
	wait.fire()
	peer.expectClose(ws.CloseInternalError, "keepalive ping timeout")
	// The peer does not answer the close either: the close timeout ends it.
	err := waitDone(t, c)
	if err == nil || err.Error() != "sent 1011 (internal error) keepalive ping timeout; no close frame received" {
		t.Fatalf("Err = %v", err)
	}
	if !errors.Is(err, ErrCloseTimeout) {
		t.Errorf("cause = %v", errors.Unwrap(err))
	}
}

func TestKeepaliveTimeoutWhenPongsAreLostInTransit(t *testing.T) {
	p := newFaultPair(t, nil, &DialOptions{Options: Options{
		PingInterval: 20 * time.Millisecond,
		PingTimeout:  20 * time.Millisecond,
	}})
	p.sf.setRule(dropOp(ws.OpPong)) // the server answers; nothing arrives
	const f = "1011 (internal error) keepalive ping timeout"
	wantEnd(t, "client", p.client, "sent "+f+"; then received "+f, false)
	wantEnd(t, "server", p.server, "received "+f+"; then sent "+f, false)
}

func TestKeepaliveMeasuresLatencyAndKeepsTheConnection(t *testing.T) {
	clock := newFakeClock()
	client, _ := pair(t, nil, &DialOptions{Options: Options{
		PingInterval:   time.Hour,
		PingTimeout:    time.Minute,
		KeepaliveClock: clock,
	}})
	for i := range 3 {
		sleep := clock.next(t)
		if i == 0 && sleep.d != time.Hour {
			t.Fatalf("first wait = %v", sleep.d)
		}
		if i > 0 && (sleep.d >= time.Hour || sleep.d < time.Hour-5*time.Second) {
			t.Fatalf("wait %d = %v, want the interval minus the latency", i, sleep.d)
		}
		sleep.fire()
		wait := clock.next(t) // the pong wait, ended by the pong
		if wait.d != time.Minute {
			t.Fatalf("pong wait = %v", wait.d)
		}
	}
	if client.Latency() <= 0 {
		t.Fatalf("latency = %v after keepalive pings", client.Latency())
	}
	if err := client.SendText(testCtx(t), "alive"); err != nil {
		t.Fatal(err)
	}
}

func TestKeepaliveWithoutTimeoutNeverFails(t *testing.T) {
	clock := newFakeClock()
	_, peer := dialRaw(t, &DialOptions{Options: Options{
		PingInterval:   time.Hour,
		PingTimeout:    -1,
		KeepaliveClock: clock,
	}})
	for range 3 {
		sleep := clock.next(t)
		if sleep.d != time.Hour {
			t.Fatalf("wait = %v, want the interval", sleep.d)
		}
		sleep.fire()
		peer.expect(ws.OpPing) // never answered, never a failure
	}
}

func TestHeartbeatSendsUnsolicitedPongs(t *testing.T) {
	clock := newFakeClock()
	_, peer := dialRaw(t, &DialOptions{Options: Options{
		PingInterval:   time.Hour,
		Heartbeat:      true,
		KeepaliveClock: clock,
	}})
	for range 2 {
		clock.next(t).fire()
		if f := peer.expect(ws.OpPong); len(f.Payload) != 0 {
			t.Fatalf("heartbeat pong %q", f.Payload)
		}
	}
}

func TestServerKeepaliveTimeoutFailsWith1011(t *testing.T) {
	clock := newFakeClock()
	c, peer := acceptRaw(t, &ServerOptions{Options: Options{
		PingInterval:   time.Hour,
		PingTimeout:    time.Minute,
		KeepaliveClock: clock,
	}})
	clock.next(t).fire()
	peer.expect(ws.OpPing)
	clock.next(t).fire()
	peer.expectClose(ws.CloseInternalError, "keepalive ping timeout")
	peer.expectEOF() // the server closes TCP first
	peer.close()
	err := waitDone(t, c)
	if err == nil || !strings.HasPrefix(err.Error(), "sent 1011 (internal error) keepalive ping timeout; ") {
		t.Fatalf("Err = %v", err)
	}
}
