package runtime

import (
	"context"
	"errors"
	"iter"

	"github.com/tetherws/tether/ws"
)

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
		return c.ctxErr(ctx)
	case <-c.done:
		return c.closeErr()
	}
}

// ctxErr is the error of a send whose ctx ended: ctx's, unless ctx ended
// with the connection (its Context, or one derived from it), which is
// then reported as closing, like any send after the end: a handler that
// sends with the connection's context sees ErrClosed, not
// context.Canceled.
func (c *Conn) ctxErr(ctx context.Context) error {
	if c.ctx.Err() != nil {
		return c.closeErr()
	}
	return ctx.Err()
}

func (c *Conn) release() { <-c.sendSem }

// queueFrame waits for room in the write queue (backpressure), then frames
// one data frame and queues it. Cancelling ctx while waiting queues nothing.
func (c *Conn) queueFrame(ctx context.Context, op ws.Opcode, fin bool, payload []byte, flags ws.SendFlags) error {
	if ctx.Err() != nil {
		return c.ctxErr(ctx) // ended before the call: queue nothing
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
			return c.ctxErr(ctx)
		case <-c.done:
			return c.closeErr()
		}
		c.mu.Lock()
	}
	wire, err := c.appendFrameLocked(op, fin, payload, flags)
	typ, queued := c.outType, c.queued
	c.mu.Unlock()
	if err == nil {
		c.sent(typ, op, payload, fin, wire, queued)
	}
	return err
}

// appendFrameLocked frames one data frame, queues it and kicks the queue.
// It returns the frame's length.
func (c *Conn) appendFrameLocked(op ws.Opcode, fin bool, payload []byte, flags ws.SendFlags) (int, error) {
	if c.proto.State() != ws.StateOpen {
		return 0, c.closingErrLocked()
	}
	b, err := c.frameLocked(op, fin, payload, flags)
	if err != nil {
		return 0, err
	}
	if op != ws.OpContinuation {
		c.outType = op
	}
	n := len(*b)
	c.framedLocked(op, payload, fin)
	c.pushLocked(outFrame{b: *b, buf: b}, false)
	c.kickLocked()
	return n, nil
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
	if ctx.Err() != nil {
		return c.ctxErr(ctx) // ended before the call: queue nothing
	}
	c.mu.Lock()
	if len(c.sendSem) == 0 && (c.queued <= c.opts.WriteLimit || c.opts.WriteLimit <= 0) {
		done, wire, err := c.writeDirectLocked(typ, data, flags)
		if !done {
			wire, err = c.appendFrameLocked(typ, true, data, flags)
		}
		queued := c.queued
		c.mu.Unlock()
		if err == nil {
			c.sent(typ, typ, data, true, wire, queued)
		}
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
	c.mu.Lock()
	open := c.proto.State() == ws.StateOpen
	c.mu.Unlock()
	if !open {
		c.release()
		return nil, c.closeErr()
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
