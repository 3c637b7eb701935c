package h2stream

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// ServerConn is the server's end of an RFC 8441 stream, an extended
// CONNECT request served by net/http's HTTP/2 server, as a net.Conn:
// Read reads the request body, Write writes the response body and flushes
// it (one DATA frame, or a few, per write). Close ends both directions for
// this side; the stream itself ends (END_STREAM) when the handler returns.
// It has no CloseWrite: net/http sends END_STREAM only when the handler
// returns, so the runtime's half-close after the closing handshake is a
// Close, after which the connection ends and the handler returns.
type ServerConn struct {
	w     http.ResponseWriter
	rc    *http.ResponseController
	body  io.ReadCloser
	local net.Addr
	peer  net.Addr

	wmu       sync.Mutex // held by Write; Close tries it to see whether a write is blocked
	closed    chan struct{}
	closeOnce sync.Once
	gone      error // why the stream ended under us; nil after Close
	stopCtx   func() bool
}

// NewServerConn returns the stream of the extended CONNECT request r as a
// net.Conn, once its 200 response has been sent through w. rc is w's
// http.ResponseController. The conn closes itself when r's context ends.
func NewServerConn(w http.ResponseWriter, r *http.Request, rc *http.ResponseController) *ServerConn {
	c := &ServerConn{
		w: w, rc: rc, body: r.Body,
		peer:   stringAddr(r.RemoteAddr),
		closed: make(chan struct{}),
	}
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		c.local = a
	} else {
		c.local = stringAddr("")
	}
	// The request context ends with the stream: the client reset it, the
	// HTTP/2 connection went away, or the handler returned (a misuse: the
	// stream is gone). Nothing may touch w after that.
	ctx := r.Context()
	c.stopCtx = context.AfterFunc(ctx, func() {
		c.close(fmt.Errorf("tether: HTTP/2 stream ended: %w", context.Cause(ctx)))
	})
	return c
}

// closedErr is what Read and Write return once the conn is closed.
func (c *ServerConn) closedErr() error {
	if c.gone != nil {
		return c.gone
	}
	return net.ErrClosed
}

func (c *ServerConn) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}

// Read reads what the client sent: the request body.
func (c *ServerConn) Read(b []byte) (int, error) {
	n, err := c.body.Read(b)
	if err != nil && c.isClosed() {
		err = c.closedErr()
	}
	return n, err
}

// Write writes b to the response body and flushes it.
func (c *ServerConn) Write(b []byte) (n int, err error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.isClosed() {
		return 0, c.closedErr()
	}
	defer func() {
		// net/http panics on a write after the handler returned. That is
		// the application's bug (runtime.Accept says why), but it must not
		// crash the writer goroutine: the connection fails instead.
		if recover() != nil {
			n, err = 0, net.ErrClosed
		}
	}()
	n, err = c.w.Write(b)
	if err == nil {
		err = c.rc.Flush()
	}
	return n, err
}

// Close stops reading (a blocked Read returns net.ErrClosed) and writing.
// A Write blocked by HTTP/2 flow control (the client does not read) is
// unblocked by resetting the stream.
func (c *ServerConn) Close() error {
	c.close(nil)
	return nil
}

// close closes the conn; gone is why the stream ended under us (the
// request context ended), nil for Close.
func (c *ServerConn) close(gone error) {
	c.closeOnce.Do(func() {
		c.gone = gone
		close(c.closed)
		_ = c.body.Close()
		if gone != nil {
			// Called by the AfterFunc (which may run before NewServerConn
			// stored stopCtx): the stream is gone, and with it any
			// blocked write.
			return
		}
		c.stopCtx()
		if c.wmu.TryLock() {
			c.wmu.Unlock()
			return
		}
		// A deadline in the past makes net/http reset the stream
		// (RST_STREAM INTERNAL_ERROR) and fail the pending write.
		func() {
			defer func() { _ = recover() }()
			_ = c.rc.SetWriteDeadline(time.Unix(1, 0))
		}()
	})
}

// LocalAddr returns the server's address, if net/http knows it.
func (c *ServerConn) LocalAddr() net.Addr { return c.local }

// RemoteAddr returns the client's address, http.Request.RemoteAddr.
func (c *ServerConn) RemoteAddr() net.Addr { return c.peer }

// SetDeadline sets the read and write deadlines of the stream through
// http.ResponseController. Note that net/http resets the stream when a
// write deadline expires.
func (c *ServerConn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

// SetReadDeadline sets the read deadline of the stream.
func (c *ServerConn) SetReadDeadline(t time.Time) error {
	if c.isClosed() {
		return net.ErrClosed
	}
	return c.rc.SetReadDeadline(t)
}

// SetWriteDeadline sets the write deadline of the stream; net/http
// resets the stream when it expires.
func (c *ServerConn) SetWriteDeadline(t time.Time) error {
	if c.isClosed() {
		return net.ErrClosed
	}
	return c.rc.SetWriteDeadline(t)
}

// stringAddr is a net.Addr known only by its string, like
// http.Request.RemoteAddr.
type stringAddr string

func (a stringAddr) Network() string { return "tcp" }
func (a stringAddr) String() string  { return string(a) }
