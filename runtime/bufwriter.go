package runtime

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/tetherws/tether/ws"
)

// DefaultWriterBufferSize is the buffer, and so the frame size, of a
// BufferedWriter made with size 0: io.Copy of a 10 MiB file sends 160
// frames.
const DefaultWriterBufferSize = 64 << 10

// bufferPool holds the buffers of BufferedWriters of the default size.
var bufferPool = sync.Pool{New: func() any { b := make([]byte, 0, DefaultWriterBufferSize); return &b }}

// BufferedWriter sends one message written in pieces of any size, framed
// on its buffer's boundaries rather than per Write: every frame but the
// last carries a full buffer, so a loop of small writes or an io.Copy
// from a file makes a handful of frames. A message that fits in the
// buffer goes out at Close as one unfragmented frame, like Send. With
// permessage-deflate, the frames of a message are one compressed stream.
// It is not safe for concurrent use; other sends on the connection wait
// from its first frame until Close.
type BufferedWriter struct {
	c       *Conn
	ctx     context.Context
	typ     ws.Opcode
	op      ws.Opcode // of the next frame
	flags   ws.SendFlags
	size    int
	buf     []byte
	pooled  *[]byte
	started bool  // the first frame went out: the send semaphore is held
	err     error // a frame failed: Close abandons the message
	closed  bool
}

// NewBufferedWriter starts a message of type typ (ws.OpText or
// ws.OpBinary) framed every size bytes (0: DefaultWriterBufferSize). ctx
// bounds the frames sent while writing; if it has ended by Close and no
// frame went out, nothing is sent. Text must be valid UTF-8 (a sequence
// may straddle two writes). The caller must Close the writer.
func (c *Conn) NewBufferedWriter(ctx context.Context, typ ws.Opcode, size int, o SendOptions) (*BufferedWriter, error) {
	if err := ws.CheckMessage(typ, nil); err != nil {
		return nil, err
	}
	if size < 0 {
		return nil, errors.New("tether: negative writer buffer size")
	}
	w := &BufferedWriter{c: c, ctx: ctx, typ: typ, op: typ, flags: o.flags(), size: size}
	if size == 0 {
		w.size = DefaultWriterBufferSize
		w.pooled = bufferPool.Get().(*[]byte)
		w.buf = (*w.pooled)[:0]
	} else {
		w.buf = make([]byte, 0, size)
	}
	return w, nil
}

// Write buffers p, sending a frame each time the buffer is full and more
// data follows. It fails once a frame has failed; the message can then
// only be abandoned (Close).
func (w *BufferedWriter) Write(p []byte) (int, error) {
	if err := w.usable(); err != nil {
		return 0, err
	}
	written := 0
	for len(p) > 0 {
		if len(w.buf) == w.size {
			if err := w.flush(w.buf); err != nil {
				return written, err
			}
			w.buf = w.buf[:0]
		}
		if len(w.buf) == 0 && len(p) > w.size {
			// A whole frame's worth, with more after it: send it from p.
			if err := w.flush(p[:w.size]); err != nil {
				return written, err
			}
			p = p[w.size:]
			written += w.size
			continue
		}
		n := copy(w.buf[len(w.buf):w.size], p)
		w.buf = w.buf[:len(w.buf)+n]
		p = p[n:]
		written += n
	}
	return written, nil
}

// ReadFrom reads r to its end into the buffer, sending a frame each time
// it is full and more data follows: io.Copy uses it, without a buffer of
// its own.
func (w *BufferedWriter) ReadFrom(r io.Reader) (int64, error) {
	if err := w.usable(); err != nil {
		return 0, err
	}
	var total int64
	for {
		if len(w.buf) == w.size {
			// Full: a frame, unless r is at its end (Close sends it as the
			// final one). A zero-byte probe would not tell, so read into a
			// spare byte of the next frame first.
			var one [1]byte
			n, err := io.ReadFull(r, one[:])
			if n == 0 {
				if err == io.EOF {
					return total, nil
				}
				return total, err
			}
			if err := w.flush(w.buf); err != nil {
				return total, err
			}
			w.buf = append(w.buf[:0], one[0])
			total++
		}
		n, err := r.Read(w.buf[len(w.buf):w.size])
		w.buf = w.buf[:len(w.buf)+n]
		total += int64(n)
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

func (w *BufferedWriter) usable() error {
	if w.closed {
		return errWriterClosed
	}
	return w.err
}

// flush sends p as a frame that the message continues after.
func (w *BufferedWriter) flush(p []byte) error {
	if !w.started {
		if err := w.c.acquire(w.ctx); err != nil {
			w.err = err // nothing went out, and nothing will
			return err
		}
		w.started = true
	}
	if err := w.c.queueFrame(w.ctx, w.op, false, p, w.flags); err != nil {
		w.err = err
		return err
	}
	w.op = ws.OpContinuation
	return nil
}

// Close sends what is buffered as the last frame of the message (or as
// the whole message, when no frame went out yet) and lets other sends go
// on. After a failed frame it abandons the message and returns the
// failure: when frames of it went out, the connection fails with 1011
// "error in fragmented message".
func (w *BufferedWriter) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	defer w.free()
	if !w.started {
		if w.err != nil {
			return w.err
		}
		return w.c.SendWith(w.ctx, w.typ, w.buf, SendOptions{NoCompress: w.flags&ws.SendNoCompress != 0})
	}
	defer w.c.release()
	if w.err != nil {
		return w.c.abandonMessage(w.err)
	}
	if err := w.c.queueFrame(context.WithoutCancel(w.ctx), w.op, true, w.buf, w.flags); err != nil {
		return w.c.abandonMessage(err)
	}
	return nil
}

func (w *BufferedWriter) free() {
	if w.pooled != nil {
		*w.pooled = w.buf[:0]
		bufferPool.Put(w.pooled)
		w.pooled = nil
	}
	w.buf = nil
}
