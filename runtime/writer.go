package runtime

import (
	"context"
	"errors"
	"iter"
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
// This departs from "only the writer writes" of DESIGN.md in the one way
// that pays: a frame the socket takes at once is written by its sender,
// which saves waking the writer (two goroutine switches) per message. The
// rule that matters, one writer at a time and frames whole and in order,
// is kept by the token.

// outFrame is a frame, or what is left of it, waiting to be written.
type outFrame struct {
	b   []byte       // the bytes still to write
	buf *[]byte      // the pooled buffer b is in, or nil
	shr *sharedFrame // the broadcast frame b is in, or nil
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
		c.queued += len(f.b)
		c.ctrlQ = slices.Insert(c.ctrlQ, 0, f)
		c.wakeWriter()
	default:
		f.release()
		if len(c.ctrlQ)+len(c.dataQ) > 0 || c.closeWriteDue() {
			c.wakeWriter() // queued while we wrote, or a half-close is due
		}
	}
}

// writeDirectLocked is kickLocked for a whole message whose frame is a
// header followed by the payload as it is (ws.Protocol.AppendDataHeader
// says when: a server connection without extensions): it writes both with
// one writev, without copying the payload into a frame buffer. Only what
// the socket does not take is copied (into a pooled buffer, queued for
// the writer). It reports false when this does not apply; the caller then
// frames and queues as usual.
func (c *Conn) writeDirectLocked(typ ws.Opcode, data []byte, flags ws.SendFlags) (bool, error) {
	if c.rio == nil || c.writing || c.werr != nil || len(c.ctrlQ)+len(c.dataQ) != 0 {
		return false, nil
	}
	if c.proto.State() != ws.StateOpen {
		return true, c.closingErrLocked()
	}
	hdr, raw, err := c.proto.AppendDataHeader(c.rio.HeaderBuf(), typ, true, data, flags)
	if err != nil {
		return true, err
	}
	if !raw {
		return false, nil
	}
	c.writing = true
	c.mu.Unlock()
	n, err := c.rio.TryWritev(hdr, data)
	c.mu.Lock()
	var f outFrame
	if err == nil && n < len(hdr)+len(data) {
		b := getBuf()
		if n < len(hdr) {
			*b = append(*b, hdr[n:]...)
			n = 0
		} else {
			n -= len(hdr)
		}
		*b = append(*b, data[n:]...)
		f = outFrame{b: *b, buf: b}
	}
	c.wroteLocked(f, 0, err)
	return true, nil
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
	if len(w.bufs) == 1 {
		_, err = c.nc.Write(w.bufs[0])
	} else {
		w.wv = w.bufs
		_, err = w.wv.WriteTo(c.nc)
		w.wv = nil
	}
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
	c.log.Debug("x half-closing TCP connection")
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
		if cw.CloseWrite() == nil {
			return
		}
	}
	_ = c.nc.Close()
}

// acquire takes the right to send a message. The semaphore is made on
// first use: whole messages usually do not need it (see sendWhole).
func (c *Conn) acquire(ctx context.Context) error {
	c.mu.Lock()
	if c.sendSem == nil {
		c.sendSem = make(chan struct{}, 1)
	}
	sem := c.sendSem
	c.mu.Unlock()
	select {
	case sem <- struct{}{}:
		return nil
	default:
	}
	select {
	case sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-c.done:
		return c.closeErr()
	}
}

func (c *Conn) release() { <-c.sendSem }

// queueFrame waits for room in the write queue (backpressure), then frames
// one data frame and queues it. Cancelling ctx while waiting queues nothing.
func (c *Conn) queueFrame(ctx context.Context, op ws.Opcode, fin bool, payload []byte, flags ws.SendFlags) error {
	if err := ctx.Err(); err != nil {
		return err // ended before the call: queue nothing
	}
	c.mu.Lock()
	for c.queued > c.opts.WriteLimit && c.opts.WriteLimit > 0 {
		if c.proto.State() != ws.StateOpen {
			break
		}
		if c.spaceCh == nil {
			c.spaceCh = make(chan struct{})
		}
		ch := c.spaceCh
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-c.done:
			return c.closeErr()
		}
		c.mu.Lock()
	}
	err := c.appendFrameLocked(op, fin, payload, flags)
	c.mu.Unlock()
	return err
}

// appendFrameLocked frames one data frame, queues it and kicks the queue.
func (c *Conn) appendFrameLocked(op ws.Opcode, fin bool, payload []byte, flags ws.SendFlags) error {
	if c.proto.State() != ws.StateOpen {
		return c.closingErrLocked()
	}
	b, err := c.frameLocked(op, fin, payload, flags)
	if err != nil {
		return err
	}
	c.pushLocked(outFrame{b: *b, buf: b}, false)
	c.kickLocked()
	return nil
}

// frameLocked frames one data frame with c's protocol into a pooled
// buffer. The protocol checks the request (ws.Protocol.AppendDataWith).
func (c *Conn) frameLocked(op ws.Opcode, fin bool, payload []byte, flags ws.SendFlags) (*[]byte, error) {
	b := getBuf()
	var err error
	if *b, err = c.proto.AppendDataWith(*b, op, fin, payload, flags); err != nil {
		putBuf(b)
		return nil, err
	}
	return b, nil
}

// SendOptions adjust one Send.
type SendOptions struct {
	// NoCompress sends this message uncompressed even when compression
	// was negotiated (e.g. data that is already compressed).
	NoCompress bool
}

func (o SendOptions) flags() ws.SendFlags {
	if o.NoCompress {
		return ws.SendNoCompress
	}
	return 0
}

// ErrInvalidUTF8 is returned when a text message to send is not valid UTF-8.
// Nothing is sent. It is ws.ErrInvalidText: it matches ws.ErrInvalidUTF8
// and ws.ErrInvalidSend.
var ErrInvalidUTF8 = ws.ErrInvalidText

// Send sends one message of type typ (ws.OpText or ws.OpBinary). It returns
// once the message is written to the socket or queued for the writer,
// waiting only while more than Options.WriteLimit bytes are queued (it
// never waits for the socket itself). If ctx ends first, nothing is sent.
// Text must be valid UTF-8. The caller may reuse data when Send returns.
// To echo or forward a received message, SendMessage saves validating its
// text again. A message the protocol refuses (another type, text that is
// not UTF-8) is a *ws.SendError, and nothing is sent.
func (c *Conn) Send(ctx context.Context, typ ws.Opcode, data []byte) error {
	return c.SendWith(ctx, typ, data, SendOptions{})
}

// SendText sends a text message.
func (c *Conn) SendText(ctx context.Context, text string) error {
	return c.SendWith(ctx, ws.OpText, []byte(text), SendOptions{})
}

// SendBinary sends a binary message.
func (c *Conn) SendBinary(ctx context.Context, data []byte) error {
	return c.SendWith(ctx, ws.OpBinary, data, SendOptions{})
}

// SendWith is Send with options.
func (c *Conn) SendWith(ctx context.Context, typ ws.Opcode, data []byte, o SendOptions) error {
	// Checked before waiting for room in the queue, outside c.mu.
	if err := ws.CheckMessage(typ, data); err != nil {
		return err
	}
	return c.sendWhole(ctx, typ, data, o.flags()|ws.SendValidUTF8)
}

// SendMessage sends the type and data of m as one message, like Send. It
// is the way to echo or forward a received message: a whole text message
// (First and Fin both set) that tether received was validated as UTF-8
// on receipt, and SendMessage does not validate it again. This holds only
// while m.Data is unchanged: after changing it, use Send. Other messages
// (built by the application, or streaming pieces) are validated as Send
// does. The caller may Release m when SendMessage returns.
func (c *Conn) SendMessage(ctx context.Context, m Message) error {
	if !m.valid {
		if err := ws.CheckMessage(m.Type, m.Data); err != nil {
			return err
		}
	}
	return c.sendWhole(ctx, m.Type, m.Data, ws.SendValidUTF8)
}

// sendWhole sends one whole message; the protocol checks it as it frames
// it (its text is valid already: flags has ws.SendValidUTF8).
//
// Fast path: when no other send holds the send semaphore (no fragmented
// message under way, nobody waiting for room) and the queue is below
// WriteLimit, the frame is queued (and usually written, see kickLocked)
// in one critical section of c.mu, without taking the semaphore: under
// c.mu the frame is whole and ordered with every other frame, which is
// all the semaphore guarantees to a one-frame message. A send that takes
// the semaphore later queues its frames after this one.
func (c *Conn) sendWhole(ctx context.Context, typ ws.Opcode, data []byte, flags ws.SendFlags) error {
	if err := ctx.Err(); err != nil {
		return err // ended before the call: queue nothing
	}
	c.mu.Lock()
	if len(c.sendSem) == 0 && (c.queued <= c.opts.WriteLimit || c.opts.WriteLimit <= 0) {
		done, err := c.writeDirectLocked(typ, data, flags)
		if !done {
			err = c.appendFrameLocked(typ, true, data, flags)
		}
		c.mu.Unlock()
		return err
	}
	c.mu.Unlock()
	if err := c.acquire(ctx); err != nil {
		return err
	}
	defer c.release()
	return c.queueFrame(ctx, typ, true, data, flags)
}

// Close reasons of a fragmented message that cannot be finished (the
// protocol fails the connection with 1011: ws.Protocol.AbandonMessage).
const (
	reasonFragmentError       = "error in fragmented message"
	reasonCloseDuringFragment = "close during fragmented message"
)

// abandonMessage gives up the message being sent after err, and returns
// err. When frames of it went out, the protocol fails the connection
// (see ws.Protocol.AbandonMessage): its close frame goes out and the
// close timeout starts.
func (c *Conn) abandonMessage(err error) error {
	c.mu.Lock()
	if c.proto.AbandonMessage(reasonFragmentError) {
		c.failedLocked()
	}
	c.mu.Unlock()
	return err
}

// SendFragments sends one message made of the fragments that seq yields,
// one frame each, then an empty final frame. Other sends wait until it
// ends. An empty sequence sends nothing. If ctx ends before the first
// fragment, nothing is sent; if it ends in the middle, the message cannot
// be finished and the connection fails with 1011 "error in fragmented
// message". So does text that turns out not to be valid UTF-8 after the
// first fragment went out.
func (c *Conn) SendFragments(ctx context.Context, typ ws.Opcode, seq iter.Seq[[]byte]) error {
	if err := ws.CheckMessage(typ, nil); err != nil {
		return err
	}
	if err := c.acquire(ctx); err != nil {
		return err
	}
	defer c.release()
	op := typ
	for frag := range seq {
		if err := c.queueFrame(ctx, op, false, frag, 0); err != nil {
			return c.abandonMessage(err)
		}
		op = ws.OpContinuation
	}
	if op == typ {
		return nil // nothing was sent
	}
	if err := c.queueFrame(context.WithoutCancel(ctx), ws.OpContinuation, true, nil, 0); err != nil {
		return c.abandonMessage(err)
	}
	return nil
}

// MessageWriter sends one fragmented message: each Write sends one frame
// and Close sends the final frame. Other sends wait until Close.
type MessageWriter struct {
	c       *Conn
	ctx     context.Context
	op      ws.Opcode
	flags   ws.SendFlags
	badText bool // a Write was refused as invalid UTF-8: the message cannot end well
	closed  bool
}

// NewMessageWriter starts a fragmented message of type typ. ctx bounds
// every Write; after it ends, Write fails but Close still ends the message.
func (c *Conn) NewMessageWriter(ctx context.Context, typ ws.Opcode, o SendOptions) (*MessageWriter, error) {
	if err := ws.CheckMessage(typ, nil); err != nil {
		return nil, err
	}
	if err := c.acquire(ctx); err != nil {
		return nil, err
	}
	return &MessageWriter{c: c, ctx: ctx, op: typ, flags: o.flags()}, nil
}

// errWriterClosed is Write's error after Close.
var errWriterClosed = errors.New("tether: write to a closed message writer")

// Write sends p as one frame of the message. Text must be valid UTF-8 so
// far (a code point may straddle two Writes); once a Write is refused as
// invalid UTF-8, every later Write is, and Close abandons the message.
func (w *MessageWriter) Write(p []byte) (int, error) {
	if w.closed {
		return 0, errWriterClosed
	}
	if w.badText {
		return 0, ErrInvalidUTF8
	}
	if err := w.c.queueFrame(w.ctx, w.op, false, p, w.flags); err != nil {
		if err == ErrInvalidUTF8 {
			w.badText = true
		}
		return 0, err
	}
	w.op = ws.OpContinuation
	return len(p), nil
}

// Close sends the final frame of the message and lets other sends go on.
// A text message must end on a complete UTF-8 sequence. When the message
// cannot be finished after some of it went out, the connection fails
// with 1011 "error in fragmented message".
func (w *MessageWriter) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	defer w.c.release()
	if w.badText {
		return w.c.abandonMessage(ErrInvalidUTF8)
	}
	if err := w.c.queueFrame(context.WithoutCancel(w.ctx), w.op, true, nil, w.flags); err != nil {
		return w.c.abandonMessage(err)
	}
	return nil
}
