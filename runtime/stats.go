package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/tetherws/tether/ws"
)

// ConnStats is a snapshot of one connection's counters (Conn.Stats).
// Byte counts are of data messages' payloads, uncompressed
// (MessageBytes), and of the transport (WireBytes: frames as they are on
// the wire, compressed, control frames included, the handshake not).
type ConnStats struct {
	// MessagesReceived counts the messages received, as they are
	// delivered on Messages (with Options.Streaming, as their last piece
	// is);
	// MessagesSent the messages sent or queued (fragmented ones when
	// their last frame went out).
	MessagesReceived uint64 `json:"messages_received"`
	MessagesSent     uint64 `json:"messages_sent"`
	// MessageBytesReceived and MessageBytesSent count payload bytes,
	// uncompressed: their ratio to the wire bytes is what compression
	// saves.
	MessageBytesReceived uint64 `json:"message_bytes_received"`
	MessageBytesSent     uint64 `json:"message_bytes_sent"`
	// WireBytesReceived and WireBytesSent count the bytes read from and
	// written to the transport.
	WireBytesReceived uint64 `json:"wire_bytes_received"`
	WireBytesSent     uint64 `json:"wire_bytes_sent"`
	// Queued is the number of bytes waiting to be written; Backlog the
	// number of messages waiting in Messages.
	Queued  int `json:"queued_bytes"`
	Backlog int `json:"backlog_messages"`
}

// add adds the counters of o to s (for sums over connections).
func (s *ConnStats) add(o ConnStats) {
	s.MessagesReceived += o.MessagesReceived
	s.MessagesSent += o.MessagesSent
	s.MessageBytesReceived += o.MessageBytesReceived
	s.MessageBytesSent += o.MessageBytesSent
	s.WireBytesReceived += o.WireBytesReceived
	s.WireBytesSent += o.WireBytesSent
	s.Queued += o.Queued
	s.Backlog += o.Backlog
}

// connCounters are a connection's counters, atomic so that Stats reads
// them without a lock. (The wire bytes received are Conn.bytesIn, which
// keepalive reads too.)
type connCounters struct {
	msgsIn, msgsOut   atomic.Uint64
	bytesIn, bytesOut atomic.Uint64 // payloads
	wireOut           atomic.Uint64
}

// Stats returns a snapshot of the connection's counters. It may be
// called at any time, also from an Observer hook; it holds the
// connection's lock only to read Queued.
func (c *Conn) Stats() ConnStats {
	c.mu.Lock()
	queued := c.queued
	c.mu.Unlock()
	return ConnStats{
		MessagesReceived:     c.stats.msgsIn.Load(),
		MessagesSent:         c.stats.msgsOut.Load(),
		MessageBytesReceived: c.stats.bytesIn.Load(),
		MessageBytesSent:     c.stats.bytesOut.Load(),
		WireBytesReceived:    c.bytesIn.Load(),
		WireBytesSent:        c.stats.wireOut.Load(),
		Queued:               queued,
		Backlog:              len(c.msgs),
	}
}

// received counts a message (or piece) about to be delivered on Messages
// and reports it to the observer, before the application can see it.
func (c *Conn) received(m *Message) {
	if m.Fin {
		c.stats.msgsIn.Add(1)
	}
	c.stats.bytesIn.Add(uint64(len(m.Data)))
	if o := c.obs; o != nil && o.Received != nil {
		o.Received(c, MessageEvent{Type: m.Type, Size: len(m.Data), First: m.First, Fin: m.Fin, Queued: len(c.msgs)})
	}
}

// framedLocked counts a data frame about to be queued or written, and
// logs it at Debug: before it can reach the peer, so that the line and
// the count come before any answer. c.mu is held.
func (c *Conn) framedLocked(op ws.Opcode, payload []byte, fin bool) {
	if fin {
		c.stats.msgsOut.Add(1)
	}
	c.stats.bytesOut.Add(uint64(len(payload)))
	if c.debugOn() {
		c.logFrame('>', op, payload, fin)
	}
}

// sent reports a data frame sent or queued to the observer: wire is the
// frame's length, queued the bytes waiting after it. No lock is held.
func (c *Conn) sent(typ, op ws.Opcode, payload []byte, fin bool, wire, queued int) {
	if o := c.obs; o != nil && o.Sent != nil {
		o.Sent(c, MessageEvent{Type: typ, Size: len(payload), WireSize: wire, First: op != ws.OpContinuation, Fin: fin, Queued: queued})
	}
}

// readBytes counts n bytes read from the transport.
func (c *Conn) readBytes(n int) {
	c.bytesIn.Add(uint64(n))
	if o := c.obs; o != nil && o.Read != nil {
		o.Read(c, n)
	}
}

// wroteBytes counts n bytes written to the transport.
func (c *Conn) wroteBytes(n int) {
	if n <= 0 {
		return
	}
	c.stats.wireOut.Add(uint64(n))
	if o := c.obs; o != nil && o.Written != nil {
		o.Written(c, n)
	}
}

// ServerStats is a snapshot of a Server's counters (Server.Stats).
type ServerStats struct {
	// Open is the number of connections open now.
	Open int `json:"open"`
	// Opened counts the connections opened since the server started,
	// Closed those that have ended since (and whose handler returned).
	Opened uint64 `json:"opened"`
	Closed uint64 `json:"closed"`
	// Rejected counts the handshakes answered with an HTTP status
	// instead of an upgrade (bad requests, hooks' refusals, 503 while
	// shutting down); Failed those that ended without an answer (a
	// failed TLS handshake, a timeout, a client that went away).
	Rejected uint64 `json:"rejected"`
	Failed   uint64 `json:"failed"`
	// ConnStats sums the counters of every connection the server has
	// had, open and ended (Queued and Backlog: of the open ones).
	ConnStats
}

// serverCounters are a Server's own counters.
type serverCounters struct {
	opened, closed, rejected, failed atomic.Uint64
	// ended sums the counters of the connections that have ended
	// (under Server.mu, with the removal from Server.conns).
	ended ConnStats
}

// Stats returns a snapshot of the server's counters: its own, and the
// sum of its connections'.
func (s *Server) Stats() ServerStats {
	st := ServerStats{
		Opened:   s.stats.opened.Load(),
		Rejected: s.stats.rejected.Load(),
		Failed:   s.stats.failed.Load(),
	}
	s.mu.Lock()
	st.Closed = s.stats.closed.Load()
	st.Open = len(s.conns)
	st.ConnStats = s.stats.ended
	for c := range s.conns {
		st.ConnStats.add(c.Stats())
	}
	s.mu.Unlock()
	return st
}

// connEndedLocked moves an ended connection's counters into the server's
// totals. s.mu is held, and c is being removed from s.conns.
func (s *Server) connEndedLocked(c *Conn) {
	cs := c.Stats()
	cs.Queued, cs.Backlog = 0, 0
	s.stats.ended.add(cs)
	s.stats.closed.Add(1)
}

// StatsVar returns the server's Stats as an expvar.Var (its String is
// the JSON of a fresh snapshot each time):
//
//	expvar.Publish("tether", srv.StatsVar())
//
// Package runtime does not import expvar itself: importing it mounts
// /debug/vars on http.DefaultServeMux, which a library should leave to
// the program.
func (s *Server) StatsVar() fmt.Stringer { return statsVar{s} }

type statsVar struct{ s *Server }

func (v statsVar) String() string {
	b, err := json.Marshal(v.s.Stats())
	if err != nil { // cannot happen: the struct has only numbers
		return "{}"
	}
	return string(b)
}

// handshakeFailed counts a handshake that did not open a connection: a
// rejection (logged when it was answered) or a failure, which it logs
// (logHandshakeFailure).
func (s *Server) handshakeFailed(remote string, err error, log *slog.Logger) {
	var he *ws.HandshakeError
	if errors.As(err, &he) && he.Status != 0 {
		s.stats.rejected.Add(1)
		return
	}
	s.stats.failed.Add(1)
	logHandshakeFailure(log, remote, err)
}
