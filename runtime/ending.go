package runtime

import (
	"log/slog"
	"time"

	"github.com/tetherws/tether/ws"
)

// The end of the input, the peer's way: its close frame, or a violation of
// the protocol. ws.Protocol stops processing input there and defers the
// close frame it owes the peer (ws.Config.DeferClose) — the echo of the
// peer's close, or the failure's — so that the messages received before
// are answered first, in order:
//
//   - Messages is closed at once, after the last message received; Err
//     reports how the connection is ending from then on.
//   - Sends go on, and the close frame follows what they queue. It goes
//     out when the application calls Close (whatever the code: the pending
//     frame is sent instead) or CloseNow, a Server handler returns, or
//     Err or CloseStatus is called once Messages is drained; or once the
//     application has left Messages empty for endQuiet (it has taken
//     every message and had that long to answer the last one: a handler
//     that keeps sending on its own does not hold the close up); at the
//     latest CloseTimeout (DefaultCloseTimeout when that is off) after
//     the end of the input.
//
// An application that ranges over Messages and answers each message thus
// answers all of them before the peer hears of the end, and one that does
// not read ends within CloseTimeout.

// endQuiet is how long Messages must stay drained before the pending
// close frame goes out on its own.
const endQuiet = 50 * time.Millisecond

// violation handles a protocol violation by the peer, found by ws.Protocol
// (err). c.mu is held, and released.
func (r *reader) violation(err error) {
	c := r.c
	if c.debugOn() {
		c.logAt(slog.LevelDebug, "! protocol error", "err", err)
	}
	r.in = false
	r.releaseMessage()
	if c.proto.PendingClose() == nil {
		// Not deferred: the close frame goes out now, after dropping
		// what is queued.
		c.failedLocked()
		c.mu.Unlock()
		return
	}
	r.deferClose()
	c.mu.Unlock()
}

// deferClose starts the wait for the pending close frame (see above) and
// closes Messages. c.mu is held.
func (r *reader) deferClose() {
	c := r.c
	ending := &ws.CloseError{Rcvd: c.proto.CloseRcvd(), Sent: c.proto.PendingClose(), Cause: c.proto.Failure()}
	ending.RcvdThenSent = ending.Rcvd != nil
	c.ending.Store(ending)
	wait := c.opts.CloseTimeout
	if wait <= 0 {
		wait = DefaultCloseTimeout // never unbounded
	}
	c.endBy = time.Now().Add(wait)
	c.endDrained = len(c.msgs) == 0
	c.endTimer = time.AfterFunc(endQuiet, c.checkEnd)
	c.msgsClosed = true
	close(c.msgs)
}

// checkEnd sends the pending close frame once Messages has stayed drained
// from one look to the next (endQuiet), or the deadline has passed; else
// it looks again endQuiet later.
func (c *Conn) checkEnd() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proto.PendingClose() == nil {
		return
	}
	drained := len(c.msgs) == 0
	if !(drained && c.endDrained) && time.Now().Before(c.endBy) {
		c.endDrained = drained
		c.endTimer.Reset(endQuiet)
		return
	}
	c.sendPendingCloseLocked()
}

// sendPendingClose sends the pending close frame after what is queued,
// if it has not gone out yet.
func (c *Conn) sendPendingClose() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sendPendingCloseLocked()
}

func (c *Conn) sendPendingCloseLocked() {
	if !c.proto.SendPendingClose() {
		return
	}
	c.takeOutputLocked()
	c.startCloseTimerLocked()
	c.kickLocked()
}
