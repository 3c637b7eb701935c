package ws

import (
	"math/rand/v2"
)

// Side says which end of the connection a Protocol plays. Clients mask the
// frames they send and servers require masked frames.
type Side uint8

// The two sides.
const (
	Client Side = iota
	Server
)

func (s Side) String() string {
	if s == Client {
		return "client"
	}
	return "server"
}

// State is the state of a connection (RFC 6455 §4, §7).
type State uint8

// Connection states.
const (
	StateConnecting State = iota
	StateOpen
	StateClosing
	StateClosed
)

func (s State) String() string {
	switch s {
	case StateConnecting:
		return "CONNECTING"
	case StateOpen:
		return "OPEN"
	case StateClosing:
		return "CLOSING"
	}
	return "CLOSED"
}

// DefaultMaxMessageSize is the default limit on a received message: 1 MiB.
const DefaultMaxMessageSize = 1 << 20

// Config configures a Protocol.
type Config struct {
	// MaxMessageSize limits the size of a received message, after
	// decoding by extensions. 0 means DefaultMaxMessageSize; a negative
	// value means no limit.
	MaxMessageSize int64
	// MaxFrameSize also limits each received frame when positive.
	MaxFrameSize int64
	// Extensions are the negotiated extensions, in negotiation order.
	Extensions []Extension
	// DeferClose defers the close frames the protocol would queue on its
	// own: the reply to the peer's close frame, and the close frame of a
	// failure found in received data. Next still returns the EventClose,
	// or the *ProtocolError, and every later byte received is ignored
	// (RFC 6455 §7.1.7: nothing more is processed), but the state stays
	// OPEN and the send side with it: the caller may first send what it
	// owes for the messages received before (the replies its application
	// makes to them; RFC 6455 §5.5.1 lets an endpoint finish sending
	// before it answers a close), then sends the pending frame with
	// AppendClose or Fail, which send it whatever code they are given.
	// PendingClose returns it meanwhile.
	DeferClose bool
}

// EventKind says what an Event is.
type EventKind uint8

// Event kinds. EventNone means Next needs more input.
const (
	EventNone EventKind = iota
	EventData
	EventPing
	EventPong
	EventClose
)

func (k EventKind) String() string {
	switch k {
	case EventData:
		return "data"
	case EventPing:
		return "ping"
	case EventPong:
		return "pong"
	case EventClose:
		return "close"
	}
	return "none"
}

// Event is something received. Payload aliases the protocol's buffers or the
// slice given to Feed: it is valid until the next call to Next or Feed.
//
// A data message arrives as one or more EventData pieces: the first has
// First set, the last has Fin set (a one-piece message has both). Pieces
// follow frame boundaries, and a large uncompressed frame may be split
// further, so that a message can be processed in bounded memory. Opcode is
// the message's type (OpText or OpBinary) on every piece. The pieces of a
// text message are valid UTF-8 once joined; a code point may straddle two
// pieces.
type Event struct {
	Kind    EventKind
	Opcode  Opcode
	First   bool
	Fin     bool
	Payload []byte
	Close   CloseFrame // for EventClose
}

// Protocol is the sans-I/O WebSocket connection state machine for one side
// of one connection, created after the opening handshake (in StateOpen).
//
// Receiving: Feed gives it bytes read from the network, then Next returns
// events until it returns EventNone. Sending: the Append methods check a
// request against the protocol rules and append the frame's bytes to a
// buffer. Frames the protocol sends on its own (pongs, the echo of a close
// frame, the close frame of a failure) are collected by TakeOutput.
//
// A Protocol is not safe for concurrent use: a runtime that receives and
// sends from different goroutines serialises the calls.
type Protocol struct {
	side   Side
	state  State
	cfg    Config
	maxMsg int64 // resolved; negative: none

	// Receive side.
	in        []byte // unparsed input given to Feed
	carry     []byte // prefix of the unit being assembled across Feeds
	hdr       Header
	inFrame   bool  // hdr is valid and its payload is being received
	remaining int64 // payload bytes of hdr not yet delivered
	maskPos   int
	whole     bool // the current frame is delivered whole (control or decoded)
	msgOp     Opcode
	msgFirst  bool  // next data piece is the first of its message
	msgExt    byte  // reserved bits of the first frame, when extensions decode
	msgDecode bool  // extensions decode this message
	msgSize   int64 // decoded bytes received in this message
	msgEmpty  int   // empty non-final frames of this message so far
	utf8      UTF8Validator
	recvFrame Frame // the frame extensions decode
	discard   bool  // ignore every received byte (after close or failure)
	skim      bool  // while discarding, walk the frames for the peer's close (skimFrames)
	violated  bool  // the peer violated the protocol: its frames may be out of step
	eofRcvd   bool

	// Send side.
	send      sendState
	sendFrame Frame // the frame extensions encode
	output    []byte
	closeOut  bool // the transport should be closed once output is sent

	closeRcvd, closeSent *CloseFrame
	rcvdThenSent         bool
	failure              error
	pendingClose         *CloseFrame // the close frame deferred by DeferClose, not yet sent

	rng *rand.ChaCha8
}

// NewProtocol returns a Protocol for one side of an open connection.
func NewProtocol(side Side, cfg Config) *Protocol {
	p := &Protocol{side: side, state: StateOpen, cfg: cfg, msgFirst: true}
	switch {
	case cfg.MaxMessageSize == 0:
		p.maxMsg = DefaultMaxMessageSize
	case cfg.MaxMessageSize < 0:
		p.maxMsg = -1
	default:
		p.maxMsg = cfg.MaxMessageSize
	}
	return p
}

// Side returns the side the protocol plays.
func (p *Protocol) Side() Side { return p.side }

// State returns the connection state.
func (p *Protocol) State() State { return p.state }

// Extensions returns the negotiated extensions.
func (p *Protocol) Extensions() []Extension { return p.cfg.Extensions }

// CloseRcvd returns the close frame received, or nil.
func (p *Protocol) CloseRcvd() *CloseFrame { return p.closeRcvd }

// CloseSent returns the close frame sent, or nil.
func (p *Protocol) CloseSent() *CloseFrame { return p.closeSent }

// Failure returns the error that failed the connection, or nil.
func (p *Protocol) Failure() error { return p.failure }

// PendingClose returns the close frame deferred by Config.DeferClose (the
// reply to the peer's close, or a failure's) and not sent yet, or nil.
func (p *Protocol) PendingClose() *CloseFrame { return p.pendingClose }

// CloseError returns the error that describes how the connection ended, with
// cause as its cause; when cause is nil the protocol failure, if any, is used.
func (p *Protocol) CloseError(cause error) *CloseError {
	if cause == nil {
		cause = p.failure
	}
	return &CloseError{Rcvd: p.closeRcvd, Sent: p.closeSent, RcvdThenSent: p.rcvdThenSent, Cause: cause}
}
