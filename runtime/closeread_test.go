package runtime

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tetherws/tether/ws"
)

// strictPeer is a raw server that floods the client with binary messages
// and keeps pinging it like Python websockets does: every ping must be
// answered. It answers the client's pings and reports the pongs it gets.
type strictPeer struct {
	p     *rawPeer
	wmu   sync.Mutex // one frame written at a time
	pongs chan []byte
	stop  chan struct{}
	wg    sync.WaitGroup
}

func startStrictPeer(p *rawPeer) *strictPeer {
	s := &strictPeer{p: p, pongs: make(chan []byte, 64), stop: make(chan struct{})}
	s.wg.Add(2)
	go s.flood()
	go s.read()
	return s
}

func (s *strictPeer) write(frame []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_ = s.p.nc.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
	_, err := s.p.nc.Write(frame)
	return err
}

// flood sends 1 KiB messages as fast as the client takes them; a write
// that times out (the client's socket is full) is retried.
func (s *strictPeer) flood() {
	defer s.wg.Done()
	frame := appendFrame(nil, true, ws.OpBinary, bytes.Repeat([]byte("f"), 1024), false)
	for {
		select {
		case <-s.stop:
			return
		default:
		}
		_ = s.write(frame)
	}
}

func (s *strictPeer) read() {
	defer s.wg.Done()
	for {
		f, err := s.p.readFrame()
		if err != nil {
			return
		}
		switch f.Op {
		case ws.OpPing:
			_ = s.write(appendFrame(nil, true, ws.OpPong, f.Payload, false))
		case ws.OpPong:
			s.pongs <- f.Payload
		}
	}
}

// ping sends a ping and reports whether its pong came within timeout.
func (s *strictPeer) ping(t *testing.T, payload string, timeout time.Duration) bool {
	t.Helper()
	if err := s.write(appendFrame(nil, true, ws.OpPing, []byte(payload), false)); err != nil {
		// The client's socket is full: the ping is not even sent.
		return false
	}
	deadline := time.After(timeout)
	for {
		select {
		case p := <-s.pongs:
			if string(p) == payload {
				return true
			}
		case <-deadline:
			return false
		}
	}
}

func (s *strictPeer) close() {
	close(s.stop)
	s.p.close()
	s.wg.Wait()
}

// A send-only client (CloseRead) with keepalive on stays connected while
// the server floods it: it answers every ping of a peer whose keepalive
// accepts no late pong, keeps its own keepalive going, and buffers nothing.
func TestSendOnlyClientStaysConnectedWhileFlooded(t *testing.T) {
	const interval = 100 * time.Millisecond
	c, peer := dialRaw(t, &DialOptions{Options: Options{
		PingInterval: interval,
		PingTimeout:  interval,
		CloseTimeout: time.Second,
	}})
	c.CloseRead()
	s := startStrictPeer(peer)
	defer s.close()
	start := time.Now()
	for i := 0; time.Since(start) < 4*interval; i++ {
		if !s.ping(t, fmt.Sprintf("strict %d", i), 2*time.Second) {
			t.Fatalf("ping %d of the flooding peer got no pong after %v: a peer with keepalive would fail the connection", i, time.Since(start))
		}
		select {
		case <-c.Done():
			t.Fatalf("the connection ended after %v: %v", time.Since(start), c.Err())
		case <-time.After(interval):
		}
	}
	if n := len(c.Messages()); n != 0 {
		t.Fatalf("%d messages buffered by a send-only client", n)
	}
	if c.Latency() == 0 {
		t.Fatal("the client's own keepalive measured no pong")
	}
	if err := c.SendText(testCtx(t), "still sending"); err != nil {
		t.Fatalf("SendText: %v", err)
	}
}

// CloseRead releases the messages waiting in Messages, drops those that
// follow, and keeps answering pings and the closing handshake; the
// dropped messages are not reported as undelivered.
func TestCloseReadDropsMessagesAndKeepsTheProtocolGoing(t *testing.T) {
	c, peer := dialRaw(t, &DialOptions{Options: Options{MaxQueue: 4, PingInterval: -1}})
	for i := range 3 {
		peer.send(true, ws.OpText, []byte(fmt.Sprint("queued ", i)))
	}
	peer.send(true, ws.OpPing, []byte("1"))
	peer.expect(ws.OpPong) // the three messages are in Messages
	if n := len(c.Messages()); n != 3 {
		t.Fatalf("%d messages queued, want 3", n)
	}
	c.CloseRead()
	c.CloseRead() // a second call does nothing
	if n := len(c.Messages()); n != 0 {
		t.Fatalf("%d messages left in Messages after CloseRead", n)
	}
	for i := range 10 { // more than MaxQueue, fragmented too
		peer.send(false, ws.OpBinary, []byte("dropped "))
		peer.send(true, ws.OpContinuation, []byte(fmt.Sprint(i)))
	}
	peer.send(true, ws.OpPing, []byte("2"))
	if f := peer.expect(ws.OpPong); string(f.Payload) != "2" {
		t.Fatalf("pong %q, want 2", f.Payload)
	}
	peer.send(true, ws.OpClose, closePayload(ws.CloseNormal, "bye"))
	for m := range c.Messages() {
		t.Fatalf("message %q delivered after CloseRead", m.Data)
	}
	peer.expectClose(ws.CloseNormal, "bye")
	peer.close()
	if err := waitDone(t, c); err != nil {
		t.Fatalf("Err = %v, want nil after a clean close (dropped messages are not undelivered ones)", err)
	}
}

// A reader waiting for room in a full Messages channel is let go by
// CloseRead.
func TestCloseReadFreesAReaderWaitingOnAFullQueue(t *testing.T) {
	c, peer := dialRaw(t, &DialOptions{Options: Options{MaxQueue: 1, PingInterval: -1}})
	peer.send(true, ws.OpText, []byte("one"))
	peer.send(true, ws.OpText, []byte("two")) // the reader waits to deliver it
	peer.send(true, ws.OpPing, []byte("behind"))
	eventually(t, "reader waiting for the application", c.held.Load)
	c.CloseRead()
	if f := peer.expect(ws.OpPong); string(f.Payload) != "behind" {
		t.Fatalf("pong %q", f.Payload)
	}
	if n := len(c.Messages()); n != 0 {
		t.Fatalf("%d messages left in Messages", n)
	}
	c.CloseNow()
}

// A large message being read straight into its buffer when CloseRead is
// called is dropped, and the reader goes on.
func TestCloseReadDropsALargeMessageInProgress(t *testing.T) {
	c, peer := dialRaw(t, &DialOptions{Options: Options{PingInterval: -1}})
	big := bytes.Repeat([]byte("L"), 256<<10)
	frame := appendFrame(nil, true, ws.OpBinary, big, false)
	peer.write(frame[:len(frame)-len(big)+directMin*2]) // the header and the start
	eventually(t, "the message being assembled", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.proto.PayloadRemaining() > 0 && c.proto.PayloadRemaining() < int64(len(big))
	})
	c.CloseRead()
	peer.write(frame[len(frame)-len(big)+directMin*2:])
	peer.send(true, ws.OpPing, []byte("after"))
	if f := peer.expect(ws.OpPong); string(f.Payload) != "after" {
		t.Fatalf("pong %q", f.Payload)
	}
	if n := len(c.Messages()); n != 0 {
		t.Fatalf("%d messages delivered after CloseRead", n)
	}
	c.CloseNow()
}
