package ws

import (
	crand "crypto/rand"
	"errors"
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
	utf8      UTF8Validator
	recvFrame Frame // the frame extensions decode
	discard   bool  // ignore every received byte (after close or failure)
	eofRcvd   bool

	// Send side.
	sendMsg   bool  // a fragmented message is being sent
	sendNoCo  bool  // NoCompress of the message being sent
	sendFrame Frame // the frame extensions encode
	output    []byte
	closeOut  bool // the transport should be closed once output is sent

	closeRcvd, closeSent *CloseFrame
	rcvdThenSent         bool
	failure              error

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

// CloseError returns the error that describes how the connection ended, with
// cause as its cause; when cause is nil the protocol failure, if any, is used.
func (p *Protocol) CloseError(cause error) *CloseError {
	if cause == nil {
		cause = p.failure
	}
	return &CloseError{Rcvd: p.closeRcvd, Sent: p.closeSent, RcvdThenSent: p.rcvdThenSent, Cause: cause}
}

// ---------------------------------------------------------------- receiving

// errFeedBusy is returned by Feed when the previous input is not consumed.
var errFeedBusy = errors.New("ws: Feed called before Next consumed the previous input")

// Feed gives the protocol bytes received from the peer. Call Next until it
// returns EventNone before calling Feed again. The protocol unmasks b in
// place and events may alias it, so the caller must not change b until then.
func (p *Protocol) Feed(b []byte) error {
	if len(p.in) != 0 {
		return errFeedBusy
	}
	if p.discard || p.eofRcvd {
		return nil
	}
	p.in = b
	return nil
}

// FeedEOF tells the protocol that the peer closed the connection (or that
// the transport failed). The state becomes CLOSED.
func (p *Protocol) FeedEOF() {
	p.eofRcvd = true
	p.in = nil
	if p.state != StateClosed {
		if p.closeRcvd == nil && p.failure == nil && (p.inFrame || len(p.carry) > 0 || !p.msgFirst) {
			p.failure = &ProtocolError{Code: CloseAbnormal, Msg: "unexpected end of stream"}
		}
		p.state = StateClosed
	}
	p.closeOut = true
}

// EOFReceived reports whether FeedEOF was called.
func (p *Protocol) EOFReceived() bool { return p.eofRcvd }

// ReleaseBuffers drops the internal receive buffer if it is empty, so that
// an idle connection holds no memory for it.
func (p *Protocol) ReleaseBuffers() {
	if len(p.carry) == 0 {
		p.carry = nil
	}
	if len(p.output) == 0 {
		p.output = nil
	}
}

// peek returns k contiguous bytes of input without consuming them. When the
// input holds fewer, it moves what there is into carry and reports false.
func (p *Protocol) peek(k int) ([]byte, bool) {
	if len(p.carry) == 0 {
		if len(p.in) >= k {
			return p.in[:k], true
		}
		p.carry = append(p.carry, p.in...)
		p.in = p.in[len(p.in):]
		return nil, false
	}
	if need := k - len(p.carry); need > 0 {
		n := min(need, len(p.in))
		p.carry = append(p.carry, p.in[:n]...)
		p.in = p.in[n:]
		if n < need {
			return nil, false
		}
	}
	return p.carry[:k], true
}

// consume drops the k bytes returned by the last successful peek.
func (p *Protocol) consume(k int) {
	if len(p.carry) == 0 {
		p.in = p.in[k:]
		return
	}
	if cap(p.carry) > 64<<10 {
		p.carry = nil // do not keep a large buffer after a large frame
	} else {
		p.carry = p.carry[:0]
	}
}

// Next returns the next event. It returns EventNone when it needs more input
// or when nothing more will come. When the peer violates the protocol, Next
// returns a *ProtocolError; the close frame to send is then queued for
// TakeOutput and every later byte is ignored.
func (p *Protocol) Next() (Event, error) {
	ev, err := p.next()
	if ev.Kind == EventNone && err == nil {
		// The input is drained: keep no reference to the caller's buffer,
		// and let extensions drop the output of their last decode (the
		// caller is done with the previous event).
		p.in = nil
		for _, e := range p.cfg.Extensions {
			if r, ok := e.(ReceiveBufferReleaser); ok {
				r.ReleaseReceiveBuffers()
			}
		}
	}
	return ev, err
}

func (p *Protocol) next() (Event, error) {
	for {
		if p.discard || p.eofRcvd {
			p.in = nil
			return Event{}, nil
		}
		if !p.inFrame {
			if len(p.in) == 0 && len(p.carry) == 0 {
				return Event{}, nil
			}
			ok, err := p.readHeader()
			if err != nil {
				return Event{}, err
			}
			if !ok {
				return Event{}, nil
			}
		}
		if p.whole {
			ev, ok, err := p.readWholeFrame()
			if err != nil || !ok {
				return Event{}, err
			}
			if ev.Kind == EventNone {
				continue // nothing to report (e.g. a frame ignored)
			}
			return ev, nil
		}
		// Streaming an uncompressed data frame.
		if p.remaining > 0 && len(p.in) == 0 {
			return Event{}, nil
		}
		n := int(min(p.remaining, int64(len(p.in))))
		chunk := p.in[:n]
		p.in = p.in[n:]
		p.remaining -= int64(n)
		if p.hdr.Masked {
			p.maskPos = Mask(p.hdr.Mask, p.maskPos, chunk)
		}
		fin := p.remaining == 0 && p.hdr.Fin
		if p.remaining == 0 {
			p.inFrame = false
		}
		p.msgSize += int64(n)
		return p.dataEvent(chunk, fin)
	}
}

// dataEvent validates and builds a data event for a piece of the current
// message.
func (p *Protocol) dataEvent(payload []byte, fin bool) (Event, error) {
	if p.msgOp == OpText {
		if !p.utf8.Write(payload) {
			return Event{}, p.fail(CloseInvalidPayload, "invalid UTF-8 at position "+itoa(p.utf8.Pos()))
		}
		if fin && !p.utf8.Complete() {
			return Event{}, p.fail(CloseInvalidPayload, "incomplete UTF-8 sequence at end of message")
		}
	}
	ev := Event{Kind: EventData, Opcode: p.msgOp, First: p.msgFirst, Fin: fin, Payload: payload}
	p.msgFirst = false
	if fin {
		p.msgOp = 0
		p.msgFirst = true
		p.msgSize = 0
		p.msgDecode = false
		p.msgExt = 0
		p.utf8.Reset()
	}
	return ev, nil
}

// readHeader parses the next frame header and applies the header rules.
func (p *Protocol) readHeader() (bool, error) {
	b, ok := p.peek(2)
	if !ok {
		return false, nil
	}
	size := 2
	switch b[1] & 0x7f {
	case 126:
		size += 2
	case 127:
		size += 8
	}
	if b[1]&0x80 != 0 {
		size += 4
	}
	b, ok = p.peek(size)
	if !ok {
		return false, nil
	}
	h, n, err := ParseHeader(b)
	if err != nil {
		p.consume(size)
		if errors.Is(err, ErrLengthOverflow) {
			return false, p.fail(CloseProtocolError, "payload length overflow")
		}
		return false, p.fail(CloseProtocolError, "payload length not minimally encoded")
	}
	p.consume(n)

	if !h.Opcode.Valid() {
		return false, p.fail(CloseProtocolError, "invalid opcode "+itoa(int64(h.Opcode)))
	}
	if h.Masked != (p.side == Server) {
		return false, p.fail(CloseProtocolError, "incorrect masking")
	}
	p.hdr = h
	p.maskPos = 0
	p.remaining = h.Length
	if h.Opcode.IsControl() {
		if h.Length > MaxControlPayload {
			return false, p.fail(CloseProtocolError, "control frame too long")
		}
		if !h.Fin {
			return false, p.fail(CloseProtocolError, "fragmented control frame")
		}
		if h.Rsv != 0 {
			return false, p.fail(CloseProtocolError, "reserved bits must be 0")
		}
		p.inFrame, p.whole = true, true
		return true, nil
	}

	// Data frame: fragmentation order first.
	if h.Opcode == OpContinuation {
		if p.msgOp == 0 {
			return false, p.fail(CloseProtocolError, "unexpected continuation frame")
		}
	} else {
		if p.msgOp != 0 {
			return false, p.fail(CloseProtocolError, "expected a continuation frame")
		}
		p.msgOp = h.Opcode
		p.msgFirst = true
		p.msgSize = 0
		p.msgExt = h.Rsv
		p.msgDecode = p.decodes(h.Rsv)
	}
	if !p.msgDecode && h.Rsv != 0 {
		return false, p.fail(CloseProtocolError, "reserved bits must be 0")
	}
	if p.msgDecode {
		// An extension decodes this frame: its decoded size is checked
		// after decoding. The wire length only bounds what is buffered,
		// with room for encoding overhead (deflate turns an empty final
		// frame into one byte, and incompressible data grows a little).
		if err := p.checkWireSize(h.Length); err != nil {
			return false, err
		}
	} else if err := p.checkSize(h.Length); err != nil {
		return false, err
	}
	p.inFrame, p.whole = true, p.msgDecode
	return true, nil
}

// decodes reports whether extensions must decode a message whose first
// frame has these reserved bits, and checks the bits are claimed.
func (p *Protocol) decodes(rsv byte) bool {
	var claimed byte
	all := false
	for _, e := range p.cfg.Extensions {
		bits := e.RsvBits()
		if bits == 0 {
			all = true
		}
		claimed |= bits
	}
	return all || rsv&claimed != 0
}

func (p *Protocol) budget() int64 {
	b := int64(-1)
	if p.maxMsg >= 0 {
		b = p.maxMsg - p.msgSize
	}
	if f := p.cfg.MaxFrameSize; f > 0 && (b < 0 || f < b) {
		b = f
	}
	return b
}

func (p *Protocol) checkSize(n int64) error {
	b := p.budget()
	if b < 0 || n <= b {
		return nil
	}
	limit := p.maxMsg
	if f := p.cfg.MaxFrameSize; f > 0 && (limit < 0 || f < limit) {
		limit = f
	}
	if p.msgSize > 0 {
		return p.fail(CloseMessageTooBig, "frame with "+itoa(n)+" bytes after reading "+itoa(p.msgSize)+
			" bytes exceeds limit of "+itoa(limit)+" bytes")
	}
	return p.fail(CloseMessageTooBig, "frame with "+itoa(n)+" bytes exceeds limit of "+itoa(limit)+" bytes")
}

// checkWireSize bounds the wire length of a frame that extensions decode:
// the remaining budget plus an eighth and 1 KiB of encoding overhead.
func (p *Protocol) checkWireSize(n int64) error {
	b := p.budget()
	if b < 0 || n <= b+b/8+1024 {
		return nil
	}
	return p.checkSize(n)
}

// readWholeFrame assembles a control frame or a frame extensions decode.
func (p *Protocol) readWholeFrame() (Event, bool, error) {
	n := int(p.hdr.Length)
	b, ok := p.peek(n)
	if !ok {
		return Event{}, false, nil
	}
	if p.hdr.Masked {
		Mask(p.hdr.Mask, 0, b)
	}
	p.consume(n)
	p.inFrame, p.whole, p.remaining = false, false, 0
	h := p.hdr
	switch h.Opcode {
	case OpPing:
		if p.closeRcvd == nil {
			p.queueControl(OpPong, b)
		}
		return Event{Kind: EventPing, Payload: b}, true, nil
	case OpPong:
		return Event{Kind: EventPong, Payload: b}, true, nil
	case OpClose:
		return p.receiveClose(b)
	}

	// The frame lives in p: a local would escape through the interface
	// call and cost an allocation per frame.
	f := &p.recvFrame
	*f = Frame{Opcode: h.Opcode, Fin: h.Fin, Rsv: h.Rsv, Payload: b}
	exts := p.cfg.Extensions
	for i := len(exts) - 1; i >= 0; i-- {
		e := exts[i]
		if bits := e.RsvBits(); bits != 0 && p.msgExt&bits == 0 {
			continue
		}
		if err := e.Decode(f, p.budget()); err != nil {
			f.Payload = nil
			var pe *ProtocolError
			if errors.As(err, &pe) {
				return Event{}, false, p.fail(pe.Code, pe.Msg)
			}
			return Event{}, false, p.fail(CloseInternalError, "")
		}
	}
	payload, rsv := f.Payload, f.Rsv
	f.Payload = nil // do not keep the buffer alive
	if rsv != 0 {
		return Event{}, false, p.fail(CloseProtocolError, "reserved bits must be 0")
	}
	if err := p.checkSize(int64(len(payload))); err != nil {
		return Event{}, false, err
	}
	p.msgSize += int64(len(payload))
	ev, err := p.dataEvent(payload, h.Fin)
	return ev, err == nil, err
}

func (p *Protocol) receiveClose(payload []byte) (Event, bool, error) {
	cf, err := ParseClosePayload(payload)
	if err != nil {
		pe := err.(*ProtocolError)
		return Event{}, false, p.fail(pe.Code, pe.Msg)
	}
	p.closeRcvd = &cf
	// A message in progress is abandoned; the close is echoed as usual.
	p.msgOp, p.msgFirst, p.msgSize, p.msgDecode, p.msgExt = 0, true, 0, false, 0
	p.utf8.Reset()
	if p.state == StateOpen {
		// Echo the peer's payload as it was received.
		p.appendFrame(&p.output, OpClose, true, 0, payload)
		sent := cf
		p.closeSent = &sent
		p.rcvdThenSent = true
		p.state = StateClosing
	}
	if p.side == Server {
		p.closeOut = true
	}
	p.discard = true
	p.in = nil
	return Event{Kind: EventClose, Close: cf}, true, nil
}

// fail fails the connection: it queues a close frame with code and reason
// (unless a close frame was sent already or code is 1006), stops processing
// input and returns the error.
func (p *Protocol) fail(code CloseCode, reason string) error {
	err := &ProtocolError{Code: code, Msg: reason}
	if code == CloseInternalError {
		err.Msg = "internal error"
		reason = "" // details could be sensitive
	}
	p.Fail(code, reason)
	p.failure = err
	return err
}

// Fail fails the connection from the runtime's side (a keepalive timeout,
// invalid data found above the protocol): unless a close frame was already
// sent, it queues one with code and reason. Input is ignored from then on.
// Code 1006 (the transport failed) sends nothing, and no frame may be sent
// afterwards.
func (p *Protocol) Fail(code CloseCode, reason string) {
	if p.state == StateOpen && code != CloseAbnormal {
		cf := CloseFrame{Code: code, Reason: reason}
		if cf.Check() != nil {
			cf = CloseFrame{Code: code}
			if cf.Check() != nil {
				cf = CloseFrame{Code: CloseInternalError}
			}
		}
		payload, _ := AppendClosePayload(nil, cf)
		p.appendFrame(&p.output, OpClose, true, 0, payload)
		p.closeSent = &cf
		if p.closeRcvd != nil {
			p.rcvdThenSent = true
		}
		p.state = StateClosing
	}
	if p.failure == nil {
		p.failure = &ProtocolError{Code: code, Msg: reason}
	}
	p.discard = true
	p.in = nil
	if p.side == Server {
		p.closeOut = true
	}
}

// ------------------------------------------------------------------ sending

// TakeOutput appends to dst the frames the protocol queued on its own
// (pongs, close frames), forgets them and returns the extended slice.
func (p *Protocol) TakeOutput(dst []byte) []byte {
	dst = append(dst, p.output...)
	p.output = p.output[:0]
	return dst
}

// HasOutput reports whether TakeOutput has anything to return.
func (p *Protocol) HasOutput() bool { return len(p.output) > 0 }

// CloseTransport reports whether the transport should be closed once the
// queued output is sent: the server closes first after the closing
// handshake or a failure; the client closes after the server did (EOF).
func (p *Protocol) CloseTransport() bool { return p.closeOut }

// CloseExpected reports whether the peer is expected to end the connection
// soon: a close frame was sent or received, or the connection failed. A
// runtime starts its close timeout then.
func (p *Protocol) CloseExpected() bool {
	return p.state != StateOpen || p.failure != nil
}

// canSend reports whether data and close frames may be sent: the state is
// OPEN and the connection has not failed (Fail with 1006 sends no close
// frame and leaves the state OPEN, but the transport is gone).
func (p *Protocol) canSend() bool { return p.state == StateOpen && p.failure == nil }

func (p *Protocol) maskKey() [4]byte {
	if p.rng == nil {
		var seed [32]byte
		_, _ = crand.Read(seed[:])
		p.rng = rand.NewChaCha8(seed)
	}
	v := uint32(p.rng.Uint64())
	return [4]byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)}
}

// appendFrame serialises a frame after all checks: it masks on the client.
func (p *Protocol) appendFrame(dst *[]byte, op Opcode, fin bool, rsv byte, payload []byte) {
	h := Header{Fin: fin, Rsv: rsv, Opcode: op, Length: int64(len(payload))}
	if p.side == Client {
		h.Masked = true
		h.Mask = p.maskKey()
	}
	b := AppendHeader(*dst, h)
	start := len(b)
	b = append(b, payload...)
	if h.Masked {
		Mask(h.Mask, 0, b[start:])
	}
	*dst = b
}

// AppendData appends a data frame to dst. op is OpText or OpBinary for the
// first frame of a message and OpContinuation for the next; fin ends the
// message. noCompress asks compressing extensions to leave the message as
// it is (it is read on the message's first frame). The payload of a text
// message is not validated here. On error nothing is appended.
func (p *Protocol) AppendData(dst []byte, op Opcode, fin bool, payload []byte, noCompress bool) ([]byte, error) {
	if !p.canSend() {
		return dst, ErrInvalidState
	}
	switch op {
	case OpText, OpBinary:
		if p.sendMsg {
			return dst, &ProtocolError{Code: CloseProtocolError, Msg: "expected a continuation frame"}
		}
		p.sendNoCo = noCompress
	case OpContinuation:
		if !p.sendMsg {
			return dst, &ProtocolError{Code: CloseProtocolError, Msg: "unexpected continuation frame"}
		}
	default:
		return dst, &ProtocolError{Code: CloseProtocolError, Msg: "not a data opcode: " + op.String()}
	}
	f := &p.sendFrame // not a local: it would escape and allocate
	*f = Frame{Opcode: op, Fin: fin, Payload: payload, NoCompress: p.sendNoCo}
	for _, e := range p.cfg.Extensions {
		if err := e.Encode(f); err != nil {
			f.Payload = nil
			return dst, err
		}
	}
	p.sendMsg = !fin
	p.appendFrame(&dst, op, fin, f.Rsv, f.Payload)
	// The encoded payload is copied into dst: extensions may drop it.
	for _, e := range p.cfg.Extensions {
		if r, ok := e.(SendBufferReleaser); ok {
			r.ReleaseSendBuffers()
		}
	}
	f.Payload = nil // do not keep the caller's buffer alive
	return dst, nil
}

// SendingMessage reports whether a fragmented message is being sent.
func (p *Protocol) SendingMessage() bool { return p.sendMsg }

func (p *Protocol) checkControl(payload []byte) error {
	if p.state != StateOpen && p.state != StateClosing || p.state == StateOpen && p.failure != nil {
		return ErrInvalidState
	}
	if len(payload) > MaxControlPayload {
		return &ProtocolError{Code: CloseProtocolError, Msg: "control frame too long"}
	}
	return nil
}

// AppendPing appends a ping frame. It is allowed while OPEN or CLOSING.
func (p *Protocol) AppendPing(dst, payload []byte) ([]byte, error) {
	if err := p.checkControl(payload); err != nil {
		return dst, err
	}
	p.appendFrame(&dst, OpPing, true, 0, payload)
	return dst, nil
}

// AppendPong appends a pong frame. It is allowed while OPEN or CLOSING.
func (p *Protocol) AppendPong(dst, payload []byte) ([]byte, error) {
	if err := p.checkControl(payload); err != nil {
		return dst, err
	}
	p.appendFrame(&dst, OpPong, true, 0, payload)
	return dst, nil
}

// AppendClose appends a close frame and moves to CLOSING. Code 1005 sends an
// empty payload. It is allowed once, while OPEN; a bad code or reason is an
// error and nothing is appended.
func (p *Protocol) AppendClose(dst []byte, code CloseCode, reason string) ([]byte, error) {
	if !p.canSend() {
		return dst, ErrInvalidState
	}
	cf := CloseFrame{Code: code, Reason: reason}
	payload, err := AppendClosePayload(nil, cf)
	if err != nil {
		return dst, err
	}
	p.appendFrame(&dst, OpClose, true, 0, payload)
	p.closeSent = &cf
	if p.closeRcvd != nil {
		p.rcvdThenSent = true
	}
	p.state = StateClosing
	return dst, nil
}

// queueControl queues an automatic control frame (a pong).
func (p *Protocol) queueControl(op Opcode, payload []byte) {
	if p.state == StateOpen || p.state == StateClosing {
		p.appendFrame(&p.output, op, true, 0, payload)
	}
}
