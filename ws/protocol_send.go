package ws

import (
	crand "crypto/rand"
	"math/rand/v2"
)

// The send side of Protocol: frames the application asks to send, and the
// frames the protocol queues on its own.

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
