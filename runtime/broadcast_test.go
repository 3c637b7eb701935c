package runtime

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tetherws/tether/ws"
)

// seqPayload is message i: its number, then filler, size bytes in all.
func seqPayload(i, size int) []byte {
	b := bytes.Repeat([]byte{byte('a' + i%26)}, size)
	binary.BigEndian.PutUint32(b, uint32(i))
	return b
}

// broadcastGroup starts a server and dials n clients: it returns the
// server-side and the client-side connections, in the same order.
func broadcastGroup(t *testing.T, n int, so *ServerOptions) (servers, clients []*Conn) {
	t.Helper()
	sink := newConnSink()
	s := &Server{Handler: sink.handler}
	if so != nil {
		s.Options = *so
	}
	url := startServer(t, s)
	for range n {
		clients = append(clients, dial(t, url, &DialOptions{Options: Options{PingInterval: -1}}))
		servers = append(servers, sink.next(t))
	}
	return servers, clients
}

func TestBroadcastSendsOneMessageToEveryConnection(t *testing.T) {
	servers, clients := broadcastGroup(t, 5, nil)
	res, err := BroadcastWith(testCtx(t), servers, ws.OpText, []byte("héllo all"), BroadcastOptions{Errors: true})
	if err != nil || res != (BroadcastResult{Sent: 5}) {
		t.Fatalf("result %+v, err %v", res, err)
	}
	for i, c := range clients {
		if m := recv(t, c); m.Type != ws.OpText || m.Text() != "héllo all" {
			t.Fatalf("client %d got %v %q", i, m.Type, m.Data)
		}
	}
	// Binary, and the caller's buffer is free once Broadcast returns.
	data := []byte{0, 1, 2}
	if err := Broadcast(testCtx(t), servers, ws.OpBinary, data); err != nil {
		t.Fatal(err)
	}
	data[0] = 9
	for _, c := range clients {
		if m := recv(t, c); m.Type != ws.OpBinary || !bytes.Equal(m.Data, []byte{0, 1, 2}) {
			t.Fatalf("got %v %v", m.Type, m.Data)
		}
	}
}

func TestBroadcastFromClientConnections(t *testing.T) {
	// Client frames are masked, each with its own key: framed per
	// connection.
	servers, clients := broadcastGroup(t, 3, nil)
	if err := Broadcast(testCtx(t), clients, ws.OpText, []byte("up")); err != nil {
		t.Fatal(err)
	}
	for _, c := range servers {
		if m := recv(t, c); m.Text() != "up" {
			t.Fatalf("got %q", m.Data)
		}
	}
}

func TestBroadcastRejectsWhatCannotBeSent(t *testing.T) {
	servers, _ := broadcastGroup(t, 1, nil)
	if err := Broadcast(testCtx(t), servers, ws.OpText, []byte{0xff}); err != ErrInvalidUTF8 {
		t.Fatalf("invalid UTF-8: %v", err)
	}
	if err := Broadcast(testCtx(t), servers, ws.OpPing, nil); err == nil {
		t.Fatal("a ping: no error")
	}
	ctx, cancel := context.WithCancel(testCtx(t))
	cancel()
	if res, err := BroadcastWith(ctx, servers, ws.OpText, []byte("x"), BroadcastOptions{}); !errors.Is(err, context.Canceled) || res.Sent != 0 {
		t.Fatalf("cancelled context: %+v %v", res, err)
	}
}

func TestBroadcastSkipsConnectionsNotOpen(t *testing.T) {
	servers, clients := broadcastGroup(t, 3, nil)
	if err := clients[1].Close(ws.CloseNormal, ""); err != nil {
		t.Fatal(err)
	}
	waitDone(t, servers[1])
	var skipped []*Conn
	res, err := BroadcastWith(testCtx(t), servers, ws.OpText, []byte("still here"), BroadcastOptions{
		Errors:  true,
		Skipped: func(c *Conn, reason error) { skipped = append(skipped, c) },
	})
	if res != (BroadcastResult{Sent: 2, NotOpen: 1}) {
		t.Fatalf("result %+v", res)
	}
	if !errors.Is(err, ErrNotOpen) || !errors.Is(err, ws.ErrClosed) || !strings.Contains(err.Error(), servers[1].ID()) {
		t.Fatalf("err %v", err)
	}
	var se *SkipError
	if !errors.As(err, &se) || se.Conn != servers[1] || se.Err != ErrNotOpen {
		t.Fatalf("err %#v", err)
	}
	if len(skipped) != 1 || skipped[0] != servers[1] {
		t.Fatalf("Skipped called for %v", skipped)
	}
	// Without Errors, skips are counted, not reported.
	if res, err := BroadcastWith(testCtx(t), servers, ws.OpText, []byte("again"), BroadcastOptions{}); err != nil || res.NotOpen != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	for _, i := range []int{0, 2} {
		for _, want := range []string{"still here", "again"} {
			if m := recv(t, clients[i]); m.Text() != want {
				t.Fatalf("client %d got %q", i, m.Data)
			}
		}
	}
}

func TestBroadcastSkipsFragmentedSends(t *testing.T) {
	servers, clients := broadcastGroup(t, 2, nil)
	ctx := testCtx(t)
	w, err := servers[0].NewMessageWriter(ctx, ws.OpText, SendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("frag")); err != nil {
		t.Fatal(err)
	}
	res, err := BroadcastWith(ctx, servers, ws.OpText, []byte("b"), BroadcastOptions{Errors: true})
	if res != (BroadcastResult{Sent: 1, Fragmented: 1}) || !errors.Is(err, ErrFragmentedSend) || !errors.Is(err, ws.ErrConcurrency) {
		t.Fatalf("result %+v, err %v", res, err)
	}
	if _, err := w.Write([]byte("ment")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, clients[0]); m.Text() != "fragment" {
		t.Fatalf("got %q", m.Data)
	}
	if m := recv(t, clients[1]); m.Text() != "b" {
		t.Fatalf("got %q", m.Data)
	}
}

// TestBroadcastSkipsSlowConnections: a client that does not read fills
// its socket, then its queue passes WriteLimit: broadcasts skip it without
// waiting, while the others get every message; what the slow client did
// get is whole and in order.
func TestBroadcastSkipsSlowConnections(t *testing.T) {
	so := &ServerOptions{Options: Options{WriteLimit: 64 << 10, PingInterval: -1}}
	servers, clients := broadcastGroup(t, 2, so)
	// The slow client: a raw peer that does not read.
	sink := newConnSink()
	s := &Server{Handler: sink.handler, Options: *so}
	peer := rawClient(t, startServer(t, s))
	slow := sink.next(t)
	if err := slow.NetConn().(*net.TCPConn).SetWriteBuffer(4 << 10); err != nil {
		t.Fatal(err)
	}
	all := append([]*Conn{slow}, servers...)
	ctx := testCtx(t)
	payload := func(i int) []byte { return seqPayload(i, 16<<10) }
	sent := 0
	var res BroadcastResult
	for res.Slow == 0 {
		if sent > 10000 {
			t.Fatal("the slow connection was never skipped")
		}
		start := time.Now()
		var err error
		res, err = BroadcastWith(ctx, all, ws.OpBinary, payload(sent), BroadcastOptions{Errors: true})
		if time.Since(start) > time.Second {
			t.Fatalf("a broadcast waited %v", time.Since(start))
		}
		if res.Sent+res.Slow != 3 || (res.Slow == 1 && !errors.Is(err, ErrSlowConnection)) {
			t.Fatalf("result %+v, err %v", res, err)
		}
		// The fast clients keep up.
		for i, c := range clients {
			if m := recv(t, c); !bytes.Equal(m.Data, payload(sent)) {
				t.Fatalf("client %d: message %d wrong", i, sent)
			}
		}
		sent++
	}
	// The slow peer reads now: every message queued for it is whole, in
	// order, and there are sent-1 of them (the last one was skipped).
	for i := range sent - 1 {
		f := peer.expect(ws.OpBinary)
		if !bytes.Equal(f.Payload, payload(i)) {
			t.Fatalf("slow client: message %d wrong (%d bytes)", i, len(f.Payload))
		}
	}
	if err := Broadcast(ctx, all, ws.OpText, []byte("caught up")); err != nil {
		t.Fatal(err)
	}
	if f := peer.expect(ws.OpText); string(f.Payload) != "caught up" {
		t.Fatalf("got %q", f.Payload)
	}
}

// TestBroadcastKeepsOrderWithConcurrentSends: each connection gets the
// broadcasts in order and its own Sends in order, interleaved as they
// happened, every frame whole.
func TestBroadcastKeepsOrderWithConcurrentSends(t *testing.T) {
	const n, count = 4, 200
	servers, clients := broadcastGroup(t, n, nil)
	ctx := testCtx(t)
	var wg sync.WaitGroup
	for i, c := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range count {
				if err := c.SendText(ctx, fmt.Sprintf("s%d-%d", i, k)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for k := range count {
			if err := Broadcast(ctx, servers, ws.OpText, []byte("b-"+strconv.Itoa(k))); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for i, c := range clients {
		nextS, nextB := 0, 0
		for nextS < count || nextB < count {
			m := recv(t, c)
			switch s := m.Text(); {
			case s == fmt.Sprintf("s%d-%d", i, nextS):
				nextS++
			case s == "b-"+strconv.Itoa(nextB):
				nextB++
			default:
				t.Fatalf("client %d: got %q, want s%d-%d or b-%d", i, s, i, nextS, nextB)
			}
			m.Release()
		}
	}
	wg.Wait()
}

// countExt is an extension that changes nothing and counts the frames it
// encodes; shared makes it a ws.SharedEncoder of key "same".
type countExt struct {
	encodes *atomic.Int32
	shared  bool
}

func (countExt) Name() string                  { return "x-count" }
func (countExt) Params() []ws.Param            { return nil }
func (countExt) RsvBits() byte                 { return 0 }
func (e countExt) Encode(*ws.Frame) error      { e.encodes.Add(1); return nil }
func (countExt) Decode(*ws.Frame, int64) error { return nil }
func (e countExt) EncodingKey() (any, bool)    { return "same", e.shared }

type countFactory struct{ countExt }

func (f countFactory) Negotiate([]ws.Param, []ws.Extension) ([]ws.Param, ws.Extension, error) {
	return nil, f.countExt, nil
}
func (f countFactory) Offer() []ws.Param { return nil }
func (f countFactory) Accept([]ws.Param, []ws.Extension) (ws.Extension, error) {
	return countExt{encodes: new(atomic.Int32)}, nil
}

// TestBroadcastEncodesOnceForConnectionsThatEncodeAlike: server
// connections whose extension is a ws.SharedEncoder with the same key get
// one encoded frame; without the key each connection encodes its own.
func TestBroadcastEncodesOnceForConnectionsThatEncodeAlike(t *testing.T) {
	for _, shared := range []bool{true, false} {
		encodes := new(atomic.Int32)
		f := countFactory{countExt{encodes: encodes, shared: shared}}
		sink := newConnSink()
		s := &Server{Handler: sink.handler, Options: ServerOptions{
			Options:   Options{DisableCompression: true},
			Handshake: ws.ServerHandshake{Extensions: []ws.ServerExtensionFactory{f}},
		}}
		url := startServer(t, s)
		var servers, clients []*Conn
		for range 4 {
			clients = append(clients, dial(t, url, &DialOptions{
				Options:    Options{PingInterval: -1, DisableCompression: true},
				Extensions: []ws.ClientExtensionFactory{f},
			}))
			servers = append(servers, sink.next(t))
		}
		if got := servers[0].Extensions(); len(got) != 1 || got[0].Name() != "x-count" {
			t.Fatalf("extensions %v", got)
		}
		res, err := BroadcastWith(testCtx(t), servers, ws.OpText, []byte("to all"), BroadcastOptions{})
		if err != nil || res.Sent != 4 {
			t.Fatalf("Broadcast = %+v, %v", res, err)
		}
		for i, c := range clients {
			if m := recv(t, c); string(m.Data) != "to all" {
				t.Fatalf("client %d got %q", i, m.Data)
			}
		}
		want := int32(4)
		if shared {
			want = 1
		}
		if n := encodes.Load(); n != want {
			t.Errorf("shared %v: %d encodes for 4 connections, want %d", shared, n, want)
		}
	}
}
