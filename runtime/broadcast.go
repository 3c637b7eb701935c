package runtime

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/tetherws/tether/ws"
)

// ErrNotOpen is why Broadcast skips a connection that is not OPEN (the
// closing handshake has started, or the connection has ended). It matches
// ws.ErrClosed.
var ErrNotOpen = &notOpenError{}

type notOpenError struct{}

func (*notOpenError) Error() string        { return "tether: connection is not open" }
func (*notOpenError) Is(target error) bool { return target == ws.ErrClosed }

// ErrFragmentedSend is why Broadcast skips a connection in the middle of
// sending a fragmented message (SendFragments, MessageWriter). It matches
// ws.ErrConcurrency.
var ErrFragmentedSend = &fragmentedError{}

type fragmentedError struct{}

func (*fragmentedError) Error() string        { return "tether: sending a fragmented message" }
func (*fragmentedError) Is(target error) bool { return target == ws.ErrConcurrency }

// ErrSlowConnection is why Broadcast skips a connection with more than
// Options.WriteLimit bytes waiting to be written.
var ErrSlowConnection = errors.New("tether: more than WriteLimit bytes queued (slow connection)")

// BroadcastOptions adjust BroadcastWith.
type BroadcastOptions struct {
	// Errors makes BroadcastWith return why each skipped connection was
	// skipped, as a *SkipError each (wrapping ErrNotOpen,
	// ErrFragmentedSend or ErrSlowConnection), joined with errors.Join:
	// Python's raise_exceptions.
	Errors bool
	// Skipped, if set, is called for each connection skipped, with the
	// reason, before Broadcast goes on to the next connection.
	Skipped func(c *Conn, reason error)
}

// SkipError says why a broadcast skipped a connection.
type SkipError struct {
	Conn *Conn
	Err  error // ErrNotOpen, ErrFragmentedSend or ErrSlowConnection
}

func (e *SkipError) Error() string {
	return "tether: skipped broadcast to " + e.Conn.ID() + ": " + e.Err.Error()
}

func (e *SkipError) Unwrap() error { return e.Err }

// BroadcastResult counts what a broadcast did.
type BroadcastResult struct {
	Sent       int // connections the message was written or queued to
	NotOpen    int // skipped: not OPEN
	Fragmented int // skipped: in the middle of a fragmented send
	Slow       int // skipped: more than WriteLimit bytes queued
}

// Broadcast sends one message to every connection in conns, at once and
// without waiting: there is no backpressure. It skips connections that are
// not OPEN, in the middle of a fragmented send, or slow (more than
// Options.WriteLimit bytes already queued: a broadcast never piles up on a
// client that does not read; keepalive then drops it if it stays stuck).
// It returns an error only for a message that cannot be sent (a bad type,
// or text that is not valid UTF-8: nothing is sent) or when ctx ends
// before every connection was served; BroadcastWith counts the skips and
// can report them. conns may mix server and client connections.
//
// The message is validated once, and framed once for all server
// connections without extensions (their frames are identical: servers do
// not mask), and those connections share the frame's bytes. Server
// connections whose extension encodes every message on its own
// (ws.SharedEncoder: permessage-deflate where the server compresses
// without context takeover) share one encoded frame per set of
// parameters: the message is compressed once, not once per client.
// Client connections (masked with their own keys) and connections that
// compress with context takeover (each with its own history) get a frame
// of their own. A
// connection whose socket takes the frame at once (the usual case) gets it
// written by Broadcast itself, without waking its writer goroutine.
//
// The caller may reuse data when Broadcast returns.
func Broadcast(ctx context.Context, conns []*Conn, typ ws.Opcode, data []byte) error {
	_, err := BroadcastWith(ctx, conns, typ, data, BroadcastOptions{})
	return err
}

// BroadcastWith is Broadcast with options, and the counts of what it did.
func BroadcastWith(ctx context.Context, conns []*Conn, typ ws.Opcode, data []byte, o BroadcastOptions) (BroadcastResult, error) {
	var res BroadcastResult
	if err := ws.CheckMessage(typ, data); err != nil {
		return res, err
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	var sh sharedFrames // made by the first connection that can use each
	defer sh.release()
	var errs []error
	for i, c := range conns {
		if i&63 == 63 {
			if err := ctx.Err(); err != nil {
				errs = append(errs, err)
				break
			}
		}
		err := c.broadcast(typ, data, &sh)
		switch err {
		case nil:
			res.Sent++
			continue
		case ErrNotOpen:
			res.NotOpen++
		case ErrFragmentedSend:
			res.Fragmented++
			c.logAt(slog.LevelInfo, "skipped broadcast: sending a fragmented message")
		case ErrSlowConnection:
			res.Slow++
			c.logAt(slog.LevelInfo, "skipped broadcast: slow connection")
		default:
			c.logAt(slog.LevelWarn, "skipped broadcast: failed to write message", "err", err)
		}
		if ob := c.obs; ob != nil && ob.Skipped != nil {
			ob.Skipped(c, err)
		}
		if o.Skipped != nil {
			o.Skipped(c, err)
		}
		if o.Errors {
			errs = append(errs, &SkipError{Conn: c, Err: err})
		}
	}
	return res, errors.Join(errs...)
}

// broadcast queues (and, when the socket takes it, writes) one broadcast
// message on c. sh holds the shared server frames, made on first use.
func (c *Conn) broadcast(typ ws.Opcode, data []byte, sh *sharedFrames) error {
	c.mu.Lock()
	switch {
	case c.proto.State() != ws.StateOpen || c.proto.Failure() != nil:
		c.mu.Unlock()
		return ErrNotOpen
	case c.proto.SendingMessage():
		c.mu.Unlock()
		return ErrFragmentedSend
	case c.opts.WriteLimit > 0 && c.queued > c.opts.WriteLimit:
		c.mu.Unlock()
		return ErrSlowConnection
	}
	// The message is valid (Broadcast checked it): the protocol applies
	// its state machine. A raw frame (a server's, with no extension) is
	// the same on every such connection: they share it.
	var hb [ws.MaxHeaderSize]byte
	hdr, raw, err := c.proto.AppendDataHeader(hb[:0], typ, true, data, ws.SendValidUTF8)
	if err != nil {
		c.mu.Unlock()
		return err
	}
	c.framedLocked(typ, data, true)
	var wire int
	if raw {
		if sh.plain == nil {
			sh.plain = newSharedFrame(hdr, data)
		}
		sh.plain.refs.Add(1)
		wire = len(*sh.plain.buf)
		c.pushLocked(outFrame{b: *sh.plain.buf, shr: sh.plain}, false)
	} else if key, ok := c.encodingKey(); ok {
		f := sh.find(key)
		if f == nil {
			// The first connection of its kind encodes the frame for all.
			b, err := c.frameLocked(typ, true, data, ws.SendValidUTF8)
			if err != nil {
				c.mu.Unlock()
				return err
			}
			f = sharedPool.Get().(*sharedFrame)
			f.buf = b
			f.refs.Store(1) // Broadcast's own reference
			sh.keyed = append(sh.keyed, keyedFrame{key, f})
		}
		f.refs.Add(1)
		wire = len(*f.buf)
		c.pushLocked(outFrame{b: *f.buf, shr: f}, false)
	} else {
		b, err := c.frameLocked(typ, true, data, ws.SendValidUTF8)
		if err != nil {
			c.mu.Unlock()
			return err
		}
		wire = len(*b)
		c.pushLocked(outFrame{b: *b, buf: b}, false)
	}
	c.kickLocked()
	queued := c.queued
	c.mu.Unlock()
	c.sent(typ, typ, data, true, wire, queued)
	return nil
}

// encodingKey reports whether c is a server connection whose one
// extension encodes a whole message the same way as any other connection
// with the same key (ws.SharedEncoder: permessage-deflate without context
// takeover on the server's side), and returns the key.
func (c *Conn) encodingKey() (any, bool) {
	if c.side != ws.Server || len(c.exts) != 1 {
		return nil, false
	}
	se, ok := c.exts[0].(ws.SharedEncoder)
	if !ok {
		return nil, false
	}
	return se.EncodingKey()
}

// sharedFrames are the frames one broadcast shares: the plain frame of
// server connections without extensions, and one frame per encoding key
// of connections whose extension encodes the same way (few kinds: a
// short list).
type sharedFrames struct {
	plain *sharedFrame
	keyed []keyedFrame
}

type keyedFrame struct {
	key any
	f   *sharedFrame
}

func (s *sharedFrames) find(key any) *sharedFrame {
	for _, k := range s.keyed {
		if k.key == key {
			return k.f
		}
	}
	return nil
}

// release drops Broadcast's own references.
func (s *sharedFrames) release() {
	if s.plain != nil {
		s.plain.release()
	}
	for _, k := range s.keyed {
		k.f.release()
	}
}

// sharedFrame is a broadcast frame whose bytes many connections write. It
// is immutable once made; the last connection done with it (and Broadcast
// itself) hands the buffer back to the pool.
type sharedFrame struct {
	buf  *[]byte
	refs atomic.Int32
}

var sharedPool = sync.Pool{New: func() any { return new(sharedFrame) }}

// newSharedFrame makes the frame that connections with raw frames share:
// hdr, from ws.Protocol.AppendDataHeader, and the payload.
func newSharedFrame(hdr, data []byte) *sharedFrame {
	sh := sharedPool.Get().(*sharedFrame)
	sh.buf = getBuf()
	*sh.buf = append(append(*sh.buf, hdr...), data...)
	sh.refs.Store(1) // Broadcast's own reference
	return sh
}

func (s *sharedFrame) release() {
	if s.refs.Add(-1) == 0 {
		putBuf(s.buf)
		s.buf = nil
		sharedPool.Put(s)
	}
}
