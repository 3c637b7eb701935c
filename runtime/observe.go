package runtime

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/tetherws/tether/ws"
)

// Observer receives the events of connections, for metrics: set it in
// Options.Observer (of DialOptions, ServerOptions or a Server's Options)
// and every connection made with those options reports to it. Every hook
// is optional: a nil hook costs one comparison per event. Adapters for
// Prometheus and OpenTelemetry build one (modules
// github.com/tetherws/tether/metrics/tetherprom and .../tetherotel).
//
// Hooks are called from the connections' own goroutines and from the
// goroutines that send, concurrently for different connections (and for
// the same one): they must be safe for concurrent use, quick, and must
// not block, since the connection waits for them. They are called
// without the connection's locks held, so a hook may call the
// connection's methods that do not wait (ID, RemoteAddr, Stats, Request),
// but none that sends or closes. The values passed to a hook are valid
// only during the call, except the *Conn.
type Observer struct {
	// Opened is called once per connection, when the opening handshake
	// has succeeded and before Dial returns it or a Server's Handler
	// runs.
	Opened func(c *Conn)
	// Closed is called once per connection, when it has ended: after
	// Err and CloseStatus are set, before Done is closed.
	Closed func(c *Conn, e CloseEvent)
	// Rejected is called when an opening handshake ended with an HTTP
	// answer instead of a connection: a server's refusal, as it sends
	// it, or the refusal a client received.
	Rejected func(e RejectEvent)
	// Received is called for each message received, as it is delivered
	// on Messages (each piece, with Options.Streaming).
	Received func(c *Conn, m MessageEvent)
	// Sent is called for each message (each frame of a fragmented one)
	// that a send or a broadcast has written or queued.
	Sent func(c *Conn, m MessageEvent)
	// Read and Written are called with the bytes of each read from, and
	// each write to, the connection's transport: frames as they are on
	// the wire (compressed, control frames included), not the handshake.
	Read    func(c *Conn, n int)
	Written func(c *Conn, n int)
	// Latency is called with the round-trip time of each answered ping:
	// the keepalive's and Ping's.
	Latency func(c *Conn, rtt time.Duration)
	// Skipped is called when Broadcast skips c, with why: ErrNotOpen,
	// ErrFragmentedSend, ErrSlowConnection, or the error of a write.
	Skipped func(c *Conn, reason error)
}

// MessageEvent describes a message sent or received, or a piece of one.
type MessageEvent struct {
	// Type is the message's type, ws.OpText or ws.OpBinary.
	Type ws.Opcode
	// Size is the length of the payload, uncompressed.
	Size int
	// WireSize is the length of the frame as written, header included,
	// after compression (for Sent; 0 for Received: received bytes are
	// counted by Observer.Read as they come off the socket).
	WireSize int
	// First and Fin mark the first and last piece of a message: both are
	// set for a whole message.
	First, Fin bool
	// Queued is the queue behind the connection at the event: for Sent,
	// the bytes still waiting to be written (0 when the socket took the
	// frame at once); for Received, the messages waiting in Messages
	// ahead of this one.
	Queued int
}

// Initiator says which end started the closing handshake.
type Initiator uint8

// The ends that may start a closing handshake.
const (
	// InitiatorNone: no close frame went either way before the end (the
	// transport failed, or the connection was aborted).
	InitiatorNone Initiator = iota
	// InitiatorLocal: this end sent the first close frame (Close, a
	// handler's end, Shutdown, a protocol or keepalive failure).
	InitiatorLocal
	// InitiatorPeer: the peer's close frame came first.
	InitiatorPeer
)

// String returns "none", "local" or "peer".
func (i Initiator) String() string {
	switch i {
	case InitiatorLocal:
		return "local"
	case InitiatorPeer:
		return "peer"
	}
	return "none"
}

// CloseEvent describes how a connection ended.
type CloseEvent struct {
	// Status holds the close frames received and sent (nil for one not
	// exchanged) and the cause, as CloseStatus returns them.
	Status *ws.CloseError
	// Initiator is the end that started the closing handshake.
	Initiator Initiator
	// Duration is how long the connection was open.
	Duration time.Duration
	// Side is the connection's side, ws.Client or ws.Server.
	Side ws.Side
}

// CodeLabels returns the codes of the close frames sent and received as
// metric label values: the number, or "none" for a frame not exchanged.
func (e CloseEvent) CodeLabels() (sent, rcvd string) {
	sent, rcvd = "none", "none"
	if e.Status != nil && e.Status.Sent != nil {
		sent = strconv.Itoa(int(e.Status.Sent.Code))
	}
	if e.Status != nil && e.Status.Rcvd != nil {
		rcvd = strconv.Itoa(int(e.Status.Rcvd.Code))
	}
	return sent, rcvd
}

// SkipReason names why a broadcast skipped a connection (the error the
// Skipped hook gets) as a metric label value: "not_open", "fragmented",
// "slow" or "error".
func SkipReason(err error) string {
	switch {
	case errors.Is(err, ErrSlowConnection):
		return "slow"
	case errors.Is(err, ErrFragmentedSend):
		return "fragmented"
	case errors.Is(err, ErrNotOpen):
		return "not_open"
	}
	return "error"
}

// RejectEvent describes an opening handshake answered with an HTTP
// status instead of a connection.
type RejectEvent struct {
	// Side is ws.Server for a refusal a server sent, ws.Client for one a
	// client received.
	Side ws.Side
	// Status is the HTTP status of the answer.
	Status int
	// Err is why, when tether refused the handshake (the check that
	// failed), or the client's error; nil when a hook answered.
	Err error
	// Request is the handshake request (nil for a server when it could
	// not be parsed).
	Request *http.Request
	// Remote is the peer's address.
	Remote string
}

// initiator returns the end that started the closing handshake of e.
func initiator(e *ws.CloseError) Initiator {
	switch {
	case e.Rcvd != nil && (e.Sent == nil || e.RcvdThenSent):
		return InitiatorPeer
	case e.Sent != nil:
		return InitiatorLocal
	}
	return InitiatorNone
}

// observeRejected reports a refused handshake to o's Rejected hook.
func observeRejected(o *Observer, e RejectEvent) {
	if o != nil && o.Rejected != nil {
		o.Rejected(e)
	}
}
