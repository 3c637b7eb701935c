//go:build linux

package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	goruntime "runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tetherws/tether/runtime/internal/rawio"
	"github.com/tetherws/tether/ws"
)

// slowSocket shrinks the send buffer of c's socket: once the peer's
// receive buffer is full (it does not read), writes go partial, then
// EAGAIN. (The peer's receive buffer keeps its size: a window smaller
// than the loopback MSS makes TCP crawl on zero-window probes.)
func slowSocket(t *testing.T, c *Conn, peer *rawPeer) {
	t.Helper()
	if c.rio == nil {
		t.Fatal("a TCP connection without non-blocking I/O")
	}
	if err := c.NetConn().(*net.TCPConn).SetWriteBuffer(4 << 10); err != nil {
		t.Fatal(err)
	}
}

// TestSlowSocketKeepsFramesWholeAndInOrder fills the socket so that the
// inline writes of Send go partial and then hit EAGAIN, with a peer that
// does not read at first, while another goroutine sends pongs (control
// frames jump ahead of queued data). Every frame must arrive whole, data
// in order, pongs in order, and the writer goroutine must be gone once
// the queue has drained.
func TestSlowSocketKeepsFramesWholeAndInOrder(t *testing.T) {
	for _, side := range []string{"server", "client"} {
		t.Run(side, func(t *testing.T) {
			o := Options{WriteLimit: 256 << 10, PingInterval: -1}
			var c *Conn
			var peer *rawPeer
			if side == "server" {
				c, peer = acceptRaw(t, &ServerOptions{Options: o})
			} else {
				c, peer = dialRaw(t, &DialOptions{Options: o})
			}
			slowSocket(t, c, peer)
			sizes := []int{4, 125, 5000, 70000, 4, 16 << 10}
			const n = 120
			const pongs = 40
			ctx := testCtx(t)
			errs := make(chan error, 2)
			go func() {
				for i := range n {
					if err := c.SendBinary(ctx, seqPayload(i, sizes[i%len(sizes)])); err != nil {
						errs <- fmt.Errorf("send %d: %w", i, err)
						return
					}
				}
				errs <- nil
			}()
			go func() {
				for k := range pongs {
					if err := c.Pong([]byte(strconv.Itoa(k))); err != nil {
						errs <- fmt.Errorf("pong %d: %w", k, err)
						return
					}
					time.Sleep(time.Millisecond)
				}
				errs <- nil
			}()
			// The socket is full: what was not written waits in the queue
			// for the writer goroutine.
			eventually(t, "a write left for the writer", func() bool {
				c.mu.Lock()
				defer c.mu.Unlock()
				return c.queued > 0
			})
			data, pong := 0, 0
			for data < n || pong < pongs {
				f, err := peer.readFrame()
				if err != nil {
					t.Fatalf("after %d messages and %d pongs: %v", data, pong, err)
				}
				switch f.Op {
				case ws.OpBinary:
					if want := seqPayload(data, sizes[data%len(sizes)]); !f.Fin || !bytes.Equal(f.Payload, want) {
						t.Fatalf("message %d: fin %v, %d bytes %.8q, want %d bytes %.8q", data, f.Fin, len(f.Payload), f.Payload, len(want), want)
					}
					data++
				case ws.OpPong:
					if string(f.Payload) != strconv.Itoa(pong) {
						t.Fatalf("pong %q, want %d", f.Payload, pong)
					}
					pong++
				default:
					t.Fatalf("unexpected %v frame", f.Op)
				}
			}
			for range 2 {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
			eventually(t, "the queue drained by the writer", func() bool {
				c.mu.Lock()
				defer c.mu.Unlock()
				return c.queued == 0 && !c.writing
			})
			// The next message is written inline again.
			if err := c.SendText(ctx, "after"); err != nil {
				t.Fatal(err)
			}
			if f := peer.expect(ws.OpText); string(f.Payload) != "after" {
				t.Fatalf("got %q", f.Payload)
			}
		})
	}
}

// TestSlowSocketCloseFrameAfterQueuedData closes while the queue holds
// the rest of a partial write: the close frame goes out after it, whole.
func TestSlowSocketCloseFrameAfterQueuedData(t *testing.T) {
	c, peer := acceptRaw(t, &ServerOptions{Options: Options{PingInterval: -1, CloseTimeout: 5 * time.Second}})
	slowSocket(t, c, peer)
	big := seqPayload(7, 1<<20)
	if err := c.SendBinary(testCtx(t), big); err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	go func() { closed <- c.Close(ws.CloseNormal, "bye") }()
	if f := peer.expect(ws.OpBinary); !bytes.Equal(f.Payload, big) {
		t.Fatalf("message of %d bytes, want %d", len(f.Payload), len(big))
	}
	peer.expectClose(ws.CloseNormal, "bye")
	peer.send(true, ws.OpClose, closePayload(ws.CloseNormal, ""))
	peer.expectEOF() // the server half-closes after the closing handshake
	peer.close()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if err := waitDone(t, c); err != nil {
		t.Fatal(err)
	}
}

// TestIdleReadHoldsNoBuffer: a connection borrows a read buffer only while
// the socket has data; once the reader waits again, it holds none, after
// small messages and after messages larger than the buffer.
func TestIdleReadHoldsNoBuffer(t *testing.T) {
	client, server := pair(t, &ServerOptions{Options: Options{PingInterval: -1}}, &DialOptions{Options: Options{PingInterval: -1}})
	ctx := testCtx(t)
	for _, size := range []int{10, 1 << 10, 3 * rawio.ReadBufSize} {
		if err := client.SendBinary(ctx, seqPayload(size, size)); err != nil {
			t.Fatal(err)
		}
		m := recv(t, server)
		if !bytes.Equal(m.Data, seqPayload(size, size)) {
			t.Fatalf("got %d bytes", len(m.Data))
		}
		if err := server.SendMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
		m.Release()
		recv(t, client).Release()
		for _, c := range []*Conn{client, server} {
			eventually(t, "an idle reader without a read buffer", func() bool { return c.rio.Held() == 0 })
		}
	}
}

// TestEachConnectionRunsReaderWriterAndKeepalive: an idle connection
// has its three goroutines (DESIGN.md), and no keepalive goroutine when
// keepalive is off; they all end with the connection.
func TestEachConnectionRunsReaderWriterAndKeepalive(t *testing.T) {
	url, peers := rawServer(t)
	var conns []*Conn
	// count counts the goroutines of conns by the function and receiver
	// at the bottom of their stacks (other tests' connections may still
	// be ending).
	count := func() map[string]int {
		buf := make([]byte, 1<<20)
		buf = buf[:goruntime.Stack(buf, true)]
		n := map[string]int{}
		for _, g := range strings.Split(string(buf), "\n\n") {
			for _, c := range conns {
				for _, fn := range []string{"(*Conn).run(", "(*Conn).writeLoop(", "(*Conn).keepaliveLoop("} {
					if strings.Contains(g, fmt.Sprintf("%s%p", fn, c)) {
						n[fn]++
					}
				}
			}
		}
		return n
	}
	for i, interval := range []time.Duration{time.Hour, time.Hour, -1} {
		c := dial(t, url, &DialOptions{Options: Options{PingInterval: interval}})
		conns = append(conns, c)
		p := nextPeer(t, peers)
		if err := c.SendText(testCtx(t), "hello"); err != nil {
			t.Fatal(err)
		}
		p.expect(ws.OpText)
		want := map[string]int{"(*Conn).run(": i + 1, "(*Conn).writeLoop(": i + 1, "(*Conn).keepaliveLoop(": min(i+1, 2)}
		eventually(t, fmt.Sprintf("goroutines %v", want), func() bool { return maps.Equal(count(), want) })
	}
	for _, c := range conns {
		c.CloseNow()
	}
	// Done is closed just before the reader returns.
	eventually(t, "no goroutine left after the connections closed", func() bool { return len(count()) == 0 })
}

// TestKeepaliveInRealTimePingsAndMeasuresLatency runs the keepalive on
// real time against a peer that answers pings.
func TestKeepaliveInRealTimePingsAndMeasuresLatency(t *testing.T) {
	c, peer := dialRaw(t, &DialOptions{Options: Options{PingInterval: 20 * time.Millisecond, PingTimeout: time.Second}})
	for range 3 {
		f := peer.expect(ws.OpPing)
		peer.send(true, ws.OpPong, f.Payload)
	}
	eventually(t, "a latency measured", func() bool { return c.Latency() > 0 })
	if c.State() != ws.StateOpen {
		t.Fatalf("state %v", c.State())
	}
}

// TestSendMessageSkipsValidationOfReceivedText: a received text message is
// echoed as it is, without validating it again (the proof: bytes changed
// behind the message's back go out unchecked, which is why SendMessage
// says m.Data must be unchanged); text built by the application is
// validated. Both sides: the server writes header and payload directly,
// the client frames into a buffer.
func TestSendMessageSkipsValidationOfReceivedText(t *testing.T) {
	for _, side := range []string{"server", "client"} {
		t.Run(side, func(t *testing.T) {
			o := Options{PingInterval: -1}
			var c *Conn
			var peer *rawPeer
			if side == "server" {
				c, peer = acceptRaw(t, &ServerOptions{Options: o})
			} else {
				c, peer = dialRaw(t, &DialOptions{Options: o})
			}
			ctx := testCtx(t)
			peer.send(true, ws.OpText, []byte("héllo"))
			m := recv(t, c)
			if !m.valid {
				t.Fatal("a received text message is not marked valid")
			}
			if err := c.SendMessage(ctx, m); err != nil {
				t.Fatal(err)
			}
			if f := peer.expect(ws.OpText); string(f.Payload) != "héllo" {
				t.Fatalf("echo %q", f.Payload)
			}
			m.Data[1] = 0xff // behind the message's back: not validated again
			if err := c.SendMessage(ctx, m); err != nil {
				t.Fatalf("SendMessage validated the received text again: %v", err)
			}
			if f := peer.expect(ws.OpText); string(f.Payload) != "h\xff\xa9llo" {
				t.Fatalf("echo %q", f.Payload)
			}
			m.Release()
			bad := Message{Type: ws.OpText, Data: []byte{0xff, 0xfe}, First: true, Fin: true}
			if err := c.SendMessage(ctx, bad); err != ErrInvalidUTF8 {
				t.Fatalf("SendMessage of invalid text: %v", err)
			}
			if err := c.SendMessage(ctx, Message{Type: ws.OpPing}); !errors.Is(err, ws.ErrInvalidSend) {
				t.Fatalf("SendMessage of a ping: %v", err)
			}
			valid := Message{Type: ws.OpPing, valid: true} // a received message whose type was changed
			if err := c.SendMessage(ctx, valid); !errors.Is(err, ws.ErrInvalidSend) {
				t.Fatalf("SendMessage of a ping marked valid: %v", err)
			}
			if err := c.SendMessage(ctx, Message{Type: ws.OpBinary, Data: []byte{0xff}}); err != nil {
				t.Fatal(err)
			}
			peer.expect(ws.OpBinary)
		})
	}
}

// TestStreamingPiecesAreValidatedOnSend: a piece of a streamed text
// message is not a whole message: SendMessage validates it.
func TestStreamingPiecesAreValidatedOnSend(t *testing.T) {
	c, peer := acceptRaw(t, &ServerOptions{Options: Options{PingInterval: -1, Streaming: true}})
	peer.send(false, ws.OpText, []byte("h\xc3"))
	m := recv(t, c)
	if m.valid || m.Fin {
		t.Fatalf("first piece: valid %v, fin %v", m.valid, m.Fin)
	}
	if err := c.SendMessage(testCtx(t), m); err != ErrInvalidUTF8 {
		t.Fatalf("SendMessage of half a code point: %v", err)
	}
	peer.send(true, ws.OpContinuation, []byte("\xa9"))
	recv(t, c)
}

// BenchmarkBroadcast broadcasts one message to 100 server connections
// whose clients read it.
func BenchmarkBroadcast(b *testing.B) {
	const n = 100
	sink := make(chan *Conn, n)
	srv := &Server{Handler: func(ctx context.Context, c *Conn) error {
		sink <- c
		<-c.Done()
		return nil
	}, Options: ServerOptions{Options: Options{PingInterval: -1}}}
	url := benchServer(b, srv)
	conns := make([]*Conn, 0, n)
	for range n {
		c := benchDial(b, url, &DialOptions{Options: Options{PingInterval: -1}})
		go func() {
			for m := range c.Messages() {
				m.Release()
			}
		}()
		conns = append(conns, <-sink)
	}
	msg := bytes.Repeat([]byte("x"), 256)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := Broadcast(ctx, conns, ws.OpText, msg); err != nil {
			b.Fatal(err)
		}
	}
}
