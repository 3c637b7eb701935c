package ws

import (
	crand "crypto/rand"
	"math/rand/v2"
)

// The send side of Protocol: the checks of what the caller asks to send,
// the frames it asks for, and the frames the protocol queues on its own.

// SendFlags qualify a data frame to send.
type SendFlags uint8

const (
	// SendNoCompress asks compressing extensions to leave the message
	// as it is. It is read on the message's first frame.
	SendNoCompress SendFlags = 1 << iota
	// SendValidUTF8 says the payload is valid UTF-8 that ends on a code
	// point boundary, as checked already: a text message a Protocol
	// received (its pieces joined), or one CheckMessage accepted. The
	// protocol then does not validate it again. It is ignored when the
	// text sent before it in the message ends in the middle of a code
	// point.
	SendValidUTF8
)

// sendState is the state of the message being sent.
type sendState struct {
	inMsg  bool // a fragmented message is being sent: a frame of it went out
	noComp bool // SendNoCompress of the message
	text   bool // the message is text
	utf8   UTF8Validator
	// next is utf8 after the frame being checked (text only), for
	// commitData.
	next UTF8Validator
}

// CheckMessage checks a whole message the caller wants to send, as the
// Append methods do: its type must be OpText or OpBinary, and text must be
// valid UTF-8. The error is a *SendError (ErrInvalidText for text). A
// message it accepts may be framed with SendValidUTF8, on any number of
// connections.
func CheckMessage(op Opcode, payload []byte) error {
	if op != OpText && op != OpBinary {
		return sendError("message type must be text or binary, not " + op.String())
	}
	if op == OpText {
		var v UTF8Validator
		if !v.Write(payload) || !v.Complete() {
			return ErrInvalidText
		}
	}
	return nil
}

// checkData applies the rules of a data frame to send. It changes only
// p.send.next: commitData applies the frame's effect once it is sent.
func (p *Protocol) checkData(op Opcode, fin bool, payload []byte, f SendFlags) error {
	if !p.canSend() {
		return ErrInvalidState
	}
	text := p.send.text
	switch op {
	case OpText, OpBinary:
		if p.send.inMsg {
			return sendError("expected a continuation frame")
		}
		text = op == OpText
		p.send.next = UTF8Validator{}
	case OpContinuation:
		if !p.send.inMsg {
			return sendError("unexpected continuation frame")
		}
		p.send.next = p.send.utf8
	default:
		return sendError("not a data opcode: " + op.String())
	}
	if text {
		v := &p.send.next
		if f&SendValidUTF8 == 0 || !v.Complete() {
			if !v.Write(payload) {
				return ErrInvalidText
			}
		}
		if fin && !v.Complete() {
			return ErrInvalidText
		}
	}
	return nil
}

// commitData records a data frame that checkData allowed as sent.
func (p *Protocol) commitData(op Opcode, fin bool, f SendFlags) {
	if fin {
		p.send = sendState{}
		return
	}
	if op != OpContinuation {
		p.send.noComp = f&SendNoCompress != 0
		p.send.text = op == OpText
	}
	p.send.inMsg = true
	p.send.utf8 = p.send.next
}

// AppendData appends a data frame to dst: AppendDataWith, with
// SendNoCompress when noCompress is set.
func (p *Protocol) AppendData(dst []byte, op Opcode, fin bool, payload []byte, noCompress bool) ([]byte, error) {
	var f SendFlags
	if noCompress {
		f = SendNoCompress
	}
	return p.AppendDataWith(dst, op, fin, payload, f)
}

// AppendDataWith appends a data frame to dst. op is OpText or OpBinary for
// the first frame of a message and OpContinuation for the next; fin ends
// the message. The text of a text message is validated as it goes (a code
// point may straddle two frames; the message must end on a whole one)
// unless flags say it is valid already. A request the rules refuse is a
// *SendError; a frame sent after the close frame or a failure is
// ErrInvalidState. On error nothing is appended and the state is as it was.
func (p *Protocol) AppendDataWith(dst []byte, op Opcode, fin bool, payload []byte, flags SendFlags) ([]byte, error) {
	if err := p.checkData(op, fin, payload, flags); err != nil {
		return dst, err
	}
	noComp := p.send.noComp
	if op != OpContinuation {
		noComp = flags&SendNoCompress != 0
	}
	if len(p.cfg.Extensions) != 0 {
		f := &p.sendFrame // not a local: it would escape and allocate
		*f = Frame{Opcode: op, Fin: fin, Payload: payload, NoCompress: noComp}
		for _, e := range p.cfg.Extensions {
			if err := e.Encode(f); err != nil {
				f.Payload = nil
				return dst, err
			}
		}
		p.commitData(op, fin, flags)
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
	p.commitData(op, fin, flags)
	p.appendFrame(&dst, op, fin, 0, payload)
	return dst, nil
}

// AppendDataHeader is AppendDataWith for a caller that writes the payload
// itself. When the payload goes on the wire as it is (a server's frame,
// with no extension negotiated), it applies every check and state change
// of AppendDataWith, appends only the frame's header and reports raw: the
// frame is that header followed by payload, byte for byte what
// AppendDataWith would append. Otherwise (a client masks its payload, an
// extension may encode it) it appends nothing, checks and changes
// nothing, and reports !raw: frame the payload with AppendDataWith.
func (p *Protocol) AppendDataHeader(dst []byte, op Opcode, fin bool, payload []byte, flags SendFlags) (out []byte, raw bool, err error) {
	if p.side != Server || len(p.cfg.Extensions) != 0 {
		return dst, false, nil
	}
	if err := p.checkData(op, fin, payload, flags); err != nil {
		return dst, false, err
	}
	p.commitData(op, fin, flags)
	return AppendHeader(dst, Header{Fin: fin, Opcode: op, Length: int64(len(payload))}), true, nil
}

// SendingMessage reports whether a fragmented message is being sent: a
// frame of it went out and the final frame has not.
func (p *Protocol) SendingMessage() bool { return p.send.inMsg }

// AbandonMessage gives up the message being sent, because the caller
// cannot finish it (the next fragment failed to send, or is not valid
// text). When no frame of it went out, nothing is lost: the protocol is
// ready for a new message and AbandonMessage reports false. When frames
// went out, the peer waits for the rest, which will never come: the
// connection fails with 1011 and reason (the close frame is queued for
// TakeOutput, as with Fail) and AbandonMessage reports true. It reports
// false, and does nothing more, once the closing handshake has started
// or the connection has failed.
func (p *Protocol) AbandonMessage(reason string) bool {
	started := p.send.inMsg
	p.send = sendState{}
	if !started || !p.canSend() {
		return false
	}
	p.Fail(CloseInternalError, reason)
	return true
}

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
func (p *Protocol) canSend() bool {
	return p.state == StateOpen && (p.failure == nil || p.pendingClose != nil)
}

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

// checkControl applies the rules of a ping or pong to send.
func (p *Protocol) checkControl(payload []byte) error {
	if p.state != StateOpen && p.state != StateClosing || p.state == StateOpen && p.failure != nil {
		return ErrInvalidState
	}
	if len(payload) > MaxControlPayload {
		return sendError("control frame too long")
	}
	return nil
}

// AppendPing appends a ping frame. It is allowed while OPEN or CLOSING;
// a payload over 125 bytes is a *SendError.
func (p *Protocol) AppendPing(dst, payload []byte) ([]byte, error) {
	if err := p.checkControl(payload); err != nil {
		return dst, err
	}
	p.appendFrame(&dst, OpPing, true, 0, payload)
	return dst, nil
}

// AppendPong appends a pong frame. It is allowed while OPEN or CLOSING;
// a payload over 125 bytes is a *SendError.
func (p *Protocol) AppendPong(dst, payload []byte) ([]byte, error) {
	if err := p.checkControl(payload); err != nil {
		return dst, err
	}
	p.appendFrame(&dst, OpPong, true, 0, payload)
	return dst, nil
}

// AppendClose appends a close frame and moves to CLOSING. Code 1005 sends an
// empty payload. It is allowed once, while OPEN; a code or reason that
// cannot be sent (CloseFrame.Check) is a *SendError, and nothing is
// appended. While a close frame is pending (Config.DeferClose), it is
// appended instead of code and reason.
func (p *Protocol) AppendClose(dst []byte, code CloseCode, reason string) ([]byte, error) {
	if !p.canSend() {
		return dst, ErrInvalidState
	}
	cf := CloseFrame{Code: code, Reason: reason}
	if p.pendingClose != nil {
		cf = *p.pendingClose // the failure, or the echo of the peer's close
		p.pendingClose = nil
		if p.side == Server {
			p.closeOut = true // as Fail: no close frame is awaited
		}
	}
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
