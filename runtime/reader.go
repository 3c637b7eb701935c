package runtime

import (
	"slices"
	"time"

	"github.com/tetherws/tether/runtime/internal/rawio"
	"github.com/tetherws/tether/ws"
)

// readLoop is the read loop of connections without non-blocking I/O
// (TLS, HTTP/2 streams, test transports): it reads and parses until EOF
// or an error.
func (c *Conn) readLoop(r *reader) error {
	small := make([]byte, 512)
	var big *[]byte
	defer func() {
		if big != nil {
			rawio.PutReadBuf(big)
		}
	}()
	for {
		if ok, err := r.readDirect(c.nc.Read); ok {
			if err != nil {
				return c.readEOF(err)
			}
			continue
		}
		// Idle connections read into a small buffer; a read that fills
		// it borrows a large one until the traffic stops.
		buf := small
		if big != nil {
			buf = *big
		}
		n, err := c.nc.Read(buf)
		if n > 0 {
			c.readBytes(n)
			r.feed(buf[:n])
			if n == len(buf) && big == nil {
				big = rawio.GetReadBuf()
			} else if n < len(buf) && big != nil && !r.inMessage() {
				rawio.PutReadBuf(big)
				big = nil
			}
			if n < len(buf) {
				r.idle()
			}
		}
		if err != nil {
			return c.readEOF(err)
		}
	}
}

// readOn is the reader goroutine of a TCP or Unix socket: it reads until
// the input ends, then ends the connection, unless the idle sweeper asks
// it to move first: it then starts a goroutine that reads on, on a fresh
// 2 KiB stack, and returns.
func (c *Conn) readOn(r *reader) {
	if err := c.readRaw(r); err != errMove {
		c.rio.Close()
		c.endRead(r, err)
		return
	}
	c.moves.Add(1)
	go c.readOn(r)
}

// readRaw is the read loop of TCP and Unix sockets. It waits for the
// socket to be readable without holding a buffer (rawio.IO.Read borrows a
// pooled one only for the read system call that has data), feeds what it
// read to the protocol and dispatches the events, then hands the buffer
// back: once Next has returned EventNone nothing aliases the fed bytes
// (ws.Protocol copies a partial header or control frame into its own
// carry buffer, and the reader copies data into message buffers). So an
// idle connection holds no read buffer at all, and busy connections share
// a few of rawio.ReadBufSize, large enough that a 16 KiB message is read in one
// system call. The rest of a large frame is read straight into the
// message buffer (reader.direct). It returns errMove when the idle
// sweeper woke it to move to a fresh goroutine.
func (c *Conn) readRaw(r *reader) error {
	r.listed = false
	for {
		if ok, err := r.readDirect(c.rio.ReadInto); ok {
			if err != nil {
				return c.readRawErr(err)
			}
			c.listIdle(r)
			continue
		}
		buf, n, err := c.rio.Read()
		if buf != nil {
			c.readBytes(n)
			r.feed((*buf)[:n])
			if n < len(*buf) {
				r.idle() // the socket is drained, for now
			}
			c.rio.Done(buf)
			c.listIdle(r)
		}
		if err != nil {
			return c.readRawErr(err)
		}
	}
}

// readEOF records the end of the input.
func (c *Conn) readEOF(err error) error {
	c.mu.Lock()
	c.proto.FeedEOF()
	c.mu.Unlock()
	return err
}

// reader is the receive state of the reader goroutine.
type reader struct {
	c      *Conn
	listed bool   // read since it last moved: listed with the idle sweeper
	msg    *block // message being assembled (whole-message mode)
	open   *block // the shared block small messages are carved from
	// part is a small message being assembled in place in a shared
	// block (partBlk): its size was known from its first piece.
	part    []byte
	partBlk *block
	typ     ws.Opcode
	in      bool // a message is in progress

	s         *msgStream // the message handed to a MessageReader
	lastClaim *nextReq   // the last NextReader call it handed a message to
}

func (r *reader) inMessage() bool { return r.in }

func (r *reader) releaseMessage() {
	r.cutStream()
	if r.msg != nil {
		r.msg.release()
		r.msg = nil
	}
	if r.partBlk != nil {
		r.partBlk.release()
		r.part, r.partBlk = nil, nil
	}
	r.idle()
}

// feed hands b to the protocol and dispatches every event.
func (r *reader) feed(b []byte) {
	c := r.c
	c.mu.Lock()
	_ = c.proto.Feed(b)
	for {
		ev, err := c.proto.Next()
		if err != nil {
			r.violation(err) // unlocks c.mu
			return
		}
		switch ev.Kind {
		case ws.EventNone:
			c.kickLocked() // pongs, the echo of a close frame
			c.mu.Unlock()
			return
		case ws.EventPing:
			if c.debugOn() {
				c.logPingLocked(ev.Payload)
			}
			c.queuePongLocked()
			continue
		case ws.EventClose:
			if c.debugOn() {
				c.logCloseLocked('<', ev.Close)
			}
			r.in = false
			r.releaseMessage()
			if c.proto.PendingClose() != nil {
				r.deferClose()
				continue
			}
			c.takeOutputLocked()
			c.startCloseTimerLocked()
			continue
		}
		var rest int64
		if ev.Kind == ws.EventData && ev.First && !ev.Fin {
			rest = c.proto.MessageRemaining()
		}
		c.kickLocked()
		c.mu.Unlock()
		if c.debugOn() {
			c.logEvent(ev)
		}
		switch ev.Kind {
		case ws.EventPong:
			c.receivePong(ev.Payload)
		case ws.EventData:
			if c.readClosed.Load() {
				r.discard() // CloseRead: nothing is copied or kept
				break
			}
			// The message is delivered before the next event is parsed:
			// when Messages is full, the reader waits here
			// (backpressure).
			if r.stream(ev) {
				break // handed to a MessageReader
			}
			if m, ok := r.data(ev, rest); ok {
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

// eagerMin is how much of a message announced by its frame header the
// reader allocates before the bytes come on a connection that has
// received less than that so far (see eagerSize).
const eagerMin = 64 << 10

// eagerSize is how many bytes of a message or frame rest of n announced
// bytes the reader allocates at once, on a connection that has received
// received bytes: all of it (at most directMax) once the connection has
// received as much, else at most max(eagerMin, received). So a buffer
// grows with the bytes a peer sends, not with what its header claims: a
// header alone never makes the reader hold more than eagerMin, and a
// connection's buffer is at most about twice what it received. A busy
// connection allocates each message in one piece.
func eagerSize(n int64, received uint64) int {
	limit := int64(min(max(received, eagerMin), directMax))
	return int(max(min(n, limit), 0))
}

// direct returns where the next bytes from the socket should go when they
// are the rest of a large uncompressed frame of the message being
// assembled: the tail of the message buffer, as long as the frame's rest
// (at most eagerSize of it).
// Reading there (and FeedPayload checking the bytes in place) spares
// copying them from a read buffer. It returns nil otherwise: no message
// being assembled (whole messages only, not streaming), input still to
// parse, a control frame, a frame an extension decodes, or a short rest.
func (r *reader) direct() []byte {
	if r.msg == nil || r.c.want.Load() != nil { // a NextReader call may claim it
		return nil
	}
	if r.c.readClosed.Load() {
		r.discard() // CloseRead: the rest goes through feed, dropped
		return nil
	}
	c := r.c
	c.mu.Lock()
	rem := c.proto.PayloadRemaining()
	c.mu.Unlock()
	if rem < directMin {
		return nil
	}
	n := eagerSize(rem, c.bytesIn.Load())
	if spare := cap(r.msg.b) - len(r.msg.b); spare >= directMin {
		n = min(n, spare) // fill the buffer before growing it
	}
	r.msg.b = slices.Grow(r.msg.b, n)
	b := r.msg.b
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
		r.c.readBytes(n)
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
		r.violation(err) // unlocks c.mu
		return
	}
	c.mu.Unlock()
	if ev.Kind != ws.EventData {
		return // the connection failed meanwhile: the bytes are dropped
	}
	if c.debugOn() {
		c.logEvent(ev)
	}
	r.msg.b = r.msg.b[:len(r.msg.b)+len(p)] // the payload is in place
	if !ev.Fin {
		return
	}
	b := r.msg
	r.msg = nil
	r.in = false
	r.deliver(Message{Type: r.typ, Data: b.b, First: true, Fin: true, valid: true, blk: b})
}

// data handles a piece of a data message: it copies it (Payload is valid
// only until the next Next) and returns the message to deliver, if one is
// complete (or, in streaming mode, the piece). rest is, for the first
// piece of a message that ends with its first frame, the bytes of it
// still to come.
func (r *reader) data(ev ws.Event, rest int64) (Message, bool) {
	if r.c.opts.Streaming {
		d, b := r.copyMessage(ev.Payload)
		r.in = !ev.Fin
		whole := ev.First && ev.Fin
		return Message{Type: ev.Opcode, Data: d, First: ev.First, Fin: ev.Fin, valid: whole, blk: b}, true
	}
	if ev.First {
		r.typ = ev.Opcode
		r.in = true
		if ev.Fin {
			// One piece: copy once, into a shared block when small.
			d, b := r.copyMessage(ev.Payload)
			r.in = false
			return Message{Type: ev.Opcode, Data: d, First: true, Fin: true, valid: true, blk: b}, true
		}
		if n := int64(len(ev.Payload)) + rest; rest > 0 && n <= carveMax {
			// A small message cut by the end of a read: its size is
			// known, so it is assembled in place in a shared block.
			r.part, r.partBlk = r.reserve(int(n))
		} else {
			r.msg = ownBlock()
			if rest > 0 {
				// Room for the whole message at once, as far as the
				// bytes received so far vouch for its header.
				r.msg.b = slices.Grow(r.msg.b, eagerSize(n, r.c.bytesIn.Load()))
			}
		}
	}
	if r.partBlk != nil {
		r.part = append(r.part, ev.Payload...)
		if !ev.Fin {
			return Message{}, false
		}
		m := Message{Type: r.typ, Data: r.part, First: true, Fin: true, valid: true, blk: r.partBlk}
		r.part, r.partBlk = nil, nil
		r.in = false
		return m, true
	}
	r.msg.b = append(r.msg.b, ev.Payload...)
	if !ev.Fin {
		return Message{}, false
	}
	b := r.msg
	r.msg = nil
	r.in = false
	return Message{Type: r.typ, Data: b.b, First: true, Fin: true, valid: true, blk: b}, true
}

// deliver puts m on the Messages channel, waiting while it is full
// (backpressure), unless the connection is being torn down. The stream is
// cut cleanly: once a message could not be delivered, none after it is,
// so that the application sees a prefix of what the peer sent, never a
// hole (Err then matches ErrUndelivered).
func (r *reader) deliver(m Message) {
	if r.c.undelivered > 0 || r.c.readClosed.Load() {
		if r.c.undelivered > 0 {
			r.c.undelivered++
		}
		m.Release()
		return
	}
	r.c.received(&m)
	if r.handOff(m) {
		return // to a NextReader call
	}
	defer r.c.delivering.Store(false)
	select {
	case r.c.msgs <- m:
		return
	default:
	}
	r.c.held.Store(true) // for keepalive: the peer is not to blame
	defer r.c.held.Store(false)
	select {
	case r.c.msgs <- m:
		if r.c.readClosed.Load() {
			r.c.drainMessages() // CloseRead came while the reader waited
		}
	case <-r.c.appClosed:
		// The application is closing and not reading, or the
		// connection was aborted (then the next read fails).
		r.c.undelivered++
		m.Release()
	}
}

// receivePong acknowledges the pending ping with this payload and every
// older one: a peer may answer only the most recent of several pings
// (RFC 6455 §5.5.3). The observer gets the round-trip time.
func (c *Conn) receivePong(payload []byte) {
	rtt, ok := c.settlePings(payload)
	if o := c.obs; ok && o != nil && o.Latency != nil {
		o.Latency(c, rtt)
	}
}

// settlePings settles the pings receivePong acknowledges, and returns the
// round-trip time of the one the pong answers, if it was pending.
func (c *Conn) settlePings(payload []byte) (rtt time.Duration, ok bool) {
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
		return 0, false // unsolicited or unknown pong
	}
	for i := 0; i <= idx; i++ {
		p := c.pings[i]
		l := now.Sub(p.sent)
		if i == idx {
			c.latency.Store(int64(l))
			rtt = l
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
	return rtt, true
}
