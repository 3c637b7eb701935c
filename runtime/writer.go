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
// blocking (rawIO.tryWrite: one write system call on the non-blocking
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
//     path, see newRawIO).
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
	n, err := c.rio.tryWrite(f.b)
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

// writeDirectLocked is kickLocked for a whole message on a server
// connection without extensions, whose frame is a header followed by the
// payload as it is: it writes both with one writev, without copying the
// payload into a frame buffer. Only what the socket does not take is
// copied (into a pooled buffer, queued for the writer). It reports false
// when this does not apply; the caller then frames and queues as usual.
// The protocol still checks that the message may be sent: AppendData of
// an empty payload, whose frame is discarded.
func (c *Conn) writeDirectLocked(typ ws.Opcode, data []byte, noCompress bool) (bool, error) {
	if c.rio == nil || c.side != ws.Server || len(c.exts) != 0 || c.writing || c.werr != nil ||
		len(c.ctrlQ)+len(c.dataQ) != 0 {
		return false, nil
	}
	if c.proto.State() != ws.StateOpen {
		return true, c.closingErrLocked()
	}
	if _, err := c.proto.AppendData(c.rio.hdr[:0], typ, true, nil, noCompress); err != nil {
		return true, err
	}
	hdr := ws.AppendHeader(c.rio.hdr[:0], ws.Header{Fin: true, Opcode: typ, Length: int64(len(data))})
	c.writing = true
	c.mu.Unlock()
	n, err := c.rio.tryWritev(hdr, data)
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
func (c *Conn) queueFrame(ctx context.Context, op ws.Opcode, fin bool, payload []byte, noCompress bool) error {
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
	err := c.appendFrameLocked(op, fin, payload, noCompress)
	c.mu.Unlock()
	return err
}

// appendFrameLocked frames one data frame, queues it and kicks the queue.
func (c *Conn) appendFrameLocked(op ws.Opcode, fin bool, payload []byte, noCompress bool) error {
	if c.proto.State() != ws.StateOpen {
		return c.closingErrLocked()
	}
	b, err := c.frameLocked(op, fin, payload, noCompress)
	if err != nil {
		return err
	}
	c.pushLocked(outFrame{b: *b, buf: b}, false)
	c.kickLocked()
	return nil
}

// frameLocked frames one data frame with c's protocol into a pooled
// buffer.
func (c *Conn) frameLocked(op ws.Opcode, fin bool, payload []byte, noCompress bool) (*[]byte, error) {
	b := getBuf()
	var err error
	if *b, err = c.proto.AppendData(*b, op, fin, payload, noCompress); err != nil {
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

// ErrInvalidUTF8 is returned when a text message to send is not valid UTF-8.
// Nothing is sent. It matches ws.ErrInvalidUTF8.
var ErrInvalidUTF8 = &ws.ProtocolError{Code: ws.CloseInvalidPayload, Msg: "text message is not valid UTF-8"}

// Send sends one message of type typ (ws.OpText or ws.OpBinary). It returns
// once the message is written to the socket or queued for the writer,
// waiting only while more than Options.WriteLimit bytes are queued (it
// never waits for the socket itself). If ctx ends first, nothing is sent.
// Text must be valid UTF-8. The caller may reuse data when Send returns.
// To echo or forward a received message, SendMessage saves validating its
// text again.
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
	if err := checkType(typ); err != nil {
		return err
	}
	if typ == ws.OpText && !validUTF8(data) {
		return ErrInvalidUTF8
	}
	return c.sendWhole(ctx, typ, data, o.NoCompress)
}

// SendMessage sends the type and data of m as one message, like Send. It
// is the way to echo or forward a received message: a whole text message
// (First and Fin both set) that tether received was validated as UTF-8
// on receipt, and SendMessage does not validate it again. This holds only
// while m.Data is unchanged: after changing it, use Send. Other messages
// (built by the application, or streaming pieces) are validated as Send
// does. The caller may Release m when SendMessage returns.
func (c *Conn) SendMessage(ctx context.Context, m Message) error {
	if err := checkType(m.Type); err != nil {
		return err
	}
	if m.Type == ws.OpText && !m.valid && !validUTF8(m.Data) {
		return ErrInvalidUTF8
	}
	return c.sendWhole(ctx, m.Type, m.Data, false)
}

// sendWhole sends one whole, validated message.
//
// Fast path: when no other send holds the send semaphore (no fragmented
// message under way, nobody waiting for room) and the queue is below
// WriteLimit, the frame is queued (and usually written, see kickLocked)
// in one critical section of c.mu, without taking the semaphore: under
// c.mu the frame is whole and ordered with every other frame, which is
// all the semaphore guarantees to a one-frame message. A send that takes
// the semaphore later queues its frames after this one.
func (c *Conn) sendWhole(ctx context.Context, typ ws.Opcode, data []byte, noCompress bool) error {
	if err := ctx.Err(); err != nil {
		return err // ended before the call: queue nothing
	}
	c.mu.Lock()
	if len(c.sendSem) == 0 && (c.queued <= c.opts.WriteLimit || c.opts.WriteLimit <= 0) {
		done, err := c.writeDirectLocked(typ, data, noCompress)
		if !done {
			err = c.appendFrameLocked(typ, true, data, noCompress)
		}
		c.mu.Unlock()
		return err
	}
	c.mu.Unlock()
	if err := c.acquire(ctx); err != nil {
		return err
	}
	defer c.release()
	return c.queueFrame(ctx, typ, true, data, noCompress)
}

func checkType(typ ws.Opcode) error {
	if typ != ws.OpText && typ != ws.OpBinary {
		return &ws.ProtocolError{Code: ws.CloseProtocolError, Msg: "message type must be text or binary, not " + typ.String()}
	}
	return nil
}

// errFragment is the close reason when a fragmented send cannot finish.
const errFragment = "error in fragmented message"

// SendFragments sends one message made of the fragments that seq yields,
// one frame each, then an empty final frame. Other sends wait until it
// ends. An empty sequence sends nothing. If ctx ends before the first
// fragment, nothing is sent; if it ends in the middle, the message cannot
// be finished and the connection fails with 1011 "error in fragmented
// message".
func (c *Conn) SendFragments(ctx context.Context, typ ws.Opcode, seq iter.Seq[[]byte]) error {
	if err := checkType(typ); err != nil {
		return err
	}
	if err := c.acquire(ctx); err != nil {
		return err
	}
	defer c.release()
	op := typ
	var v ws.UTF8Validator
	for frag := range seq {
		if typ == ws.OpText && !v.Write(frag) {
			return c.abandonFragments(op, ErrInvalidUTF8)
		}
		if err := c.queueFrame(ctx, op, false, frag, false); err != nil {
			return c.abandonFragments(op, err)
		}
		op = ws.OpContinuation
	}
	if op == typ {
		return nil // nothing was sent
	}
	if typ == ws.OpText && !v.Complete() {
		return c.abandonFragments(op, ErrInvalidUTF8)
	}
	return c.queueFrame(context.WithoutCancel(ctx), ws.OpContinuation, true, nil, false)
}

// abandonFragments fails the connection when a started fragmented message
// cannot be finished.
func (c *Conn) abandonFragments(op ws.Opcode, err error) error {
	if op != ws.OpContinuation || errors.Is(err, ws.ErrClosed) {
		return err
	}
	c.fail(ws.CloseInternalError, errFragment)
	return err
}

// MessageWriter sends one fragmented message: each Write sends one frame
// and Close sends the final frame. Other sends wait until Close.
type MessageWriter struct {
	c      *Conn
	ctx    context.Context
	op     ws.Opcode
	typ    ws.Opcode
	v      ws.UTF8Validator
	noComp bool
	closed bool
}

// NewMessageWriter starts a fragmented message of type typ. ctx bounds
// every Write; after it ends, Write fails but Close still ends the message.
func (c *Conn) NewMessageWriter(ctx context.Context, typ ws.Opcode, o SendOptions) (*MessageWriter, error) {
	if err := checkType(typ); err != nil {
		return nil, err
	}
	if err := c.acquire(ctx); err != nil {
		return nil, err
	}
	return &MessageWriter{c: c, ctx: ctx, op: typ, typ: typ, noComp: o.NoCompress}, nil
}

// Write sends p as one frame of the message.
func (w *MessageWriter) Write(p []byte) (int, error) {
	if w.closed {
		return 0, errors.New("ws: write to a closed message writer")
	}
	if w.typ == ws.OpText && !w.v.Write(p) {
		return 0, ErrInvalidUTF8
	}
	if err := w.c.queueFrame(w.ctx, w.op, false, p, w.noComp); err != nil {
		return 0, err
	}
	w.op = ws.OpContinuation
	return len(p), nil
}

// Close sends the final frame of the message and lets other sends go on.
// A text message must end on a complete UTF-8 sequence.
func (w *MessageWriter) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	defer w.c.release()
	if w.typ == ws.OpText && !w.v.Complete() {
		// Fails the connection only if a frame was sent.
		return w.c.abandonFragments(w.op, ErrInvalidUTF8)
	}
	err := w.c.queueFrame(context.WithoutCancel(w.ctx), w.op, true, nil, w.noComp)
	if err != nil && w.op == ws.OpContinuation {
		return w.c.abandonFragments(w.op, err)
	}
	return err
}
