package runtime

import (
	"context"
	"errors"
	"io"
	"unicode/utf8"

	"github.com/tetherws/tether/ws"
)

// ErrConcurrentRead is returned by NextReader when another NextReader
// call on the same connection is waiting: one message goes to one caller.
var ErrConcurrentRead = errors.New("tether: concurrent NextReader calls")

// NextReader returns the next message received as an io.Reader that
// yields its data as its frames arrive, so that a message larger than
// memory (raise Options.MaxMessageSize) streams through a few buffers of
// 32 KiB. It returns io.EOF once the connection has no more messages
// (Messages is closed: Err says how it ended), and ctx's error if ctx
// ends first, in which case no message is taken. ctx also bounds every
// Read of the message.
//
// NextReader and Messages share one stream of messages, and mixing them
// loses or reorders none: NextReader takes the next message the
// application has not received. A message already waiting in Messages is
// returned from memory; otherwise the reader goroutine hands the next one
// over as it arrives, and from then on its data is never assembled (a
// message partly received when NextReader is called hands over what came
// so far first). While a message handed over is not read to its end, the
// connection reads nothing more (backpressure, as a full Messages): read
// it to io.EOF or Close it. Calling NextReader again closes the previous
// reader. Call NextReader from one goroutine at a time, and not while
// another goroutine receives from Messages (which of them gets a message
// would then be a race, though none is lost).
//
// The data of a text message is valid UTF-8, and each Read ends on a
// whole UTF-8 sequence when p has room for one (utf8.UTFMax bytes), so
// string(p[:n]) never splits a character. With permessage-deflate, a
// compressed frame is decoded whole before it is streamed, so memory is
// bounded by the frame (Options.MaxFrameSize) rather than the message.
// With Options.Streaming, NextReader reads the pieces from Messages.
func (c *Conn) NextReader(ctx context.Context) (*MessageReader, error) {
	r, err := c.nextReader(ctx)
	if r != nil {
		r.ctx = ctx
	}
	return r, err
}

func (c *Conn) nextReader(ctx context.Context) (*MessageReader, error) {
	if s := c.reading.Swap(nil); s != nil {
		s.stop() // the previous message, if not read to its end
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if c.opts.Streaming {
		return c.nextFromPieces(ctx)
	}
	select {
	case m, ok := <-c.msgs:
		return c.fromQueue(m, ok)
	default:
	}
	q := &nextReq{ready: make(chan *MessageReader, 1), picked: make(chan struct{})}
	if !c.want.CompareAndSwap(nil, q) {
		return nil, ErrConcurrentRead
	}
	if c.delivering.Load() || len(c.msgs) > 0 {
		// A message is on its way to Messages: it comes first.
		if c.want.CompareAndSwap(q, nil) {
			select {
			case m, ok := <-c.msgs:
				return c.fromQueue(m, ok)
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return c.picked(q), nil // claimed meanwhile
	}
	select {
	case r := <-q.ready:
		return c.pick(q, r), nil
	case m, ok := <-c.msgs:
		// While the call is registered the reader sends nothing on
		// Messages: this is its end.
		if c.want.CompareAndSwap(q, nil) {
			return c.fromQueue(m, ok)
		}
		return c.picked(q), nil
	case <-ctx.Done():
		if c.want.CompareAndSwap(q, nil) {
			return nil, ctx.Err()
		}
		return c.picked(q), nil // too late: the message is ours
	}
}

// picked returns the reader the reader goroutine handed to q.
func (c *Conn) picked(q *nextReq) *MessageReader { return c.pick(q, <-q.ready) }

// pick lets the reader goroutine go on once NextReader has r, the
// reader it handed to q.
func (c *Conn) pick(q *nextReq, r *MessageReader) *MessageReader {
	close(q.picked)
	if r.s != nil {
		c.reading.Store(r.s)
	}
	return r
}

// fromQueue returns a reader over a message received from Messages.
func (c *Conn) fromQueue(m Message, ok bool) (*MessageReader, error) {
	if !ok {
		return nil, io.EOF
	}
	return wholeReader(c, m), nil
}

// nextFromPieces is NextReader with Options.Streaming: the message comes
// in pieces on Messages. Pieces of a message begun before (not First) are
// skipped.
func (c *Conn) nextFromPieces(ctx context.Context) (*MessageReader, error) {
	for {
		select {
		case m, ok := <-c.msgs:
			if !ok {
				return nil, io.EOF
			}
			if !m.First {
				m.Release()
				continue
			}
			r := &MessageReader{c: c, typ: m.Type, text: m.Type == ws.OpText, pieces: true}
			r.setPiece(m)
			return r, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func wholeReader(c *Conn, m Message) *MessageReader {
	r := &MessageReader{c: c, typ: m.Type, text: m.Type == ws.OpText}
	r.setPiece(m)
	return r
}

// MessageReader reads one received message as a stream: see
// Conn.NextReader. It is not safe for concurrent use.
type MessageReader struct {
	c      *Conn
	typ    ws.Opcode
	text   bool
	s      *msgStream // a message handed over by the reader goroutine
	pieces bool       // Options.Streaming: the pieces come from Messages
	ctx    context.Context

	msg   Message // the current piece (Messages) or whole message
	buf   []byte  // the current piece (stream)
	cur   []byte  // its unread part
	carry []byte  // Options.Streaming text: a sequence cut between pieces
	err   error   // the end: io.EOF, or why the message cannot be read
}

// Type returns the message's type, ws.OpText or ws.OpBinary.
func (r *MessageReader) Type() ws.Opcode { return r.typ }

// setPiece makes m the current piece.
func (r *MessageReader) setPiece(m Message) {
	r.msg = m
	r.cur = m.Data
	if r.text && !m.Fin && r.pieces {
		// A piece of Options.Streaming may end inside a sequence: keep
		// that part for the next piece.
		cut := wholeUTF8(r.cur)
		r.carry = append([]byte(nil), r.cur[cut:]...)
		r.cur = r.cur[:cut]
	}
	if m.Fin {
		r.err = io.EOF // once cur is read
	}
}

// Read reads the message's data. It returns io.EOF at the end of the
// message, io.ErrUnexpectedEOF (wrapped) when the connection ended in its
// middle, and ctx's error (NextReader's ctx) when that ends first.
func (r *MessageReader) Read(p []byte) (int, error) {
	return r.read(r.context(), p)
}

func (r *MessageReader) context() context.Context {
	if r.ctx == nil {
		return context.Background()
	}
	return r.ctx
}

// read is Read bounded by ctx; when ctx ends, nothing is lost: a later
// read goes on where this one stopped.
func (r *MessageReader) read(ctx context.Context, p []byte) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if len(p) == 0 {
		return 0, nil
	}
	for len(r.cur) == 0 {
		if r.err != nil {
			r.recycle()
			return 0, r.err
		}
		if err := r.next(ctx); err != nil {
			return 0, err
		}
	}
	n := copy(p, r.cur)
	if r.text && n < len(r.cur) {
		n = cutUTF8(r.cur, n)
	}
	r.cur = r.cur[n:]
	return n, nil
}

// cutUTF8 returns where to end a read of the first n bytes of b (n <
// len(b)) so that it does not end inside a UTF-8 sequence: n itself, or
// the start of the sequence that n cuts, unless that start is 0 (p is
// shorter than the sequence).
func cutUTF8(b []byte, n int) int {
	for i := n; i > 0 && i > n-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			return i
		}
	}
	return n
}

// next waits for the next piece.
func (r *MessageReader) next(ctx context.Context) error {
	r.recycle()
	if r.pieces {
		select {
		case m, ok := <-r.c.msgs:
			if !ok {
				r.err = errMessageCut
				return nil
			}
			if len(r.carry) > 0 {
				d := make([]byte, 0, len(r.carry)+len(m.Data))
				d = append(append(d, r.carry...), m.Data...)
				m.Release()
				m.Data, m.blk = d, nil
				r.carry = nil
			}
			r.setPiece(m)
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	var b []byte
	var ok bool
	select {
	case b, ok = <-r.s.pieces:
	default:
		select {
		case b, ok = <-r.s.pieces:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if !ok {
		r.err = r.s.err
		return nil
	}
	r.buf, r.cur = b, b
	return nil
}

// recycle hands back the current piece, once read.
func (r *MessageReader) recycle() {
	if r.msg.blk != nil {
		r.msg.Release()
		r.msg = Message{}
	}
	if r.buf != nil {
		if cap(r.buf) == pieceSize {
			select {
			case r.s.free <- r.buf:
			default:
			}
		}
		r.buf = nil
	}
}

// WriteTo writes the rest of the message to w, piece by piece, without
// copying it through a buffer of its own: io.Copy uses it.
func (r *MessageReader) WriteTo(w io.Writer) (int64, error) {
	ctx := r.context()
	var total int64
	for {
		for len(r.cur) == 0 {
			if r.err != nil {
				r.recycle()
				if r.err == io.EOF {
					return total, nil
				}
				return total, r.err
			}
			if err := r.next(ctx); err != nil {
				return total, err
			}
		}
		n, err := w.Write(r.cur)
		total += int64(n)
		r.cur = r.cur[n:]
		if err != nil {
			return total, err
		}
	}
}

// Close discards the rest of the message (the connection goes on reading
// the next one) and releases the buffers. Read then fails. It returns nil.
func (r *MessageReader) Close() error {
	if r.s != nil {
		r.s.stop()
		r.c.reading.CompareAndSwap(r.s, nil)
	}
	if r.pieces && r.err == nil {
		// Options.Streaming: the rest of the message is on Messages.
		for r.err == nil {
			r.cur = nil
			if r.next(context.Background()) != nil {
				break
			}
		}
	}
	r.cur = nil
	r.recycle()
	r.err = errReaderClosed
	return nil
}

// stop tells the reader goroutine that the application reads no more of
// the message.
func (s *msgStream) stop() {
	s.closeOnce.Do(func() { close(s.closed) })
}
