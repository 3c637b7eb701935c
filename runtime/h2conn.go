package runtime

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/tetherws/tether/ws"
)

// WebSockets over HTTP/2 (RFC 8441), server side. net/http's HTTP/2
// server hands an extended CONNECT request to the handler like any other
// request; Accept answers it with 200 and runs the connection on the
// stream: the request body is what the client sends, the response body
// what the server sends. The stream lives as long as the handler does, so
// the handler must not return before the connection has ended (Done).

// isH2 reports whether r came over HTTP/2 or later: its opening handshake
// is RFC 8441's (ws.ServerHandshake.AcceptH2), not an HTTP/1.1 upgrade.
func isH2(r *http.Request) bool { return r.ProtoMajor >= 2 }

// h2Forbidden are the connection-specific headers HTTP/2 forbids (RFC 9113
// §8.2.2). net/http's HTTP/2 server would send most of them as they are,
// and turns "Connection: close" into a GOAWAY for the whole connection,
// which must not happen to the other streams because one handshake failed.
var h2Forbidden = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true,
	"Transfer-Encoding": true, "Upgrade": true,
}

// copyResponseHeader copies src into dst, leaving out, for an HTTP/2
// response, the connection-specific headers.
func copyResponseHeader(dst, src http.Header, h2 bool) {
	for k, v := range src {
		if h2 && h2Forbidden[http.CanonicalHeaderKey(k)] {
			continue
		}
		dst[k] = v
	}
}

// acceptH2 sends the 200 response of an accepted RFC 8441 handshake and
// starts the connection on the stream.
func acceptH2(w http.ResponseWriter, r *http.Request, res handshakeResult, opts resolved) (*Conn, error) {
	copyResponseHeader(w.Header(), res.resp.Header, true)
	w.WriteHeader(res.resp.Status)
	rc := http.NewResponseController(w)
	if err := rc.Flush(); err != nil {
		ws.CloseExtensions(res.neg.Extensions)
		return nil, fmt.Errorf("ws: sending the HTTP/2 response: %w", err)
	}
	// http.Server's ReadTimeout and WriteTimeout are per stream in HTTP/2:
	// they would end the connection, as deadlines do a hijacked one.
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	nc := newH2ServerConn(w, r, rc)
	c := newConn(connParams{
		nc: nc, side: ws.Server, opts: opts, negotiated: res.neg,
		request: r.WithContext(context.WithoutCancel(r.Context())), username: res.username,
		response: &http.Response{
			StatusCode: res.resp.Status, Status: fmt.Sprintf("%d %s", res.resp.Status, http.StatusText(res.resp.Status)),
			Header: res.resp.Header, Proto: r.Proto, ProtoMajor: r.ProtoMajor, ProtoMinor: r.ProtoMinor,
		},
	})
	c.log.Info("connection open", "proto", r.Proto)
	return c, nil
}

// h2ServerConn is the server's end of an RFC 8441 stream as a net.Conn:
// Read reads the request body, Write writes the response body and flushes
// it (one DATA frame, or a few, per write). Close ends both directions for
// this side; the stream itself ends (END_STREAM) when the handler returns.
// It has no CloseWrite: net/http sends END_STREAM only when the handler
// returns, so the runtime's half-close after the closing handshake is a
// Close, after which the connection ends and the handler returns.
type h2ServerConn struct {
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

func newH2ServerConn(w http.ResponseWriter, r *http.Request, rc *http.ResponseController) *h2ServerConn {
	c := &h2ServerConn{
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
		c.close(fmt.Errorf("ws: HTTP/2 stream ended: %w", context.Cause(ctx)))
	})
	return c
}

// closedErr is what Read and Write return once the conn is closed.
func (c *h2ServerConn) closedErr() error {
	if c.gone != nil {
		return c.gone
	}
	return net.ErrClosed
}

func (c *h2ServerConn) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}

func (c *h2ServerConn) Read(b []byte) (int, error) {
	n, err := c.body.Read(b)
	if err != nil && c.isClosed() {
		err = c.closedErr()
	}
	return n, err
}

func (c *h2ServerConn) Write(b []byte) (n int, err error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.isClosed() {
		return 0, c.closedErr()
	}
	defer func() {
		// net/http panics on a write after the handler returned. That is
		// the application's bug (see Accept), but it must not crash the
		// writer goroutine: the connection fails instead.
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
func (c *h2ServerConn) Close() error {
	c.close(nil)
	return nil
}

// close closes the conn; gone is why the stream ended under us (the
// request context ended), nil for Close.
func (c *h2ServerConn) close(gone error) {
	c.closeOnce.Do(func() {
		c.gone = gone
		close(c.closed)
		_ = c.body.Close()
		if gone != nil {
			// Called by the AfterFunc (which may run before newH2ServerConn
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

func (c *h2ServerConn) LocalAddr() net.Addr  { return c.local }
func (c *h2ServerConn) RemoteAddr() net.Addr { return c.peer }

// SetDeadline sets the read and write deadlines of the stream through
// http.ResponseController. Note that net/http resets the stream when a
// write deadline expires.
func (c *h2ServerConn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

func (c *h2ServerConn) SetReadDeadline(t time.Time) error {
	if c.isClosed() {
		return net.ErrClosed
	}
	return c.rc.SetReadDeadline(t)
}

func (c *h2ServerConn) SetWriteDeadline(t time.Time) error {
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
