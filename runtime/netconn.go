package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/tetherws/tether/ws"
)

// netConnChunk bounds the message one Write sends, well under the default
// MaxMessageSize of the peer.
const netConnChunk = 32 << 10

// NewNetConn returns a net.Conn that carries a byte stream over c as
// messages of type typ (ws.OpBinary, or ws.OpText for a stream of UTF-8
// text), so that protocols such as HTTP/1.1, HTTP/2, SSH or yamux run
// over a WebSocket. Each Write sends its bytes as messages of up to
// 32 KiB; Read returns the data of the messages received, in order,
// streamed through Conn.NextReader (message boundaries are not
// preserved), and io.EOF once the peer has closed. A message of the other
// type fails the connection with 1003.
//
// Deadlines work as net.Conn documents: a Read or Write pending when its
// deadline passes returns an error whose Timeout method reports true
// (os.ErrDeadlineExceeded), and nothing is lost: data not yet read stays
// for the next Read. ctx bounds every Read and Write, which fail once it
// ends. Close closes c with 1000 and waits for the closing handshake.
//
// The adapter reads and sends through c: the application must not also
// receive from c (Messages, NextReader) while it is in use.
func NewNetConn(ctx context.Context, c *Conn, typ ws.Opcode) net.Conn {
	n := &netConn{c: c, typ: typ}
	n.base, n.cancel = context.WithCancelCause(ctx)
	n.rd.init(n.base)
	n.wd.init(n.base)
	return n
}

type netConn struct {
	c      *Conn
	typ    ws.Opcode
	base   context.Context // ctx, cancelled by Close (cause net.ErrClosed)
	cancel context.CancelCauseFunc
	rd, wd deadline

	rmu sync.Mutex // one Read at a time
	cur *MessageReader

	wmu   sync.Mutex // one Write at a time: its messages are not interleaved
	carry []byte     // text: the start of a sequence cut at the end of the last Write

	closeOnce sync.Once
}

// Read reads the data of the messages received.
func (n *netConn) Read(p []byte) (int, error) {
	n.rmu.Lock()
	defer n.rmu.Unlock()
	for {
		ctx := n.rd.context()
		if n.cur == nil {
			r, err := n.c.NextReader(ctx)
			if err == io.EOF {
				return 0, io.EOF
			}
			if err != nil {
				return 0, n.opErr("read", ctx, err)
			}
			if r.Type() != n.typ {
				r.Close()
				got, want := typeName(r.Type()), typeName(n.typ)
				_ = n.c.Close(ws.CloseUnsupportedData, "unexpected "+got+" message")
				return 0, n.opErr("read", ctx, fmt.Errorf("tether: a %s message on a %s stream", got, want))
			}
			n.cur = r
		}
		k, err := n.cur.read(ctx, p)
		if err == io.EOF {
			n.cur.Close()
			n.cur = nil
			if k > 0 || len(p) == 0 {
				return k, nil
			}
			continue
		}
		if err != nil {
			return k, n.opErr("read", ctx, err)
		}
		return k, nil
	}
}

func typeName(op ws.Opcode) string {
	if op == ws.OpText {
		return "text"
	}
	return "binary"
}

// Write sends p as messages of up to 32 KiB.
func (n *netConn) Write(p []byte) (int, error) {
	n.wmu.Lock()
	defer n.wmu.Unlock()
	ctx := n.wd.context()
	if err := ctx.Err(); err != nil {
		return 0, n.opErr("write", ctx, err)
	}
	written := 0
	for len(p) > 0 {
		chunk := p[:min(len(p), netConnChunk)]
		data := chunk
		if n.typ == ws.OpText {
			// A sequence cut by the end of a Write waits for the next.
			data = append(n.carry, chunk...)
			cut := wholeUTF8(data)
			n.carry = append([]byte(nil), data[cut:]...)
			data = data[:cut]
		}
		if len(data) > 0 {
			if err := n.c.Send(ctx, n.typ, data); err != nil {
				return written, n.opErr("write", ctx, err)
			}
		}
		written += len(chunk)
		p = p[len(chunk):]
	}
	return written, nil
}

// opErr wraps err as a *net.OpError; an error of ctx becomes its cause: a
// deadline (os.ErrDeadlineExceeded), Close (net.ErrClosed) or the
// adapter's ctx.
func (n *netConn) opErr(op string, ctx context.Context, err error) error {
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		err = context.Cause(ctx)
		if n.base.Err() != nil {
			err = context.Cause(n.base) // closed, whatever the deadline
		}
	}
	return &net.OpError{Op: op, Net: "websocket", Source: n.LocalAddr(), Addr: n.RemoteAddr(), Err: err}
}

// Close closes the WebSocket connection with 1000 and waits for its end.
// Pending and later Reads and Writes fail with net.ErrClosed.
func (n *netConn) Close() error {
	first := false
	n.closeOnce.Do(func() {
		first = true
		n.cancel(net.ErrClosed)
		n.rd.stop()
		n.wd.stop()
	})
	if !first {
		return &net.OpError{Op: "close", Net: "websocket", Source: n.LocalAddr(), Addr: n.RemoteAddr(), Err: net.ErrClosed}
	}
	return n.c.Close(ws.CloseNormal, "")
}

func (n *netConn) LocalAddr() net.Addr  { return n.c.LocalAddr() }
func (n *netConn) RemoteAddr() net.Addr { return n.c.RemoteAddr() }

func (n *netConn) SetDeadline(t time.Time) error {
	n.rd.set(t)
	n.wd.set(t)
	return nil
}

func (n *netConn) SetReadDeadline(t time.Time) error  { n.rd.set(t); return nil }
func (n *netConn) SetWriteDeadline(t time.Time) error { n.wd.set(t); return nil }

// deadline is the context that the operations of one direction run
// under: cancelled with os.ErrDeadlineExceeded when the deadline passes,
// and replaced by a fresh one when a passed deadline is moved.
type deadline struct {
	mu     sync.Mutex
	base   context.Context
	ctx    context.Context
	cancel context.CancelCauseFunc
	timer  *time.Timer
	gen    uint64 // which set the timer belongs to
}

func (d *deadline) init(base context.Context) {
	d.base = base
	d.ctx, d.cancel = context.WithCancelCause(base)
}

func (d *deadline) context() context.Context {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ctx
}

// set makes t the deadline; the zero time means none.
func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.gen++
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	if d.ctx.Err() != nil && d.base.Err() == nil {
		d.ctx, d.cancel = context.WithCancelCause(d.base)
	}
	if t.IsZero() {
		return
	}
	wait := time.Until(t)
	if wait <= 0 {
		d.cancel(os.ErrDeadlineExceeded)
		return
	}
	gen := d.gen
	d.timer = time.AfterFunc(wait, func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.gen == gen {
			d.cancel(os.ErrDeadlineExceeded)
		}
	})
}

// stop disarms the timer.
func (d *deadline) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.gen++
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
}
