package runtime

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tetherws/tether/keepalive"
	"github.com/tetherws/tether/ws"
)

// startServer serves h on a loopback listener and returns its ws:// URL.
// The server is shut down when the test ends.
func startServer(t *testing.T, s *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveOn(t, s, ln)
	return "ws://" + ln.Addr().String() + "/"
}

// serveOn runs s.Serve(ln) and shuts s down when the test ends. The
// returned channel receives what Serve returned.
func serveOn(t *testing.T, s *Server, ln net.Listener) <-chan error {
	t.Helper()
	served := make(chan error, 1)
	out := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		err := <-served
		if !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
		out <- err
	})
	return out
}

// echoHandler sends back every message it receives.
func echoHandler(ctx context.Context, c *Conn) error {
	for m := range c.Messages() {
		if err := c.Send(ctx, m.Type, m.Data); err != nil {
			return err
		}
		m.Release()
	}
	return nil
}

// connSink is a handler that hands each server-side connection to the test
// and keeps it open until it ends (it never reads Messages: the test does).
type connSink chan *Conn

func newConnSink() connSink { return make(connSink, 16) }

func (s connSink) handler(ctx context.Context, c *Conn) error {
	s <- c
	<-c.Done()
	return nil
}

// next returns the next server-side connection.
func (s connSink) next(t *testing.T) *Conn {
	t.Helper()
	select {
	case c := <-s:
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("no server connection within 5s")
	}
	return nil
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func dial(t *testing.T, url string, o *DialOptions) *Conn {
	t.Helper()
	c, _, err := Dial(testCtx(t), url, o)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// pair starts a server with opts and dials it: it returns both ends.
func pair(t *testing.T, so *ServerOptions, do *DialOptions) (client, server *Conn) {
	t.Helper()
	sink := newConnSink()
	s := &Server{Handler: sink.handler}
	if so != nil {
		s.Options = *so
	}
	url := startServer(t, s)
	client = dial(t, url, do)
	server = sink.next(t)
	return client, server
}

func recv(t *testing.T, c *Conn) Message {
	t.Helper()
	select {
	case m, ok := <-c.Messages():
		if !ok {
			t.Fatalf("connection ended: %v", c.Err())
		}
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no message within 10s")
	}
	return Message{}
}

// waitDone waits for c to end and returns Err.
func waitDone(t *testing.T, c *Conn) error {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatalf("connection did not end within 5s (state %v)", c.State())
	}
	return c.Err()
}

// wantEnd waits for c to end and checks how: the close status string, and
// whether Err is nil.
func wantEnd(t *testing.T, name string, c *Conn, status string, errNil bool) {
	t.Helper()
	err := waitDone(t, c)
	if got := c.CloseStatus().Error(); got != status {
		t.Errorf("%s: close status = %q, want %q", name, got, status)
	}
	if (err == nil) != errNil {
		t.Errorf("%s: Err = %v, want nil: %v", name, err, errNil)
	}
	if err != nil {
		var ce *ws.CloseError
		if !errors.As(err, &ce) || !errors.Is(err, ws.ErrClosed) || ce.Error() != status {
			t.Errorf("%s: Err = %#v, want a *ws.CloseError %q", name, err, status)
		}
	}
	if _, ok := <-c.Messages(); ok {
		// Messages may hold unread messages; drain them.
		for range c.Messages() {
		}
	}
}

// eventually polls cond until it holds, for state that changes after the
// last event a test can wait on.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	deadline := time.After(5 * time.Second)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("not within 5s: %s", what)
		}
	}
}

// ------------------------------------------------------------ raw peers

// rawFrame is a frame as a raw peer reads it.
type rawFrame struct {
	Fin     bool
	Rsv     byte
	Op      ws.Opcode
	Masked  bool
	Payload []byte
}

// appendFrame encodes a frame, masked with a fixed key when mask is set.
func appendFrame(dst []byte, fin bool, op ws.Opcode, payload []byte, mask bool) []byte {
	h := ws.Header{Fin: fin, Opcode: op, Length: int64(len(payload)), Masked: mask}
	if mask {
		h.Mask = [4]byte{0x37, 0xfa, 0x21, 0x3d}
	}
	dst = ws.AppendHeader(dst, h)
	start := len(dst)
	dst = append(dst, payload...)
	if mask {
		ws.Mask(h.Mask, 0, dst[start:])
	}
	return dst
}

func closePayload(code ws.CloseCode, reason string) []byte {
	return append([]byte{byte(code >> 8), byte(code)}, reason...)
}

// rawPeer is a test-side peer that speaks bytes: it can misbehave.
type rawPeer struct {
	t    *testing.T
	nc   net.Conn
	br   *bufio.Reader
	mask bool // a client masks its frames
}

func (p *rawPeer) write(b []byte) {
	p.t.Helper()
	if _, err := p.nc.Write(b); err != nil {
		p.t.Fatalf("raw peer write: %v", err)
	}
}

// send writes one frame.
func (p *rawPeer) send(fin bool, op ws.Opcode, payload []byte) {
	p.t.Helper()
	p.write(appendFrame(nil, fin, op, payload, p.mask))
}

// readFrame reads one frame and unmasks it.
func (p *rawPeer) readFrame() (rawFrame, error) {
	_ = p.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	defer p.nc.SetReadDeadline(time.Time{})
	var hb [14]byte
	if _, err := io.ReadFull(p.br, hb[:2]); err != nil {
		return rawFrame{}, err
	}
	n := 2
	switch hb[1] & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if hb[1]&0x80 != 0 {
		n += 4
	}
	if _, err := io.ReadFull(p.br, hb[2:n]); err != nil {
		return rawFrame{}, err
	}
	h, _, err := ws.ParseHeader(hb[:n])
	if err != nil {
		return rawFrame{}, err
	}
	payload := make([]byte, h.Length)
	if _, err := io.ReadFull(p.br, payload); err != nil {
		return rawFrame{}, err
	}
	if h.Masked {
		ws.Mask(h.Mask, 0, payload)
	}
	return rawFrame{Fin: h.Fin, Rsv: h.Rsv, Op: h.Opcode, Masked: h.Masked, Payload: payload}, nil
}

// expect reads one frame and checks its opcode.
func (p *rawPeer) expect(op ws.Opcode) rawFrame {
	p.t.Helper()
	f, err := p.readFrame()
	if err != nil {
		p.t.Fatalf("raw peer: reading a %v frame: %v", op, err)
	}
	if f.Op != op {
		p.t.Fatalf("raw peer: got a %v frame %q, want %v", f.Op, f.Payload, op)
	}
	if f.Masked != !p.mask {
		p.t.Fatalf("raw peer: frame masked = %v", f.Masked)
	}
	return f
}

// expectClose reads a close frame and checks its code and reason.
func (p *rawPeer) expectClose(code ws.CloseCode, reason string) {
	p.t.Helper()
	f := p.expect(ws.OpClose)
	if want := closePayload(code, reason); !bytes.Equal(f.Payload, want) {
		p.t.Fatalf("raw peer: close payload %q, want %q", f.Payload, want)
	}
}

// expectEOF reads until EOF, failing on any frame.
func (p *rawPeer) expectEOF() {
	p.t.Helper()
	f, err := p.readFrame()
	if err == nil {
		p.t.Fatalf("raw peer: got a %v frame %q, want EOF", f.Op, f.Payload)
	}
	if !errors.Is(err, io.EOF) {
		p.t.Fatalf("raw peer: got %v, want EOF", err)
	}
}

func (p *rawPeer) close() { _ = p.nc.Close() }

// rawClient connects to url (a Server) and runs the opening handshake by
// hand.
func rawClient(t *testing.T, url string) *rawPeer {
	t.Helper()
	addr := strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), "/")
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	key := ws.NewKey()
	fmt.Fprintf(nc, "GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", addr, key)
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("raw client: %v", err)
	}
	if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != ws.AcceptKey(key) {
		t.Fatalf("raw client: handshake response %v %v", resp.Status, resp.Header)
	}
	return &rawPeer{t: t, nc: nc, br: br, mask: true}
}

// rawServer listens on loopback; every connection gets a hand-made 101
// response and is handed to the test as a rawPeer.
func rawServer(t *testing.T) (url string, peers <-chan *rawPeer) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan *rawPeer, 4)
	done := make(chan struct{})
	t.Cleanup(func() { _ = ln.Close(); <-done })
	go func() {
		defer close(done)
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = nc.Close() })
			br := bufio.NewReader(nc)
			req, err := http.ReadRequest(br)
			if err != nil {
				_ = nc.Close()
				continue
			}
			h := sha1.Sum([]byte(req.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
			fmt.Fprintf(nc, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
				"Sec-WebSocket-Accept: %s\r\n\r\n", base64.StdEncoding.EncodeToString(h[:]))
			ch <- &rawPeer{t: t, nc: nc, br: br}
		}
	}()
	return "ws://" + ln.Addr().String() + "/", ch
}

func nextPeer(t *testing.T, peers <-chan *rawPeer) *rawPeer {
	t.Helper()
	select {
	case p := <-peers:
		return p
	case <-time.After(5 * time.Second):
		t.Fatal("no raw connection within 5s")
	}
	return nil
}

// dialRaw dials a raw server and returns the client Conn and the raw peer.
func dialRaw(t *testing.T, o *DialOptions) (*Conn, *rawPeer) {
	t.Helper()
	url, peers := rawServer(t)
	c := dial(t, url, o)
	return c, nextPeer(t, peers)
}

// acceptRaw starts a Server with opts and connects a raw client: it
// returns the server-side Conn and the raw peer.
func acceptRaw(t *testing.T, so *ServerOptions) (*Conn, *rawPeer) {
	t.Helper()
	sink := newConnSink()
	s := &Server{Handler: sink.handler}
	if so != nil {
		s.Options = *so
	}
	url := startServer(t, s)
	p := rawClient(t, url)
	return sink.next(t), p
}

// ------------------------------------------------------------ fake clock

// fakeClock is a keepalive.Clock whose timers the test fires by hand. Every
// timer created is announced on timers.
type fakeClock struct{ timers chan *fakeTimer }

func newFakeClock() *fakeClock { return &fakeClock{timers: make(chan *fakeTimer, 64)} }

type fakeTimer struct {
	d       time.Duration
	c       chan time.Time
	f       func() // AfterFunc's
	stopped atomic.Bool
}

func (f *fakeClock) NewTimer(d time.Duration) keepalive.Timer {
	t := &fakeTimer{d: d, c: make(chan time.Time, 1)}
	f.timers <- t
	return t
}

func (f *fakeClock) AfterFunc(d time.Duration, fn func()) keepalive.Timer {
	t := &fakeTimer{d: d, f: fn}
	f.timers <- t
	return t
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }
func (t *fakeTimer) Stop() bool          { return !t.stopped.Swap(true) }

// fire fires the timer, unless it was stopped.
func (t *fakeTimer) fire() {
	if t.stopped.Load() {
		return
	}
	if t.f != nil {
		t.f()
		return
	}
	t.c <- time.Now()
}

// next returns the next timer created.
func (f *fakeClock) next(t *testing.T) *fakeTimer {
	t.Helper()
	select {
	case tm := <-f.timers:
		return tm
	case <-time.After(5 * time.Second):
		t.Fatal("no keepalive timer within 5s")
	}
	return nil
}

var _ keepalive.Clock = (*fakeClock)(nil)
