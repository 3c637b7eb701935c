package soak

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net"
	"time"

	tether "github.com/tetherws/tether"
)

// client is one client connection of the run and what it saw. Its
// goroutine owns every field until it returns (run waits for it).
type client struct {
	id   int
	conn *tether.Conn

	s         stream
	corrupted uint64 // echoes whose bytes differ from what was sent
	buf, want []byte
	stamps    []stamp // send times of the messages in flight, by number modulo the window

	steadyDone     bool   // every message of the steady phase was echoed
	steadySnap     stream // the stream when the steady phase ended (no missing set)
	pipelining     bool   // in the last phase: sending without limit
	steadySignaled bool
	pipeSignaled   bool
	sendErr        error // the first failed Send; nothing is sent after it
	watch          watchState

	endedAt time.Time
	close   *tether.CloseError
	err     error // Conn.Err at the end
}

// stamp is when message seq was sent.
type stamp struct {
	seq uint64
	at  time.Time
}

// dial opens client i's connection from its source address.
func dial(ctx context.Context, cfg Config, addr string, i int) (*tether.Conn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i%cfg.Sources))}}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("soak: tcp: %w", err)
	}
	o := connOptions(cfg.NoCompression, cfg.PingInterval, cfg.PingTimeout, nil)
	// Messages holds every echo in flight, so the reader never waits for
	// the client's goroutine, which may be blocked in Send: a window
	// larger than the queue could otherwise deadlock both sides.
	o.MaxQueue = max(cfg.Window, tether.DefaultMaxQueue)
	c, _, err := tether.Dial(ctx, "ws://"+addr+"/", &tether.DialOptions{NetConn: nc, Options: o})
	if err != nil {
		_ = nc.Close()
		return nil, fmt.Errorf("soak: handshake: %w", err)
	}
	return c, nil
}

// newClient returns the client state of an open connection.
func newClient(id int, conn *tether.Conn, window int) *client {
	cl := &client{id: id, conn: conn, stamps: make([]stamp, window)}
	for i := range cl.stamps {
		cl.stamps[i].seq = math.MaxUint64
	}
	return cl
}

// run is the client's goroutine. It waits for the start of the steady
// phase, sends its messages with up to a window in flight and checks
// their echoes, waits for the last phase, then pipelines until the
// connection ends.
func (cl *client) run(r *run) {
	defer r.clients.Done()
	defer cl.end(r)
	select {
	case <-r.start:
	case <-cl.conn.Done():
		return
	}
	msgs := cl.conn.Messages()
	steady := uint64(r.cfg.Messages)
	window := uint64(r.cfg.Window)
	for {
		for cl.sendErr == nil && cl.s.tail() < window && (cl.pipelining || cl.s.sent < steady) {
			cl.send(r)
		}
		if cl.pipelining && !cl.pipeSignaled && (cl.s.tail() >= window || cl.sendErr != nil) {
			cl.pipeSignaled = true
			r.piping.Done()
		}
		if !cl.pipelining && (cl.s.next >= steady || cl.sendErr != nil && cl.s.tail() == 0) {
			// The steady phase is over for this client (or it cannot
			// go on): wait for the others.
			cl.steadyDone = cl.s.next >= steady
			cl.steadySnap = stream{sent: cl.s.sent, next: cl.s.next, received: cl.s.received,
				duplicated: cl.s.duplicated, reordered: cl.s.reordered, unknown: cl.s.unknown}
			cl.steadySignaled = true
			r.steady.Done()
			select {
			case <-r.pipeline:
				cl.pipelining = true
				continue
			case <-cl.conn.Done():
				return
			}
		}
		m, ok := <-msgs
		if !ok {
			return
		}
		cl.receive(r, m)
	}
}

// send sends the next message; a failure is recorded and stops sending.
func (cl *client) send(r *run) {
	seq := cl.s.sent
	cl.buf = appendPayload(cl.buf[:0], cl.id, seq, r.cfg.Size)
	at := time.Now()
	if err := cl.conn.Send(r.ctx, tether.OpText, cl.buf); err != nil {
		cl.sendErr = err
		r.errors.addErr(cl.phase()+" send: "+kindOf(err), err)
		return
	}
	cl.s.send()
	cl.watch.note(cl.s.tail(), false, at)
	cl.stamps[seq%uint64(len(cl.stamps))] = stamp{seq: seq, at: at}
	r.sent.Add(1)
}

// receive checks one echo.
func (cl *client) receive(r *run, m tether.Message) {
	at := time.Now()
	defer m.Release()
	r.echoed.Add(1)
	id, seq, err := parseHeader(m.Data)
	if err != nil || id != cl.id {
		cl.corrupted++
		return
	}
	cl.want = appendPayload(cl.want[:0], cl.id, seq, r.cfg.Size)
	if !m.IsText() || !bytes.Equal(m.Data, cl.want) {
		cl.corrupted++
	}
	first := cl.s.receive(seq)
	cl.watch.note(cl.s.tail(), true, at)
	if !first || cl.pipelining {
		return
	}
	if st := cl.stamps[seq%uint64(len(cl.stamps))]; st.seq == seq {
		r.latency.add(at.Sub(st.at))
	}
}

// phase names the client's phase for the error tally.
func (cl *client) phase() string {
	if cl.pipelining {
		return "last phase"
	}
	return "steady"
}

// end records how the connection ended and releases the barriers the
// client had not reached.
func (cl *client) end(r *run) {
	<-cl.conn.Done()
	cl.endedAt = time.Now()
	cl.close = cl.conn.CloseStatus()
	cl.err = cl.conn.Err()
	cl.watch.inFlight.Store(0)
	if !cl.steadySignaled {
		cl.steadySignaled = true
		cl.steadySnap = cl.s
		cl.steadySnap.missing = nil
		r.steady.Done()
	}
	if !cl.pipeSignaled {
		cl.pipeSignaled = true
		r.piping.Done()
	}
}
