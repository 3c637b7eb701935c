package runtime

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/tetherws/tether/ws"
)

// ErrCloseTimeout is the cause recorded when the closing handshake did not
// finish within Options.CloseTimeout and the socket was aborted.
var ErrCloseTimeout = errors.New("tether: timed out while closing connection")

// ErrUndelivered is matched by Conn.Err when messages received from the
// peer were dropped because the application had closed the connection or
// it was aborted while Messages was full. The messages delivered are the
// first ones the peer sent; the dropped ones are all those after them.
var ErrUndelivered = errors.New("tether: received messages were not delivered")

// undeliveredError is Err's error when messages were dropped: it matches
// ErrUndelivered and the connection's *ws.CloseError.
type undeliveredError struct {
	n     int
	close *ws.CloseError
}

func (e *undeliveredError) Error() string {
	return fmt.Sprintf("%s; %d received messages not delivered", e.close.Error(), e.n)
}

func (e *undeliveredError) Unwrap() []error { return []error{ErrUndelivered, e.close} }

// ErrClosing is returned by Send and Ping once the closing handshake has
// started. It matches ws.ErrClosed.
var ErrClosing = &closingError{}

type closingError struct{}

func (*closingError) Error() string        { return "tether: connection is closing" }
func (*closingError) Is(target error) bool { return target == ws.ErrClosed }

// abort closes the socket at once (the first cause wins) so that every
// goroutine blocked on it returns.
func (c *Conn) abort(cause error) {
	c.mu.Lock()
	if cause != nil && c.cause == nil {
		c.cause = cause
	}
	c.mu.Unlock()
	if cause != nil {
		if tc, ok := c.nc.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
	}
	// A reader waiting on a full Messages channel must see the socket
	// error too (CloseNow, close or keepalive timeout of an application
	// that does not read).
	c.appClosedOnce.Do(func() { close(c.appClosed) })
	_ = c.nc.Close()
}

// finish runs once all goroutines are done: it records the outcome, closes
// Messages and Done, and releases resources.
func (c *Conn) finish(readErr error) {
	c.mu.Lock()
	if c.closeTimer != nil {
		c.closeTimer.Stop()
	}
	if c.endTimer != nil {
		c.endTimer.Stop()
	}
	if !c.proto.EOFReceived() {
		c.proto.FeedEOF() // the reader stopped early: the state is CLOSED
	}
	// The cause is the abort's, else the protocol failure's (a bad frame
	// from the peer, a keepalive timeout...), else the network error.
	cause := c.cause
	if cause == nil {
		cause = c.proto.Failure()
	}
	// EOF after a close frame was received is the expected end, not a cause.
	expectedEOF := errors.Is(readErr, io.EOF) && c.proto.CloseRcvd() != nil
	if cause == nil && readErr != nil && !errors.Is(readErr, net.ErrClosed) && !expectedEOF {
		cause = readErr
	}
	c.cause = cause // CloseStatus and later calls report the same
	ce := c.proto.CloseError(cause)
	for _, f := range c.ctrlQ {
		f.release()
	}
	for _, f := range c.dataQ {
		f.release()
	}
	c.ctrlQ, c.dataQ, c.queued = nil, nil, 0
	if c.spaceCh != nil {
		close(c.spaceCh)
		c.spaceCh = nil
	}
	c.mu.Unlock()
	ws.CloseExtensions(c.exts)

	switch {
	case c.undelivered > 0 && !c.appClosing.Load():
		c.err = &undeliveredError{n: c.undelivered, close: ce}
	case ce.OK():
		c.err = nil
	default:
		c.err = ce
	}
	if c.debugOn() {
		c.mu.Lock()
		c.logStateLocked()
		c.mu.Unlock()
		c.logAt(slog.LevelDebug, "= connection closed", "close", ce.Error())
	}
	// finished is set before either channel closes, so that whoever sees
	// Messages closed finds Err set; msgs closes before done, so that
	// Messages is closed when Close (which waits for Done) returns.
	c.finished.Store(true)
	if o := c.obs; o != nil && o.Closed != nil {
		o.Closed(c, CloseEvent{Status: ce, Initiator: initiator(ce), Duration: time.Since(c.opened), Side: c.side})
	}
	if !c.msgsClosed {
		close(c.msgs)
	}
	close(c.done)

	// Pending pings fail with the close error.
	c.pingMu.Lock()
	for _, p := range c.pings {
		if p.ch != nil {
			close(p.ch)
		}
	}
	c.pings = nil
	c.pingMu.Unlock()
}

// closeErr is what Send returns once the connection is closing or closed.
func (c *Conn) closeErr() error {
	select {
	case <-c.done:
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.proto.CloseError(c.cause)
	default:
		return ErrClosing
	}
}

// closingErrLocked is closeErr with c.mu held.
func (c *Conn) closingErrLocked() error {
	select {
	case <-c.done:
		return c.proto.CloseError(c.cause)
	default:
		return ErrClosing
	}
}

// startCloseTimerLocked starts the close timeout once the closing handshake
// has begun. c.mu is held.
func (c *Conn) startCloseTimerLocked() {
	if c.closeTimer != nil || c.opts.CloseTimeout <= 0 {
		return
	}
	c.closeTimer = time.AfterFunc(c.opts.CloseTimeout, func() {
		c.logAt(slog.LevelDebug, "- timed out waiting for TCP close")
		c.abort(ErrCloseTimeout)
	})
}

// fail fails the connection from the runtime: queued data is dropped, a
// close frame with code and reason is sent, and the close timeout starts.
func (c *Conn) fail(code ws.CloseCode, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failLocked(code, reason)
}

func (c *Conn) failLocked(code ws.CloseCode, reason string) {
	c.proto.Fail(code, reason)
	c.failedLocked()
}

// failedLocked follows a failure of the protocol: queued data is dropped,
// the close frame of the failure goes out and the close timeout starts.
func (c *Conn) failedLocked() {
	for i, f := range c.dataQ {
		c.queued -= len(f.b)
		f.release()
		c.dataQ[i] = outFrame{}
	}
	c.dataQ = c.dataQ[:0]
	c.takeOutputLocked()
	c.startCloseTimerLocked()
	c.kickLocked()
}

// Close starts the closing handshake with code and reason, waits until the
// connection has ended (at most about Options.CloseTimeout) and returns
// nil. It returns an error, and sends nothing, for a code or reason that
// cannot be sent (see ws.CloseFrame.Check). Closing a closed connection
// does nothing. Queued messages are sent before the close frame. Messages
// already received stay readable on Messages; messages that arrive after
// Close and do not fit in its buffer are dropped.
func (c *Conn) Close(code ws.CloseCode, reason string) error {
	if err := (ws.CloseFrame{Code: code, Reason: reason}).Check(); err != nil {
		return err
	}
	c.appClosing.Store(true)
	c.appClosedOnce.Do(func() { close(c.appClosed) })
	c.mu.Lock()
	if c.proto.State() == ws.StateOpen {
		if c.proto.AbandonMessage(reasonCloseDuringFragment) {
			c.failedLocked()
		} else {
			b := getBuf()
			var err error
			*b, err = c.proto.AppendClose(*b, code, reason)
			if err != nil {
				putBuf(b)
				c.mu.Unlock()
				return err
			}
			c.pushLocked(outFrame{b: *b, buf: b}, false)
			if cs := c.proto.CloseSent(); cs != nil && c.debugOn() {
				c.logCloseLocked('>', *cs)
			}
			c.startCloseTimerLocked()
			c.kickLocked()
		}
	}
	c.mu.Unlock()
	<-c.done
	return nil
}

// CloseNow aborts the connection without a closing handshake and waits for
// its goroutines to return. When the peer has closed or violated the
// protocol and is still owed its close frame (Messages is closed), it
// first sends that frame and gives the peer up to a second (or
// CloseTimeout, if shorter) to end the connection.
func (c *Conn) CloseNow() {
	c.appClosing.Store(true)
	if c.ending.Load() != nil {
		// The peer closed or violated the protocol and has not been
		// answered yet: answer, briefly, before dropping the
		// connection.
		c.sendPendingClose()
		d := time.Second
		if to := c.opts.CloseTimeout; to > 0 && to < d {
			d = to
		}
		t := time.NewTimer(d)
		select {
		case <-c.done:
		case <-t.C:
		}
		t.Stop()
	}
	c.abort(errors.New("tether: connection aborted"))
	<-c.done
}
