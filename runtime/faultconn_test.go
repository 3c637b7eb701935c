package runtime

import (
	"bytes"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tetherws/tether/ws"
)

// The fault-injecting transport (spec §13): a net.Conn wrapper that sees
// what its owner sends, one unit at a time (the HTTP head, each frame, the
// half-close and the close), and lets the test pass, hold (delay until
// release) or drop each unit. Wrapping both ends of a connection covers the
// four cases of the spec: what one side sends is what the other receives,
// so "delay a received frame" on one side is "hold a sent frame" on the
// other, and "drop a received EOF" is "drop the peer's half-close".

// action is what a faultConn does with a unit.
type action int

const (
	pass action = iota
	drop
	hold
	fail // the owner's Write fails with errInjected
)

var errInjected = errors.New("faultConn: injected write error")

type unitKind int

const (
	unitHead  unitKind = iota // the HTTP head of the handshake
	unitFrame                 // a WebSocket frame
	unitHalf                  // CloseWrite: a half-close (EOF for the peer)
	unitClose                 // Close (EOF, or a reset, for the peer)
)

// unit is one thing a faultConn intercepts.
type unit struct {
	kind    unitKind
	op      ws.Opcode
	payload []byte // unmasked
	raw     []byte
}

func (u unit) isEOF() bool { return u.kind == unitHalf || u.kind == unitClose }

// faultConn intercepts what its owner writes. Reads go straight through.
type faultConn struct {
	net.Conn

	// gate, when set, makes the owner's Write wait until it is closed;
	// entered is signalled when a Write starts waiting.
	gate    chan struct{}
	entered chan struct{}

	wmu sync.Mutex // serialises writes to Conn, in unit order
	buf []byte     // bytes of an incomplete unit
	// inHead is set until the HTTP head has been written.
	inHead bool

	mu      sync.Mutex
	rule    func(unit) action
	held    []unit
	closed  bool // Close was called
	pending bool // a held or dropped Close: the socket is still open
	log     []passedUnit
}

// passedUnit records a unit passed on, with a sequence number shared by
// every faultConn so that tests can order events across connections.
type passedUnit struct {
	kind unitKind
	op   ws.Opcode
	seq  int64
}

var faultSeq atomic.Int64

func newFaultConn(nc net.Conn) *faultConn { return &faultConn{Conn: nc, inHead: true} }

// setRule sets what to do with each unit from now on; nil passes all. The
// rule runs with the conn's lock held: it must not block.
func (f *faultConn) setRule(rule func(unit) action) {
	f.mu.Lock()
	f.rule = rule
	f.mu.Unlock()
}

// decide applies the rule. Once something is held, everything after it is
// held too, so that release keeps the order.
func (f *faultConn) decide(u unit) action {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := pass
	if f.rule != nil {
		a = f.rule(u)
	}
	if a == pass && len(f.held) > 0 {
		a = hold
	}
	if a == hold {
		f.held = append(f.held, u)
	}
	if a == pass {
		f.log = append(f.log, passedUnit{u.kind, u.op, faultSeq.Add(1)})
	}
	return a
}

func (f *faultConn) Write(b []byte) (int, error) {
	f.mu.Lock()
	gate, entered := f.gate, f.entered
	f.mu.Unlock()
	if gate != nil {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-gate
	}
	f.wmu.Lock()
	defer f.wmu.Unlock()
	f.mu.Lock()
	closed := f.closed
	f.mu.Unlock()
	if closed {
		return 0, net.ErrClosed
	}
	f.buf = append(f.buf, b...)
	for {
		u, ok := f.nextUnit()
		if !ok {
			return len(b), nil
		}
		switch f.decide(u) {
		case pass:
			if _, err := f.Conn.Write(u.raw); err != nil {
				return 0, err
			}
		case fail:
			f.buf = f.buf[:0]
			return 0, errInjected
		}
	}
}

// nextUnit splits the next complete unit off buf.
func (f *faultConn) nextUnit() (unit, bool) {
	if len(f.buf) == 0 {
		return unit{}, false
	}
	take := func(n int, u unit) (unit, bool) {
		u.raw = bytes.Clone(f.buf[:n])
		f.buf = f.buf[n:]
		return u, true
	}
	if f.inHead {
		i := bytes.Index(f.buf, []byte("\r\n\r\n"))
		if i < 0 {
			return unit{}, false
		}
		f.inHead = false
		return take(i+4, unit{kind: unitHead})
	}
	h, n, err := ws.ParseHeader(f.buf)
	if errors.Is(err, ws.ErrNeedMore) {
		return unit{}, false
	}
	if err != nil {
		return take(len(f.buf), unit{kind: unitFrame, op: 0xff}) // not a frame: pass it on whole
	}
	if int64(len(f.buf)-n) < h.Length {
		return unit{}, false
	}
	payload := bytes.Clone(f.buf[n : n+int(h.Length)])
	if h.Masked {
		ws.Mask(h.Mask, 0, payload)
	}
	return take(n+int(h.Length), unit{kind: unitFrame, op: h.Opcode, payload: payload})
}

// CloseWrite half-closes, subject to the rule.
func (f *faultConn) CloseWrite() error {
	f.wmu.Lock()
	defer f.wmu.Unlock()
	if f.decide(unit{kind: unitHalf}) != pass {
		return nil
	}
	return f.closeWrite()
}

func (f *faultConn) closeWrite() error {
	if cw, ok := f.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.New("faultConn: no CloseWrite")
}

// Close closes the connection for its owner. When the rule holds or drops
// it, the socket stays open (the peer sees no EOF) until release or the
// end of the test; the owner's blocked calls return at once all the same.
func (f *faultConn) Close() error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return net.ErrClosed
	}
	f.closed = true
	f.mu.Unlock()
	if f.decide(unit{kind: unitClose}) == pass {
		return f.Conn.Close()
	}
	f.mu.Lock()
	f.pending = true
	f.mu.Unlock()
	past := time.Unix(1, 0)
	_ = f.Conn.SetDeadline(past)
	return nil
}

func (f *faultConn) Read(b []byte) (int, error) {
	n, err := f.Conn.Read(b)
	if err != nil {
		f.mu.Lock()
		if f.closed {
			err = net.ErrClosed
		}
		f.mu.Unlock()
	}
	return n, err
}

func (f *faultConn) SetDeadline(t time.Time) error {
	if f.isClosed() {
		return nil
	}
	return f.Conn.SetDeadline(t)
}

func (f *faultConn) SetReadDeadline(t time.Time) error {
	if f.isClosed() {
		return nil
	}
	return f.Conn.SetReadDeadline(t)
}

func (f *faultConn) SetWriteDeadline(t time.Time) error {
	if f.isClosed() {
		return nil
	}
	return f.Conn.SetWriteDeadline(t)
}

func (f *faultConn) isClosed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.closed
}

// block makes the owner's next writes wait until the returned function is
// called; entered receives a value when a write starts waiting.
func (f *faultConn) block() (entered <-chan struct{}, unblock func()) {
	gate, ent := make(chan struct{}), make(chan struct{}, 1)
	f.mu.Lock()
	f.gate, f.entered = gate, ent
	f.mu.Unlock()
	var once sync.Once
	return ent, func() {
		once.Do(func() {
			f.mu.Lock()
			f.gate = nil
			f.mu.Unlock()
			close(gate)
		})
	}
}

// release sends everything held, in order, and passes what comes next
// (unless the rule says otherwise).
func (f *faultConn) release() {
	f.wmu.Lock()
	defer f.wmu.Unlock()
	f.mu.Lock()
	held := f.held
	f.held = nil
	f.rule = nil
	f.mu.Unlock()
	for _, u := range held {
		f.mu.Lock()
		f.log = append(f.log, passedUnit{u.kind, u.op, faultSeq.Add(1)})
		f.mu.Unlock()
		switch u.kind {
		case unitHalf:
			_ = f.closeWrite()
		case unitClose:
			_ = f.Conn.Close()
		default:
			_, _ = f.Conn.Write(u.raw)
		}
	}
}

// finish closes the socket for good (a held or dropped Close).
func (f *faultConn) finish() { _ = f.Conn.Close() }

// passed returns the units passed on so far, in order.
func (f *faultConn) passed() []passedUnit {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]passedUnit(nil), f.log...)
}

// when returns the sequence number of the first unit of this kind passed
// on, or 0.
func (f *faultConn) when(kind unitKind) int64 {
	for _, u := range f.passed() {
		if u.kind == kind {
			return u.seq
		}
	}
	return 0
}

// faultListener wraps every accepted connection in a faultConn and hands
// it to the test.
type faultListener struct {
	net.Listener
	conns chan *faultConn
}

func (l *faultListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	f := newFaultConn(nc)
	l.conns <- f
	return f, nil
}

// faultPair is a client and a server connection, both over fault
// transports: cf sees what the client sends, sf what the server sends.
type faultPair struct {
	client, server *Conn
	cf, sf         *faultConn
}

// newFaultPair starts a server over a faultListener and dials it over a
// faultConn.
func newFaultPair(t *testing.T, so *ServerOptions, do *DialOptions) *faultPair {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fl := &faultListener{Listener: ln, conns: make(chan *faultConn, 4)}
	sink := newConnSink()
	s := &Server{Handler: sink.handler}
	if so != nil {
		s.Options = *so
	}
	serveOn(t, s, fl)
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	cf := newFaultConn(nc)
	var o DialOptions
	if do != nil {
		o = *do
	}
	o.NetConn = cf
	p := &faultPair{cf: cf}
	p.client = dial(t, "ws://"+ln.Addr().String()+"/", &o)
	p.server = sink.next(t)
	p.sf = <-fl.conns
	t.Cleanup(func() {
		p.client.CloseNow()
		p.server.CloseNow()
		cf.finish()
		p.sf.finish()
	})
	return p
}

// Rules.

// dropOp drops frames with opcode op.
func dropOp(op ws.Opcode) func(unit) action {
	return func(u unit) action {
		if u.kind == unitFrame && u.op == op {
			return drop
		}
		return pass
	}
}

// notify returns a rule that applies a, and signals ch (without blocking)
// for each unit that matches.
func notify(match func(unit) bool, a action, ch chan<- unit) func(unit) action {
	return func(u unit) action {
		if !match(u) {
			return pass
		}
		select {
		case ch <- u:
		default:
		}
		return a
	}
}

func isOp(op ws.Opcode) func(unit) bool {
	return func(u unit) bool { return u.kind == unitFrame && u.op == op }
}

func waitUnit(t *testing.T, ch <-chan unit, what string) unit {
	t.Helper()
	select {
	case u := <-ch:
		return u
	case <-time.After(5 * time.Second):
		t.Fatalf("no %s within 5s", what)
	}
	return unit{}
}
