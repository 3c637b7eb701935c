package ws

import "bytes"

// skimFrames walks the frames that arrive after the runtime failed the
// connection (Fail: a keepalive timeout, invalid data found above the
// protocol). Nothing in them is processed — no event, no pong, no echo,
// as RFC 6455 §7.1.7 asks — but the peer's answering close frame is
// recorded, so that CloseError says what the peer sent. A header that does
// not parse, or the close frame itself, ends the walk: the rest is
// discarded as before. After a violation by the peer the frames may be
// out of step and are never walked.
func (p *Protocol) skimFrames() {
	for p.skim {
		if p.inFrame {
			if p.hdr.Opcode == OpClose {
				p.skimClose()
				return
			}
			n := int(min(p.remaining, int64(len(p.in))))
			p.in = p.in[n:]
			p.remaining -= int64(n)
			if p.remaining > 0 {
				return
			}
			p.inFrame = false
			continue
		}
		if len(p.in) == 0 && len(p.carry) == 0 {
			return
		}
		b, ok := p.peek(2)
		if !ok {
			return
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
		if b, ok = p.peek(size); !ok {
			return
		}
		h, n, err := ParseHeader(b)
		if err != nil || h.Opcode == OpClose && h.Length > MaxControlPayload {
			p.skim = false
			return
		}
		p.consume(n)
		p.hdr, p.remaining, p.inFrame, p.whole = h, h.Length, true, false
	}
}

// skimClose records the close frame being skimmed once it is whole, and
// ends the walk.
func (p *Protocol) skimClose() {
	b, ok := p.peek(int(p.remaining))
	if !ok {
		return // the rest comes with the next Feed
	}
	payload := bytes.Clone(b)
	p.consume(len(b))
	if p.hdr.Masked {
		Mask(p.hdr.Mask, 0, payload)
	}
	if cf, err := ParseClosePayload(payload); err == nil && p.closeRcvd == nil {
		p.closeRcvd = &cf
	}
	p.skim, p.inFrame = false, false
}
