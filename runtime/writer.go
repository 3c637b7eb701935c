package runtime

import (
	"log/slog"
	"net"
	"slices"

	"github.com/tetherws/tether/ws"
)

// Writing: the write token.
//
// Writes to the socket are serialised by a token (Conn.writing, under
// c.mu), and the writer goroutine owns every write that could block.
// When a sender (Send, Broadcast, Ping, Close, or the reader answering a
// ping or a close) queues a frame and finds nothing else queued and the
// token free, it takes the token and writes the frame itself, without
// blocking (rawio.IO.TryWrite: one write system call on the non-blocking
// socket). What the socket does not take (EAGAIN, or a partial write) is
// put back at the head of the queue and the writer goroutine is woken to
// finish it with ordinary blocking writes. So:
//   - a sender never blocks on the socket, and ctx keeps its meaning (a
//     frame is queued or written whole, never abandoned half-way);
//   - frames are never interleaved: whoever holds the token writes, and
//     the remainder of a partial write goes out before anything else;
//   - order is queue order, and a frame is written inline only when the
//     queue is empty, so it cannot overtake a queued one;
//   - the writer goroutine is woken only when the socket is slow (or the
//     connection is not a TCP or Unix socket: TLS keeps the queue-and-wake
//     path, see rawio.New).
//
// The writer goroutine (writeLoop) runs for the whole connection and
// sleeps while there is nothing it must write. Woken, it takes everything
// queued (the remainder of a partial write first, then control frames,
// then data), writes it with one vectored write (net.Buffers), and
// sleeps again once the queue is empty. On connections without
// non-blocking writes (TLS...) every frame goes through it.
//
// This departs from "only the writer goroutine writes" in the one way
// that pays: a frame the socket takes at once is written by its sender,
// which saves waking the writer (two goroutine switches) per message. The
// rule that matters, one writer at a time and frames whole and in order,
// is kept by the token.

// outFrame is a frame, or what is left of it, waiting to be written.
type outFrame struct {
	b    []byte       // the bytes still to write
	buf  *[]byte      // the pooled buffer b is in, or nil
	shr  *sharedFrame // the broadcast frame b is in, or nil
	pong bool         // the whole answer to a ping: a newer one may replace it
}

// release hands the frame's buffer back once written or dropped.
func (f outFrame) release() {
	if f.buf != nil {
		putBuf(f.buf)
	}
	if f.shr != nil {
		f.shr.release()
	}
}

// pushLocked queues a frame: control frames (pings, pongs) ahead of data.
// The caller then calls kickLocked.
func (c *Conn) pushLocked(f outFrame, ctrl bool) {
	c.queued += len(f.b)
	if ctrl {
		c.ctrlQ = append(c.ctrlQ, f)
	} else {
		c.dataQ = append(c.dataQ, f)
	}
}

// kickLocked gets the queue written: when the frame just queued is the
// only one and the write token is free, it writes it now without blocking
// (see "the write token" above); otherwise it wakes the writer goroutine,
// unless the token holder will see the queue when it is done. c.mu is
// held, and released during the write system call.
func (c *Conn) kickLocked() {
	nq := len(c.ctrlQ) + len(c.dataQ)
	switch {
	case c.writing:
		return // the token holder looks at the queue when it is done
	case nq == 0:
		if c.closeWriteDue() {
			c.wakeWriter() // the writer half-closes
		}
		return
	case nq > 1 || c.rio == nil || c.werr != nil:
		c.wakeWriter()
		return
	}
	var f outFrame
	if len(c.ctrlQ) == 1 {
		f = c.ctrlQ[0]
		c.ctrlQ[0] = outFrame{}
		c.ctrlQ = c.ctrlQ[:0]
	} else {
		f = c.dataQ[0]
		c.dataQ[0] = outFrame{}
		c.dataQ = c.dataQ[:0]
	}
	c.queued -= len(f.b)
	c.writing = true
	c.mu.Unlock()
	n, err := c.rio.TryWrite(f.b)
	c.wroteBytes(n)
	c.mu.Lock()
	c.wroteLocked(f, n, err)
}

// wroteLocked ends an inline write, which wrote n bytes of f.b: it gives
// the token back and queues what is left, at the head of the queue.
func (c *Conn) wroteLocked(f outFrame, n int, err error) {
	c.writing = false
	switch {
	case err != nil:
		f.release()
		if c.werr == nil {
			c.werr = err
		}
		c.wakeWriter()
	case n < len(f.b):
		// The socket is full: the rest goes first, by the writer.
		f.b = f.b[n:]
		f.pong = false // begun: it must be finished as it is
		c.queued += len(f.b)
		c.ctrlQ = slices.Insert(c.ctrlQ, 0, f)
		c.wakeWriter()
	default:
		f.release()
		c.wakeIfDueLocked()
	}
}

// wakeIfDueLocked wakes the writer after an inline write when frames were
// queued meanwhile or a half-close is due.
func (c *Conn) wakeIfDueLocked() {
	if len(c.ctrlQ)+len(c.dataQ) > 0 || c.closeWriteDue() {
		c.wakeWriter()
	}
}

// writeDirectLocked is kickLocked for a whole message whose frame is a
// header followed by the payload as it is (ws.Protocol.AppendDataHeader
// says when: a server connection without extensions): it writes both with
// one writev, without copying the payload into a frame buffer. Only what
// the socket does not take is copied (into a pooled buffer, queued for
// the writer). It reports false when this does not apply; the caller then
// frames and queues as usual. It returns the frame's length.
func (c *Conn) writeDirectLocked(typ ws.Opcode, data []byte, flags ws.SendFlags) (bool, int, error) {
	hdr, done, err := c.directHeaderLocked(typ, data, flags)
	if hdr == nil {
		return done, 0, err
	}
	c.writevLocked(hdr, data)
	return true, len(hdr) + len(data), nil
}

// directHeaderLocked is the first half of writeDirectLocked: it returns
// the header of the frame to write inline, or nil and what
// writeDirectLocked returns. The halves keep each frame small: a handler
// that sends writes the socket inline, at the bottom of a deep call
// chain (see Server.runHandler).
func (c *Conn) directHeaderLocked(typ ws.Opcode, data []byte, flags ws.SendFlags) ([]byte, bool, error) {
	if c.rio == nil || c.writing || c.werr != nil || len(c.ctrlQ)+len(c.dataQ) != 0 {
		return nil, false, nil
	}
	if c.proto.State() != ws.StateOpen {
		return nil, true, c.closingErrLocked()
	}
	hdr, raw, err := c.proto.AppendDataHeader(c.rio.HeaderBuf(), typ, true, data, flags)
	if err != nil {
		return nil, true, err
	}
	if !raw {
		return nil, false, nil
	}
	c.framedLocked(typ, data, true)
	return hdr, true, nil
}

// writevLocked is the second half of writeDirectLocked: it writes the
// header and the payload with one writev, holding the write token, then
// lets wrotevLocked queue what the socket did not take.
func (c *Conn) writevLocked(hdr, data []byte) {
	c.writing = true
	c.mu.Unlock()
	n, err := c.rio.TryWritev(hdr, data)
	c.wrotevLocked(hdr, data, n, err)
}

// wrotevLocked ends the inline writev of writevLocked, which wrote n
// bytes: it takes c.mu again, gives the token back and queues the rest.
// The common case, everything written, stays in this frame: the inline
// writev runs on the sender's goroutine (an application handler), whose
// stack is kept at its first 2 KiB only if the path is shallow.
func (c *Conn) wrotevLocked(hdr, data []byte, n int, err error) {
	c.wroteBytes(n)
	c.mu.Lock()
	if err != nil || n < len(hdr)+len(data) {
		c.wrotevShortLocked(hdr, data, n, err)
		return
	}
	c.writing = false
	c.wakeIfDueLocked()
}

// wrotevShortLocked ends an inline writev that failed or wrote less than
// the frame: the rest is queued for the writer.
//
//go:noinline
func (c *Conn) wrotevShortLocked(hdr, data []byte, n int, err error) {
	var f outFrame
	if err == nil {
		f = restFrame(hdr, data, n)
	}
	c.wroteLocked(f, 0, err)
}

// restFrame copies what a writev of hdr and data did not write (it wrote
// n bytes) into a pooled buffer.
func restFrame(hdr, data []byte, n int) outFrame {
	b := getBuf()
	if n < len(hdr) {
		*b = append(*b, hdr[n:]...)
		n = 0
	} else {
		n -= len(hdr)
	}
	*b = append(*b, data[n:]...)
	return outFrame{b: *b, buf: b}
}

// writeLoop is the writer goroutine. It sleeps on c.wake (one channel
// receive: an idle writer keeps Go's smallest stack) until wakeWriter
// posts a wake-up, then writes the queue with blocking writes until it is
// empty, half-closing the transport when the closing handshake asks for
// it. It returns when the reader closes c.wake at the end of the
// connection, or with the error of a failed write, after aborting the
// connection.
func (c *Conn) writeLoop() error {
	for range c.wake {
		if err := c.drain(); err != nil {
			c.cancel(err)
			return err
		}
	}
	return nil
}

// drain writes the queue until it is empty. A failed inline write (werr)
// or a write error of its own aborts the connection.
func (c *Conn) drain() error {
	c.mu.Lock()
	for c.werr == nil && !c.writing {
		// (An inline write under way calls wakeWriter again when it
		// leaves something behind.)
		if len(c.ctrlQ)+len(c.dataQ) == 0 {
			if c.closeWriteDueLocked() {
				continue
			}
			break
		}
		if err := c.qw.writeLocked(c); err != nil {
			c.mu.Unlock()
			c.abort(err)
			return err
		}
	}
	werr := c.werr
	c.mu.Unlock()
	if werr != nil {
		c.abort(werr)
		return werr
	}
	return nil
}

// closeWriteDueLocked half-closes the transport once, when the queue is
// empty and the closing handshake asks for it, holding the token. It
// reports whether it did. After the peer's EOF there is nothing to
// half-close: the reader is ending and closes the socket (a client's
// CloseTransport comes from the EOF).
func (c *Conn) closeWriteDueLocked() bool {
	if !c.closeWriteDue() {
		return false
	}
	c.halfClosed = true
	c.writing = true
	c.mu.Unlock()
	c.closeWrite()
	c.mu.Lock()
	c.writing = false
	return true
}

// closeWriteDue reports whether the transport is to be half-closed once
// the queue is empty. c.mu is held.
func (c *Conn) closeWriteDue() bool {
	return c.proto.CloseTransport() && !c.halfClosed && !c.proto.EOFReceived()
}

// queueWriter is the scratch space of a writer goroutine.
type queueWriter struct {
	taken []outFrame
	bufs  net.Buffers
	wv    net.Buffers // what WriteTo consumes (a field: a local would escape on every write)
}

// writeLocked takes everything queued (the rest of a partial write first,
// then control frames, then data) and writes it with one blocking
// vectored write, holding the token. c.mu is held, and released during
// the write.
func (w *queueWriter) writeLocked(c *Conn) error {
	w.taken = append(w.taken[:0], c.ctrlQ...)
	w.taken = append(w.taken, c.dataQ...)
	clear(c.ctrlQ)
	clear(c.dataQ)
	c.ctrlQ, c.dataQ = c.ctrlQ[:0], c.dataQ[:0]
	c.writing = true
	c.mu.Unlock()
	w.bufs = w.bufs[:0]
	n := 0
	for _, f := range w.taken {
		w.bufs = append(w.bufs, f.b)
		n += len(f.b)
	}
	var err error
	var wn int64
	if len(w.bufs) == 1 {
		var k int
		k, err = c.nc.Write(w.bufs[0])
		wn = int64(k)
	} else {
		w.wv = w.bufs
		wn, err = w.wv.WriteTo(c.nc)
		w.wv = nil
	}
	c.wroteBytes(int(wn))
	for i, f := range w.taken {
		f.release()
		w.taken[i] = outFrame{}
	}
	clear(w.bufs)
	c.mu.Lock()
	c.writing = false
	c.queued -= n
	if c.spaceCh != nil && c.queued <= c.opts.WriteLimit/4 {
		close(c.spaceCh)
		c.spaceCh = nil
	}
	return err
}

// closeWrite half-closes the transport: the server's way of ending the
// closing handshake (the client answers by closing its side). Only the
// server half-closes; a client closes the socket once it has seen EOF.
func (c *Conn) closeWrite() {
	c.logAt(slog.LevelDebug, "x half-closing TCP connection")
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
		if cw.CloseWrite() == nil {
			return
		}
	}
	_ = c.nc.Close()
}

// takeOutputLocked queues the protocol's own output other than pongs: a
// close frame, which keeps its place after queued data. The caller then
// calls kickLocked.
func (c *Conn) takeOutputLocked() {
	if c.proto.HasOutput() {
		b := getBuf()
		*b = c.proto.TakeOutput(*b)
		c.pushLocked(outFrame{b: *b, buf: b}, false)
		if cs := c.proto.CloseSent(); cs != nil && c.debugOn() {
			c.logCloseLocked('>', *cs)
		}
	}
}

// maxQueuedPongs bounds the pongs waiting in the queue: up to it, every
// ping gets its pong, in order (a peer that reads sees each answered);
// past it, the newest pong replaces the last one queued (RFC 6455 §5.5.3
// lets an endpoint answer only the most recent ping), so a peer that
// floods pings and does not read holds a few pongs, not one per ping.
const maxQueuedPongs = 16

// queuePongLocked queues the protocol's answer to the ping just parsed,
// within maxQueuedPongs. The caller then calls kickLocked.
func (c *Conn) queuePongLocked() {
	if !c.proto.HasOutput() {
		return
	}
	last, n := -1, 0
	for i := range c.ctrlQ {
		if c.ctrlQ[i].pong {
			last = i
			n++
		}
	}
	if n >= maxQueuedPongs {
		f := &c.ctrlQ[last]
		c.queued -= len(f.b)
		*f.buf = c.proto.TakeOutput((*f.buf)[:0])
		f.b = *f.buf
		c.queued += len(f.b)
		return
	}
	b := getBuf()
	*b = c.proto.TakeOutput(*b)
	c.pushLocked(outFrame{b: *b, buf: b, pong: true}, true)
}

// wakeWriter gets the writer goroutine to write the queue (a wake-up
// already pending is enough: the writer looks at the whole queue). c.mu is
// held.
func (c *Conn) wakeWriter() {
	if c.ended {
		return
	}
	select {
	case c.wake <- struct{}{}:
	default:
	}
}
