package ws

import "errors"

// The receive side of Protocol: parsing frames, the frame rules, and the
// closing handshake as the peer drives it.

// errFeedBusy is returned by Feed when the previous input is not consumed.
var errFeedBusy = errors.New("ws: Feed called before Next consumed the previous input")

// Feed gives the protocol bytes received from the peer. Call Next until it
// returns EventNone before calling Feed again. The protocol unmasks b in
// place and events may alias it, so the caller must not change b until then.
func (p *Protocol) Feed(b []byte) error {
	if len(p.in) != 0 {
		return errFeedBusy
	}
	if p.discard && !p.skim || p.eofRcvd {
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
	p.pendingClose = nil // nothing is sent after the end
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
			if p.skim && !p.eofRcvd {
				p.skimFrames()
			}
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
		return p.payloadEvent(chunk)
	}
}

// PayloadRemaining returns how many payload bytes of the current frame
// are still to come, when the protocol is in the middle of a data frame it
// delivers as it arrives (not a control frame, nor a frame an extension
// decodes) and has consumed all its input; otherwise 0. The caller may
// then read up to that many bytes from the transport straight into a
// buffer of its own and pass them to FeedPayload, which spares copying
// them out of a read buffer.
func (p *Protocol) PayloadRemaining() int64 {
	if !p.inFrame || p.whole || p.discard || p.eofRcvd || len(p.in) != 0 || len(p.carry) != 0 {
		return 0
	}
	return p.remaining
}

// MessageRemaining is PayloadRemaining when the current frame is the last
// of its message, so that the caller knows the size of the whole message
// from its first piece; otherwise 0.
func (p *Protocol) MessageRemaining() int64 {
	if !p.hdr.Fin {
		return 0
	}
	return p.PayloadRemaining()
}

// errNoPayloadDue is returned by FeedPayload called with more bytes than
// PayloadRemaining allows.
var errNoPayloadDue = errors.New("ws: FeedPayload with more bytes than PayloadRemaining")

// FeedPayload takes b, the next bytes of the current frame's payload as
// read from the transport, len(b) <= PayloadRemaining(): it unmasks them
// in place, checks them (UTF-8 for text) and returns their data event, as
// Next would after Feed (the event's Payload is b). After a failure of the
// connection (Fail, or FeedEOF) it ignores b and returns EventNone.
func (p *Protocol) FeedPayload(b []byte) (Event, error) {
	if p.discard || p.eofRcvd {
		return Event{}, nil
	}
	if rem := p.PayloadRemaining(); int64(len(b)) > rem || len(b) == 0 {
		return Event{}, errNoPayloadDue
	}
	return p.payloadEvent(b)
}

// payloadEvent consumes b, the next payload bytes of the current frame.
func (p *Protocol) payloadEvent(b []byte) (Event, error) {
	p.remaining -= int64(len(b))
	if p.hdr.Masked {
		p.maskPos = Mask(p.hdr.Mask, p.maskPos, b)
	}
	fin := p.remaining == 0 && p.hdr.Fin
	if p.remaining == 0 {
		p.inFrame = false
	}
	p.msgSize += int64(len(b))
	return p.dataEvent(b, fin)
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
		p.msgEmpty = 0
	}
	if h.Length == 0 && !h.Fin {
		if p.msgEmpty++; p.msgEmpty > maxEmptyFragments {
			return false, p.fail(ClosePolicyViolation, "too many empty fragments")
		}
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
	return p.fail(CloseMessageTooBig, p.overLimit("frame with "+itoa(n)+" bytes"))
}

// overLimit is the reason of a 1009 for what went over the size limit:
// the limit itself (MaxMessageSize, or MaxFrameSize when smaller), never
// the part of it the message had left, with what the message had used.
func (p *Protocol) overLimit(what string) string {
	limit := p.maxMsg
	if f := p.cfg.MaxFrameSize; f > 0 && (limit < 0 || f < limit) {
		limit = f
	}
	if p.msgSize > 0 {
		return what + " after reading " + itoa(p.msgSize) + " bytes exceeds limit of " + itoa(limit) + " bytes"
	}
	return what + " exceeds limit of " + itoa(limit) + " bytes"
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
				if pe.Code == CloseMessageTooBig {
					// The extension knows the budget it was given,
					// not the limit: the reason names the limit.
					return Event{}, false, p.fail(pe.Code, p.overLimit("decoded frame"))
				}
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

// maxEmptyFragments bounds the empty non-final frames of one message; one
// more fails the connection with 1008. The size limit bounds every other
// way of prolonging a message (each frame adds at least a byte), but not
// this one: without it a peer could keep one message open forever with
// empty fragments. Real senders send a few at most.
const maxEmptyFragments = 1024

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
	switch {
	case p.state == StateOpen && p.cfg.DeferClose:
		reply := cf // echoed when the caller sends it
		p.pendingClose = &reply
	case p.state == StateOpen:
		// Echo the peer's payload as it was received.
		p.appendFrame(&p.output, OpClose, true, 0, payload)
		sent := cf
		p.closeSent = &sent
		p.rcvdThenSent = true
		p.state = StateClosing
	}
	if p.side == Server && p.pendingClose == nil {
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
	p.violated = true
	err := &ProtocolError{Code: code, Msg: reason}
	if code == CloseInternalError {
		err.Msg = "internal error"
		reason = "" // details could be sensitive
	}
	if p.cfg.DeferClose && p.state == StateOpen && p.failure == nil {
		cf := failureFrame(code, reason)
		p.pendingClose = &cf
		p.failure = err
		p.discard = true
		p.in = nil
		return err
	}
	p.Fail(code, reason)
	p.failure = err
	return err
}

// SendPendingClose queues the close frame deferred by Config.DeferClose
// for TakeOutput, as Fail would but recording no failure of its own, and
// reports whether there was one.
func (p *Protocol) SendPendingClose() bool {
	if p.pendingClose == nil || p.state != StateOpen {
		return false
	}
	p.queueClose(*p.pendingClose)
	p.pendingClose = nil
	if p.side == Server {
		p.closeOut = true // no close frame is awaited
	}
	return true
}

// queueClose queues close frame cf, sent from the OPEN state.
func (p *Protocol) queueClose(cf CloseFrame) {
	payload, _ := AppendClosePayload(nil, cf)
	p.appendFrame(&p.output, OpClose, true, 0, payload)
	p.closeSent = &cf
	if p.closeRcvd != nil {
		p.rcvdThenSent = true
	}
	p.state = StateClosing
}

// failureFrame is the close frame that fails a connection with code and
// reason: the reason is dropped, then the code replaced by 1011, when they
// cannot be sent.
func failureFrame(code CloseCode, reason string) CloseFrame {
	cf := CloseFrame{Code: code, Reason: reason}
	if cf.Check() != nil {
		cf = CloseFrame{Code: code}
		if cf.Check() != nil {
			cf = CloseFrame{Code: CloseInternalError}
		}
	}
	return cf
}

// Fail fails the connection from the runtime's side (a keepalive timeout,
// invalid data found above the protocol): unless a close frame was already
// sent, it queues one with code and reason. Input is ignored from then on.
// Code 1006 (the transport failed) sends nothing, and no frame may be sent
// afterwards. When a close frame is pending (Config.DeferClose), it is
// the one queued, whatever code and reason are given: the peer hears of
// the first failure, or gets its close echoed.
func (p *Protocol) Fail(code CloseCode, reason string) {
	if p.state == StateOpen && code != CloseAbnormal {
		cf := failureFrame(code, reason)
		if p.pendingClose != nil {
			cf = *p.pendingClose
		}
		p.queueClose(cf)
	}
	p.pendingClose = nil
	if p.failure == nil {
		p.failure = &ProtocolError{Code: code, Msg: reason}
	}
	p.discard = true
	p.in = nil
	// Without a violation the frames are still in step: walk them to
	// record the peer's close frame (skimFrames).
	p.skim = !p.violated && p.closeRcvd == nil && !p.eofRcvd && !(p.inFrame && p.whole && len(p.carry) > 0)
	if p.side == Server {
		p.closeOut = true
	}
}
