package runtime

import (
	"encoding/binary"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/tetherws/tether/keepalive"
	"github.com/tetherws/tether/runtime/internal/rawio"
	"github.com/tetherws/tether/ws"
)

// newKeepalive returns the keepalive loop of the connection's policy
// (Options.PingInterval, PingTimeout, Heartbeat), or nil when keepalive
// is off.
func (c *Conn) newKeepalive() *keepalive.Loop {
	pol := keepalive.Policy{Interval: c.opts.PingInterval, Timeout: c.opts.PingTimeout, Pong: c.opts.Heartbeat}
	if pol.Interval <= 0 {
		return nil
	}
	return keepalive.NewLoop(pol, (*connPinger)(c), c.opts.KeepaliveClock, nil)
}

// keepaliveLoop is the keepalive goroutine: it runs the keepalive loop
// until the reader stops it at the end of the connection. A missing pong
// from a peer that sent nothing else since the ping (connPinger.Activity)
// fails the connection with 1011 "keepalive ping timeout" (a closing
// handshake, bounded by CloseTimeout); a ping that cannot be sent because
// the connection is closing ends the loop quietly. With keepalive off the
// goroutine returns at once.
//
// While it waits, the loop is parked on one channel receive, so the
// goroutine keeps Go's smallest stack (2 KiB), as long as the frames
// above the loop stay small (keepaliveEnded holds the rest): arming a
// timer may take the allocator's slow path, a deep one.
func (c *Conn) keepaliveLoop() error {
	if c.ka == nil {
		return nil
	}
	return c.keepaliveEnded(c.ka.Run())
}

// keepaliveEnded handles the end of the keepalive loop with err, and
// returns the goroutine's error.
func (c *Conn) keepaliveEnded(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, keepalive.ErrTimeout):
		c.logAt(slog.LevelWarn, "keepalive ping timeout: failing the connection", "timeout", c.opts.PingTimeout)
		c.fail(ws.CloseInternalError, "keepalive ping timeout")
		return nil
	case errors.Is(err, ws.ErrClosed):
		return nil // the connection is closing: nothing to keep alive
	default:
		c.logAt(slog.LevelError, "keepalive ping failed", "err", err)
		c.cancel(err)
		return err
	}
}

// connPinger is the keepalive.Pinger of a Conn.
type connPinger Conn

// SendPing sends a keepalive ping with a fresh random payload; the reader
// calls pong when its pong (or a later one) arrives. Its latency
// is recorded (Latency) like that of any ping.
//
// The ping is framed and written (inline, when the socket takes it) by a
// goroutine that lives for that call alone: the write's call chain would
// double the keepalive goroutine's 2 KiB stack for good (Go does not
// shrink the stack of a goroutine parked as this one is), where the
// short-lived goroutine gives its stack back. One goroutine start per
// ping interval is the price.
func (p *connPinger) SendPing(pong func(time.Duration)) error {
	errc := make(chan error, 1)
	go (*Conn)(p).sendKeepalivePing(pong, errc)
	return <-errc
}

// sendKeepalivePing sends a keepalive ping and reports the error on errc.
func (c *Conn) sendKeepalivePing(pong func(time.Duration), errc chan<- error) {
	_, err := c.sendPing(nil, nil, pong)
	errc <- err
}

// Activity reports the bytes read from the peer and whether the reader is
// behind: waiting for the application to take a message, or not yet run
// while bytes wait in the kernel (keepalive.Activity). A peer whose frames
// keep arriving, or whose pong may sit unread behind other data, is not
// failed for a late pong.
func (p *connPinger) Activity() (received uint64, held bool) {
	c := (*Conn)(p)
	// Bytes waiting in the kernel unread mean the reader is behind too:
	// a starved scheduler may not have polled the socket yet.
	return c.bytesIn.Load(), c.held.Load() || rawio.Unread(c.nc) > 0
}

// Received reports the bytes read from the peer (keepalive.Counter): the
// keepalive takes it with every ping, without Activity's system call.
func (p *connPinger) Received() uint64 { return (*Conn)(p).bytesIn.Load() }

// SendPong sends an unsolicited pong (Options.Heartbeat).
func (p *connPinger) SendPong() error { return (*Conn)(p).Pong(nil) }

// pingPayloadLocked picks 4 random bytes not used by a pending ping. They
// only tell pongs apart, so they come from math/rand: crypto/rand's call
// chain alone would outgrow the 2 KiB stack of the keepalive goroutine,
// which sends the ping.
func (c *Conn) pingPayloadLocked() [4]byte {
	for {
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], rand.Uint32())
		if !c.pendingLocked(string(b[:])) {
			return b
		}
	}
}
