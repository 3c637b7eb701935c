package runtime

import (
	"slices"
	"time"

	"github.com/tetherws/tether/ws"
)

// reader is the receive state of the reader goroutine.
type reader struct {
	c   *Conn
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

// feed hands b to the protocol and dispatches every event.
func (r *reader) feed(b []byte) {
	c := r.c
	c.mu.Lock()
	_ = c.proto.Feed(b)
	for {
		ev, err := c.proto.Next()
		if err != nil {
			c.log.Debug("! protocol error", "err", err)
			// The failure's close frame goes out; keep reading (and
			// discarding) until the peer closes or the timeout hits.
			c.failedLocked() // kicks the close frame out
			c.mu.Unlock()
			r.in = false
			r.releaseMessage()
			return
		}
		switch ev.Kind {
		case ws.EventNone:
			c.kickLocked() // pongs, the echo of a close frame
			c.mu.Unlock()
			return
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
		c.kickLocked()
		c.mu.Unlock()
		switch ev.Kind {
		case ws.EventPong:
			c.receivePong(ev.Payload)
		case ws.EventData:
			// The message is delivered before the next event is parsed:
			// when Messages is full, the reader waits here
			// (backpressure).
			if m, ok := r.data(ev); ok {
				r.deliver(m)
			}
		}
		c.mu.Lock()
	}
}

// directMin is the smallest rest of a frame that the reader reads from the
// socket straight into the message buffer (see direct); directMax bounds
// one such read, so that the buffer grows with the bytes that come, not
// with the length a frame header announces (with MaxMessageSize off, a
// header alone must not make the reader allocate gigabytes).
const (
	directMin = 8 << 10
	directMax = 1 << 20
)

// direct returns where the next bytes from the socket should go when they
// are the rest of a large uncompressed frame of the message being
// assembled: the tail of the message buffer, as long as the frame's rest
// (at most directMax).
// Reading there (and FeedPayload checking the bytes in place) spares
// copying them from a read buffer. It returns nil otherwise: no message
// being assembled (whole messages only, not streaming), input still to
// parse, a control frame, a frame an extension decodes, or a short rest.
func (r *reader) direct() []byte {
	if r.msg == nil {
		return nil
	}
	c := r.c
	c.mu.Lock()
	rem := c.proto.PayloadRemaining()
	c.mu.Unlock()
	if rem < directMin {
		return nil
	}
	n := int(min(rem, directMax))
	*r.msg = slices.Grow(*r.msg, n)
	b := *r.msg
	return b[len(b) : len(b)+n]
}

// readDirect reads the rest of a large frame with read straight into the
// message buffer, when direct says so; it reports whether it did, and the
// read's error.
func (r *reader) readDirect(read func([]byte) (int, error)) (bool, error) {
	dst := r.direct()
	if dst == nil {
		return false, nil
	}
	n, err := read(dst)
	if n > 0 {
		r.feedDirect(dst[:n])
	}
	return true, err
}

// feedDirect hands the protocol p, bytes of the frame's rest read into
// the slice direct returned, and completes the message when they end it.
func (r *reader) feedDirect(p []byte) {
	c := r.c
	c.mu.Lock()
	ev, err := c.proto.FeedPayload(p)
	if err != nil {
		c.log.Debug("! protocol error", "err", err)
		c.failedLocked()
		c.mu.Unlock()
		r.in = false
		r.releaseMessage()
		return
	}
	c.mu.Unlock()
	if ev.Kind != ws.EventData {
		return // the connection failed meanwhile: the bytes are dropped
	}
	*r.msg = (*r.msg)[:len(*r.msg)+len(p)] // the payload is in place
	if !ev.Fin {
		return
	}
	b := r.msg
	r.msg = nil
	r.in = false
	r.deliver(Message{Type: r.typ, Data: *b, First: true, Fin: true, valid: true, buf: b})
}

// data handles a piece of a data message: it copies it (Payload is valid
// only until the next Next) and returns the message to deliver, if one is
// complete (or, in streaming mode, the piece).
func (r *reader) data(ev ws.Event) (Message, bool) {
	if r.c.opts.Streaming {
		b := getBuf()
		*b = append(*b, ev.Payload...)
		r.in = !ev.Fin
		whole := ev.First && ev.Fin
		return Message{Type: ev.Opcode, Data: *b, First: ev.First, Fin: ev.Fin, valid: whole, buf: b}, true
	}
	if ev.First {
		r.typ = ev.Opcode
		r.in = true
		if ev.Fin {
			// One piece: copy once into a pooled buffer of the right size.
			b := getBuf()
			*b = append(*b, ev.Payload...)
			r.in = false
			return Message{Type: ev.Opcode, Data: *b, First: true, Fin: true, valid: true, buf: b}, true
		}
		r.msg = getBuf()
	}
	*r.msg = append(*r.msg, ev.Payload...)
	if !ev.Fin {
		return Message{}, false
	}
	b := r.msg
	r.msg = nil
	r.in = false
	return Message{Type: r.typ, Data: *b, First: true, Fin: true, valid: true, buf: b}, true
}

// deliver puts m on the Messages channel, waiting while it is full
// (backpressure), unless the connection is being torn down.
func (r *reader) deliver(m Message) {
	select {
	case r.c.msgs <- m:
		return
	default:
	}
	select {
	case r.c.msgs <- m:
	case <-r.c.appClosed:
		// The application is closing and not reading, or the
		// connection was aborted (then the next read fails).
		m.Release()
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
		if p.fn != nil {
			p.fn(l) // a keepalive ping: wakes the keepalive goroutine
			continue
		}
		p.ch <- l
		close(p.ch)
	}
	n := copy(c.pings, c.pings[idx+1:])
	clear(c.pings[n:])
	c.pings = c.pings[:n]
}
