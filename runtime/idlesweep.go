package runtime

import (
	"errors"
	"os"
	"sync"
	"time"
)

// Idle readers move to a fresh stack.
//
// A goroutine starts with a 2 KiB stack and doubles it when a call
// chain needs more; the reader's does as soon as it parses a frame
// (the parse, the delivery and an inline write go deeper than 2 KiB).
// The garbage collector halves a stack only when the goroutine uses less
// than a quarter of it, counting the 800 bytes kept for nosplit
// functions: a goroutine parked on a 4 KiB stack must sit less than 224
// bytes below its top, which no wait in the poller or on a channel does.
// So a reader that has parsed one message would keep 4 KiB for the rest
// of an idle connection.
//
// The idle sweeper lists the readers that have read since they started
// and looks at them every idleSweepEvery: one that read nothing since the
// last look is woken (a read deadline in the past) and moves: it starts a
// goroutine that reads on, on a 2 KiB stack, and returns, giving its
// stack back. The connection keeps exactly one reader goroutine, and a
// connection that stays busy is never moved; the cost is a look per busy
// connection per period, and a goroutine start per connection that goes
// idle.

// idleSweepEvery is the period of the idle sweeper: a reader moves after
// between one and two periods without input.
const idleSweepEvery = 250 * time.Millisecond

// errMove is what readRaw returns when the reader is to move.
var errMove = errors.New("tether: the reader moves to a fresh goroutine")

// aLongTimeAgo is a read deadline in the past: it wakes the reader.
var aLongTimeAgo = time.Unix(1, 0)

// idleSweeper holds the readers to look at. Its timer runs only while it
// holds any.
type idleSweeper struct {
	mu    sync.Mutex
	conns []*Conn
	timer *time.Timer
	armed bool
}

var sweeper idleSweeper

// listIdle lists c with the sweeper, once per reader goroutine, after the
// reader read something.
func (c *Conn) listIdle(r *reader) {
	if r.listed {
		return
	}
	r.listed = true
	sweeper.add(c)
}

func (s *idleSweeper) add(c *Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.sweepSeen = c.bytesIn.Load()
	s.conns = append(s.conns, c)
	if s.armed {
		return
	}
	s.armed = true
	if s.timer == nil {
		s.timer = time.AfterFunc(idleSweepEvery, s.sweep)
		return
	}
	s.timer.Reset(idleSweepEvery)
}

// sweep wakes the listed readers that read nothing since the last look,
// and drops them from the list (each lists itself again after its next
// read).
func (s *idleSweeper) sweep() {
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := s.conns[:0]
	for _, c := range s.conns {
		if n := c.bytesIn.Load(); n != c.sweepSeen {
			c.sweepSeen = n
			kept = append(kept, c)
			continue
		}
		c.wakeToMove()
	}
	clear(s.conns[len(kept):])
	s.conns = kept
	if len(kept) == 0 {
		s.conns = nil
		s.armed = false
		return
	}
	s.timer.Reset(idleSweepEvery)
}

// wakeToMove wakes the reader with a read deadline in the past, unless
// the connection has ended.
func (c *Conn) wakeToMove() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended || c.moving {
		return
	}
	c.moving = true
	_ = c.nc.SetReadDeadline(aLongTimeAgo)
}

// readRawErr returns what readRaw returns for err, a read's error:
// errMove when the sweeper's deadline woke the reader (the deadline is
// cleared), else the end of the input.
func (c *Conn) readRawErr(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		c.mu.Lock()
		moving := c.moving
		if moving {
			c.moving = false
			_ = c.nc.SetReadDeadline(time.Time{})
		}
		c.mu.Unlock()
		if moving {
			return errMove
		}
	}
	return c.readEOF(err)
}
