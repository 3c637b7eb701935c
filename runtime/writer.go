package runtime

import (
	"context"
	"errors"
	"iter"
	"net"

	"github.com/tetherws/tether/ws"
)

// writeLoop is the writer goroutine: the only one that writes the socket.
// It takes everything queued (control frames first) and writes it with one
// vectored write.
func (c *Conn) writeLoop(ctx context.Context) error {
	var taken []*[]byte
	var bufs net.Buffers
	halfClosed := false
	for {
		select {
		case <-c.wake:
		case <-ctx.Done():
			return nil
		}
		for {
			c.mu.Lock()
			taken = append(taken[:0], c.ctrlQ...)
			taken = append(taken, c.dataQ...)
			clear(c.ctrlQ)
			clear(c.dataQ)
			c.ctrlQ, c.dataQ = c.ctrlQ[:0], c.dataQ[:0]
			closeAfter := c.proto.CloseTransport()
			c.mu.Unlock()
			if len(taken) == 0 {
				if closeAfter && !halfClosed {
					halfClosed = true
					c.closeWrite()
				}
				break
			}
			bufs = bufs[:0]
			n := 0
			for _, b := range taken {
				bufs = append(bufs, *b)
				n += len(*b)
			}
			var err error
			if len(bufs) == 1 {
				_, err = c.nc.Write(bufs[0])
			} else {
				w := bufs
				_, err = w.WriteTo(c.nc)
			}
			for i, b := range taken {
				putBuf(b)
				taken[i] = nil
			}
			clear(bufs)
			c.mu.Lock()
			c.queued -= n
			if c.spaceCh != nil && c.queued <= c.opts.WriteLimit/4 {
				close(c.spaceCh)
				c.spaceCh = nil
			}
			c.mu.Unlock()
			if err != nil {
				return err
			}
		}
	}
}

// closeWrite half-closes the transport: the server's way of ending the
// closing handshake (the client answers by closing its side).
func (c *Conn) closeWrite() {
	c.log.Debug("x half-closing TCP connection")
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
		if cw.CloseWrite() == nil {
			return
		}
	}
	_ = c.nc.Close()
}

// acquire takes the right to send a message.
func (c *Conn) acquire(ctx context.Context) error {
	select {
	case c.sendSem <- struct{}{}:
		return nil
	default:
	}
	select {
	case c.sendSem <- struct{}{}:
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
	if c.proto.State() != ws.StateOpen {
		c.mu.Unlock()
		return c.closeErr()
	}
	b := getBuf()
	var err error
	*b, err = c.proto.AppendData(*b, op, fin, payload, noCompress)
	if err != nil {
		putBuf(b)
		c.mu.Unlock()
		return err
	}
	c.queued += len(*b)
	c.dataQ = append(c.dataQ, b)
	c.wakeWriter()
	c.mu.Unlock()
	return nil
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
// once the message is queued for the writer, waiting while more than
// Options.WriteLimit bytes are queued. If ctx ends first, nothing is sent.
// Text must be valid UTF-8. The caller may reuse data when Send returns.
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
	if typ == ws.OpText {
		var v ws.UTF8Validator
		if !v.Write(data) || !v.Complete() {
			return ErrInvalidUTF8
		}
	}
	if err := c.acquire(ctx); err != nil {
		return err
	}
	defer c.release()
	return c.queueFrame(ctx, typ, true, data, o.NoCompress)
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
