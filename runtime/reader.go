package runtime

import (
	"context"
	"time"

	"github.com/tetherws/tether/ws"
)

// reader is the receive state of the reader goroutine.
type reader struct {
	c   *Conn
	ctx context.Context
	msg *[]byte // message being assembled (whole-message mode)
	typ ws.Opcode
	in  bool // a message is in progress
}

func (r *reader) inMessage() bool { return r.in }

func (r *reader) releaseMessage() {
	if r.msg != nil {
		putBuf(r.msg)
		r.msg = nil
	}
}

// feed hands b to the protocol and dispatches every event. It returns false
// when the reader must stop (the connection is being torn down).
func (r *reader) feed(b []byte) bool {
	c := r.c
	c.mu.Lock()
	_ = c.proto.Feed(b)
	for {
		ev, err := c.proto.Next()
		if err != nil {
			c.log.Debug("! protocol error", "err", err)
			// The failure's close frame goes out; keep reading (and
			// discarding) until the peer closes or the timeout hits.
			c.failedLocked()
			c.mu.Unlock()
			r.in = false
			r.releaseMessage()
			return true
		}
		switch ev.Kind {
		case ws.EventNone:
			c.mu.Unlock()
			return true
		case ws.EventPing:
			c.takeOutputLocked(true)
			continue
		case ws.EventClose:
			c.log.Debug("< close", "code", int(ev.Close.Code), "reason", ev.Close.Reason)
			c.takeOutputLocked(false)
			c.startCloseTimerLocked()
			r.in = false
			r.releaseMessage()
			continue
		}
		c.mu.Unlock()
		switch ev.Kind {
		case ws.EventPong:
			c.receivePong(ev.Payload)
		case ws.EventData:
			if !r.data(ev) {
				return false
			}
		}
		c.mu.Lock()
	}
}

// data handles a piece of a data message.
func (r *reader) data(ev ws.Event) bool {
	c := r.c
	if c.opts.Streaming {
		b := getBuf()
		*b = append(*b, ev.Payload...)
		r.in = !ev.Fin
		return r.deliver(Message{Type: ev.Opcode, Data: *b, First: ev.First, Fin: ev.Fin, buf: b})
	}
	if ev.First {
		r.typ = ev.Opcode
		r.in = true
		if ev.Fin {
			// One piece: copy once into a pooled buffer of the right size.
			b := getBuf()
			*b = append(*b, ev.Payload...)
			r.in = false
			return r.deliver(Message{Type: ev.Opcode, Data: *b, First: true, Fin: true, buf: b})
		}
		r.msg = getBuf()
	}
	*r.msg = append(*r.msg, ev.Payload...)
	if !ev.Fin {
		return true
	}
	b := r.msg
	r.msg = nil
	r.in = false
	return r.deliver(Message{Type: r.typ, Data: *b, First: true, Fin: true, buf: b})
}

// deliver puts m on the Messages channel, waiting while it is full
// (backpressure), unless the connection is being torn down.
func (r *reader) deliver(m Message) bool {
	select {
	case r.c.msgs <- m:
		return true
	default:
	}
	select {
	case r.c.msgs <- m:
		return true
	case <-r.c.appClosed:
		m.Release() // the application is closing and not reading
		return true
	case <-r.ctx.Done():
		m.Release()
		return false
	}
}

// receivePong acknowledges the pending ping with this payload and every
// older one (spec §3).
func (c *Conn) receivePong(payload []byte) {
	now := time.Now()
	c.pingMu.Lock()
	defer c.pingMu.Unlock()
	idx := -1
	for i, p := range c.pings {
		if p.payload == string(payload) {
			idx = i
			break
		}
	}
	if idx < 0 {
		return // unsolicited or unknown pong
	}
	for i := 0; i <= idx; i++ {
		p := c.pings[i]
		l := now.Sub(p.sent)
		if i == idx {
			c.latency.Store(int64(l))
		}
		p.ch <- l
		close(p.ch)
	}
	n := copy(c.pings, c.pings[idx+1:])
	clear(c.pings[n:])
	c.pings = c.pings[:n]
}
