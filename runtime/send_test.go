package runtime

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tetherws/tether/ws"
)

// seqMessage returns message i of a numbered stream, its index at both
// ends. Its body is
// pseudo-random so that compression (on by default) cannot shrink it: the
// tests that use it count queued bytes.
func seqMessage(i, size int) []byte {
	b := make([]byte, size)
	rng := rand.New(rand.NewPCG(uint64(i), uint64(size)))
	for j := range b {
		b[j] = byte(rng.Uint32())
	}
	binary.BigEndian.PutUint32(b, uint32(i))
	binary.BigEndian.PutUint32(b[size-4:], uint32(i))
	return b
}

func checkSeqMessage(t *testing.T, m Message, i, size int) {
	t.Helper()
	if len(m.Data) != size || binary.BigEndian.Uint32(m.Data) != uint32(i) || !bytes.Equal(m.Data, seqMessage(i, size)) {
		got := -1
		if len(m.Data) >= 4 {
			got = int(binary.BigEndian.Uint32(m.Data))
		}
		t.Fatalf("message %d: got %d bytes, index %d", i, len(m.Data), got)
	}
}

// fillUntilBlocked sends numbered messages to peer's side until a Send
// blocks: it gives up after a short wait with context.DeadlineExceeded
// while the receiver's queue is full. It returns how many were sent.
func fillUntilBlocked(t *testing.T, c, receiver *Conn, size int) int {
	t.Helper()
	sent := 0
	for range 5000 {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		err := c.SendBinary(ctx, seqMessage(sent, size))
		cancel()
		switch {
		case err == nil:
			sent++
		case !errors.Is(err, context.DeadlineExceeded):
			t.Fatalf("Send %d: %v", sent, err)
		case len(receiver.Messages()) == cap(receiver.Messages()):
			return sent // blocked: nothing was queued, the receiver is full
		}
		// Timed out while the receiver still had room: a slow machine,
		// not backpressure yet. Send the same message again.
	}
	t.Fatal("Send never blocked")
	return 0
}

func TestBackpressureBlocksSendWhileThePeerDoesNotRead(t *testing.T) {
	const (
		maxQueue   = 4
		writeLimit = 16 << 10
		size       = 64 << 10
	)
	client, server := pair(t,
		&ServerOptions{Options: Options{MaxQueue: maxQueue}},
		&DialOptions{Options: Options{WriteLimit: writeLimit}})
	sent := fillUntilBlocked(t, client, server, size)
	// The receiver holds at most MaxQueue messages; the rest waits in TCP
	// buffers and in the sender's queue, which stays near WriteLimit.
	if n := len(server.Messages()); n > maxQueue {
		t.Errorf("receiver holds %d messages", n)
	}
	client.mu.Lock()
	queued := client.queued
	client.mu.Unlock()
	if max := writeLimit + size + ws.MaxHeaderSize; queued > max {
		t.Errorf("sender queued %d bytes, more than %d", queued, max)
	}
	// Reading again lets everything through, in order.
	for i := range sent {
		m := recv(t, server)
		checkSeqMessage(t, m, i, size)
		m.Release()
	}
	if err := client.SendText(testCtx(t), "after"); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, server); m.Text() != "after" {
		t.Fatalf("got %q after the stream", m.Data)
	}
}

func TestSendCancelledWhileBlockedQueuesNothing(t *testing.T) {
	const size = 32 << 10
	client, server := pair(t,
		&ServerOptions{Options: Options{MaxQueue: 2}},
		&DialOptions{Options: Options{WriteLimit: 8 << 10}})
	sent := fillUntilBlocked(t, client, server, size)

	// A Send that blocks, then is cancelled.
	ctx, cancel := context.WithCancel(context.Background())
	res := make(chan error, 1)
	go func() { res <- client.SendText(ctx, "cancelled") }()
	cancel()
	if err := <-res; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Send = %v", err)
	}
	// A Send whose ctx has already ended queues nothing, even with room.
	if err := client.SendText(ctx, "cancelled"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Send with an ended ctx = %v", err)
	}
	// The connection is still usable and the stream is intact.
	go func() { res <- client.SendText(context.Background(), "after") }()
	for i := range sent {
		m := recv(t, server)
		checkSeqMessage(t, m, i, size)
		m.Release()
	}
	if err := <-res; err != nil {
		t.Fatal(err)
	}
	if m := recv(t, server); m.Text() != "after" {
		t.Fatalf("got %q, want the message sent after the cancelled one", m.Data)
	}
	if err := client.Close(ws.CloseNormal, ""); err != nil || client.Err() != nil {
		t.Fatalf("Close: %v, Err: %v", err, client.Err())
	}
}

func TestSendValidatesItsArguments(t *testing.T) {
	c, peer := dialRaw(t, nil)
	ctx := testCtx(t)
	// A caller's bad text is the caller's mistake, not a protocol error.
	if err := c.Send(ctx, ws.OpText, []byte("ok\xff")); !errors.Is(err, ws.ErrInvalidUTF8) || !errors.Is(err, ws.ErrInvalidSend) || errors.Is(err, ws.ErrProtocol) {
		t.Errorf("invalid UTF-8 text: %v", err)
	}
	if err := c.SendText(ctx, "h\xc3"); !errors.Is(err, ws.ErrInvalidUTF8) {
		t.Errorf("truncated UTF-8 text: %v", err)
	}
	for _, op := range []ws.Opcode{ws.OpContinuation, ws.OpClose, ws.OpPing, ws.OpPong, 3} {
		var se *ws.SendError
		if err := c.Send(ctx, op, nil); !errors.Is(err, ws.ErrInvalidSend) || !errors.As(err, &se) || errors.Is(err, ws.ErrProtocol) {
			t.Errorf("Send(%v) = %v", op, err)
		}
	}
	// Binary data need not be UTF-8; an empty message is a message.
	if err := c.SendBinary(ctx, []byte{0xff}); err != nil {
		t.Fatal(err)
	}
	if err := c.SendText(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if f := peer.expect(ws.OpBinary); !bytes.Equal(f.Payload, []byte{0xff}) || !f.Fin {
		t.Fatalf("got %+v", f)
	}
	if f := peer.expect(ws.OpText); len(f.Payload) != 0 || !f.Fin {
		t.Fatalf("got %+v", f)
	}
}

func TestSendAfterCloseMatchesErrClosed(t *testing.T) {
	client, server := pair(t, nil, nil)
	if err := client.Close(ws.CloseNormal, ""); err != nil {
		t.Fatal(err)
	}
	waitDone(t, server)
	ctx := testCtx(t)
	for name, c := range map[string]*Conn{"closer": client, "peer": server} {
		if err := c.SendText(ctx, "late"); !errors.Is(err, ws.ErrClosed) {
			t.Errorf("%s: Send after close = %v", name, err)
		}
		if err := c.SendFragments(ctx, ws.OpText, slices.Values([][]byte{[]byte("a")})); !errors.Is(err, ws.ErrClosed) {
			t.Errorf("%s: SendFragments after close = %v", name, err)
		}
		if w, err := c.NewMessageWriter(ctx, ws.OpBinary, SendOptions{}); err == nil {
			if _, err := w.Write([]byte("late")); !errors.Is(err, ws.ErrClosed) {
				t.Errorf("%s: MessageWriter.Write after close = %v", name, err)
			}
			if err := w.Close(); !errors.Is(err, ws.ErrClosed) {
				t.Errorf("%s: MessageWriter.Close after close = %v", name, err)
			}
		} else if !errors.Is(err, ws.ErrClosed) {
			t.Errorf("%s: NewMessageWriter after close = %v", name, err)
		}
	}
}

func TestSendWhileClosingReturnsErrClosing(t *testing.T) {
	c, peer := dialRaw(t, &DialOptions{Options: Options{CloseTimeout: 5 * time.Second}})
	closed := make(chan error, 1)
	go func() { closed <- c.Close(ws.CloseNormal, "") }()
	peer.expectClose(ws.CloseNormal, "")
	// Closing: the close frame is out, the peer has not answered.
	err := c.SendText(testCtx(t), "late")
	if !errors.Is(err, ws.ErrClosed) || !errors.Is(err, ErrClosing) {
		t.Fatalf("Send while closing = %v", err)
	}
	if _, err := c.Ping(testCtx(t), nil); !errors.Is(err, ws.ErrClosed) {
		t.Fatalf("Ping while closing = %v", err)
	}
	peer.send(true, ws.OpClose, closePayload(ws.CloseNormal, ""))
	peer.close()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
}

func TestManyGoroutinesSendConcurrently(t *testing.T) {
	url := startServer(t, &Server{Handler: echoHandler})
	c := dial(t, url, nil)
	ctx := testCtx(t)
	const senders, each = 16, 50
	var wg sync.WaitGroup
	for g := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				size := 1 + (g*each+i)%3000
				msg := strings.Repeat(string(rune('a'+g)), size)
				if err := c.SendText(ctx, msg); err != nil {
					t.Errorf("Send: %v", err)
					return
				}
			}
		}()
	}
	counts := make(map[byte]int)
	for range senders * each {
		m := recv(t, c)
		if len(m.Data) == 0 || strings.Count(m.Text(), string(m.Data[0])) != len(m.Data) {
			t.Fatalf("garbled message of %d bytes", len(m.Data))
		}
		counts[m.Data[0]]++
		m.Release()
	}
	wg.Wait()
	for g := range senders {
		if counts[byte('a'+g)] != each {
			t.Errorf("sender %d: %d messages", g, counts[byte('a'+g)])
		}
	}
	if err := c.Close(ws.CloseNormal, ""); err != nil || c.Err() != nil {
		t.Fatalf("Close %v Err %v", err, c.Err())
	}
	select {
	case _, ok := <-c.Messages():
		if ok {
			t.Fatal("message after the end")
		}
	default:
		t.Fatal("Messages not closed after Close")
	}
	select {
	case <-c.Done():
	default:
		t.Fatal("Done not closed after Close")
	}
}

func TestSendPingAndCloseRaceSafely(t *testing.T) {
	for range 5 {
		client, server := pair(t, nil, nil)
		ctx := testCtx(t)
		var wg sync.WaitGroup
		for g := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					var err error
					switch g % 3 {
					case 0:
						err = client.SendText(ctx, "x")
					case 1:
						_, err = client.Ping(ctx, nil)
					case 2:
						err = client.SendFragments(ctx, ws.OpBinary, fragments("a", "b"))
					}
					if err != nil {
						if !errors.Is(err, ws.ErrClosed) {
							t.Errorf("worker %d: %v", g, err)
						}
						return
					}
				}
			}()
		}
		go func() {
			for m := range server.Messages() {
				m.Release()
			}
		}()
		if err := client.Close(ws.CloseNormal, ""); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		if st := client.CloseStatus(); st.Sent == nil || st.Sent.Code != ws.CloseNormal && st.Sent.Code != ws.CloseInternalError {
			t.Fatalf("close status %v", st)
		}
	}
}

func TestControlFramesJumpAheadOfQueuedDataButCloseKeepsItsPlace(t *testing.T) {
	url, peers := rawServer(t)
	nc, err := net.Dial("tcp", hostOf(url))
	if err != nil {
		t.Fatal(err)
	}
	fc := newFaultConn(nc)
	t.Cleanup(fc.finish)
	c := dial(t, url, &DialOptions{NetConn: fc})
	peer := nextPeer(t, peers)
	ctx := testCtx(t)

	entered, unblock := fc.block()
	defer unblock()
	if err := c.SendText(ctx, "first"); err != nil {
		t.Fatal(err)
	}
	<-entered // the writer is busy writing "first"
	if err := c.SendText(ctx, "data"); err != nil {
		t.Fatal(err)
	}
	if err := c.Pong([]byte("pong")); err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	go func() { closed <- c.Close(ws.CloseNormal, "") }()
	eventually(t, "the close frame is queued", func() bool { return c.State() == ws.StateClosing })
	unblock()

	want := []struct {
		op      ws.Opcode
		payload string
	}{
		{ws.OpText, "first"},
		{ws.OpPong, "pong"}, // ahead of the data queued before it
		{ws.OpText, "data"},
		{ws.OpClose, "\x03\xe8"}, // after the data
	}
	for _, w := range want {
		if f := peer.expect(w.op); string(f.Payload) != w.payload {
			t.Fatalf("got %v %q, want %v %q", f.Op, f.Payload, w.op, w.payload)
		}
	}
	peer.send(true, ws.OpClose, closePayload(ws.CloseNormal, ""))
	peer.close()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
}

func TestCloseTimesOutWhenTheWriterIsStuckBehindUnreadData(t *testing.T) {
	const size = 64 << 10
	client, server := pair(t,
		&ServerOptions{Options: Options{MaxQueue: 1}},
		&DialOptions{Options: Options{WriteLimit: 16 << 10, CloseTimeout: 200 * time.Millisecond}})
	fillUntilBlocked(t, client, server, size)
	// The close frame waits behind data the peer does not read.
	if err := client.Close(ws.CloseNormal, ""); err != nil {
		t.Fatal(err)
	}
	err := client.Err()
	if !errors.Is(err, ErrCloseTimeout) || err.Error() != "sent 1000 (OK); no close frame received" {
		t.Fatalf("Err = %v", err)
	}
}
