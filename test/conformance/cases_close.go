package conformance

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/tetherws/tether/test/conformance/wire"
)

// Category 7: close handling (Autobahn 7.1.1–7.13.2). Valid codes are
// those tether documents (ws.CloseCode.ValidOnWire): 1000–1003, 1007–1014
// and 3000–4999; they are echoed. Any other code fails with 1002.

// validCloseCodes are echoed. 1012–1014 are registered with IANA since
// RFC 6455 and valid in tether (older Autobahn versions reject them).
var validCloseCodes = []int{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999, 1012, 1013, 1014}

var invalidCloseCodes = []int{0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999}

func closeFrame(code int, reason string) wire.Frame {
	return F(wire.OpClose, wire.ClosePayload(code, reason))
}

// closeAndFinish expects the echo of a close with one of codes, then the
// end of the TCP connection.
func closeAndFinish(p *Peer, codes ...int) error {
	if _, err := p.ExpectClose(codes...); err != nil {
		return err
	}
	return p.Finish()
}

// messageThenClose sends a text message, a close frame with 1000 and the
// frames after it back to back, and expects the echo, then the close 1000
// and the end of the TCP connection: the message came before the close,
// so its echo is owed (RFC 6455 §5.5.1 lets an endpoint finish sending its
// current message before it answers a close).
func messageThenClose(p *Peer, chop int, data []byte, after ...wire.Frame) error {
	frames := append([]wire.Frame{F(wire.OpText, data), closeFrame(1000, "")}, after...)
	if err := p.Send(chop, frames...); err != nil {
		return err
	}
	if err := p.ExpectMessage(wire.OpText, data); err != nil {
		return fmt.Errorf("the message sent before the close is owed its echo: %w", err)
	}
	return closeAndFinish(p, 1000)
}

func closeCases(t *table) {
	hello := []byte("Hello World!")
	t.addBackToBack("7.1.1", ChopNone, "Send a text message, then a close frame", "the echo, then close 1000", func(p *Peer, chop int) error {
		return messageThenClose(p, chop, hello)
	})
	t.add("7.1.2", "Send two close frames: one close 1000 in return", func(p *Peer) error {
		if err := p.Send(ChopNone, closeFrame(1000, ""), closeFrame(1000, "")); err != nil {
			return err
		}
		return closeAndFinish(p, 1000)
	})
	t.add("7.1.3", "Send a ping after the close frame: no pong", func(p *Peer) error {
		if err := p.Send(ChopNone, closeFrame(1000, ""), F(wire.OpPing, []byte("ping after close"))); err != nil {
			return err
		}
		return closeAndFinish(p, 1000)
	})
	t.add("7.1.4", "Send a text message after the close frame: not echoed", func(p *Peer) error {
		if err := p.Send(ChopNone, closeFrame(1000, ""), F(wire.OpText, hello)); err != nil {
			return err
		}
		return closeAndFinish(p, 1000)
	})
	t.add("7.1.5", "Send message fragment 1, then a close frame, then fragment 2: close 1000 echoed, not 1002", func(p *Peer) error {
		if err := p.Send(ChopNone, Frag(wire.OpText, []byte("fragment1"), false), closeFrame(1000, ""), Frag(wire.OpCont, []byte("fragment2"), true)); err != nil {
			return err
		}
		return closeAndFinish(p, 1000)
	})
	big := bytes.Repeat([]byte("BAsd7&jh23"), 256<<10/10)
	t.addBackToBack("7.1.6", ChopNone, "Send a 256 KiB text message, a close frame and a ping", "the whole echo, then close 1000, no pong", func(p *Peer, chop int) error {
		return messageThenClose(p, chop, big, F(wire.OpPing, []byte("ping after close")))
	})

	t.add("7.3.1", "Send close with payload length 0: an empty close or 1000 in return", func(p *Peer) error {
		if err := p.Send(ChopNone, F(wire.OpClose, nil)); err != nil {
			return err
		}
		return closeAndFinish(p, 0, 1000)
	})
	t.add("7.3.2", "Send close with payload length 1: fail with 1002", func(p *Peer) error {
		return p.SendExpectFail(1002, ChopNone, F(wire.OpClose, []byte{0x03}))
	})
	t.add("7.3.3", "Send close with payload length 2 (code 1000, no reason)", func(p *Peer) error {
		if err := p.Send(ChopNone, closeFrame(1000, "")); err != nil {
			return err
		}
		return closeAndFinish(p, 1000)
	})
	t.add("7.3.4", "Send close with code 1000 and a reason", func(p *Peer) error {
		if err := p.Send(ChopNone, closeFrame(1000, "Hello World!")); err != nil {
			return err
		}
		return closeAndFinish(p, 1000)
	})
	t.add("7.3.5", "Send close with code 1000 and a 123-octet reason (payload 125)", func(p *Peer) error {
		if err := p.Send(ChopNone, closeFrame(1000, strings.Repeat("*", 123))); err != nil {
			return err
		}
		return closeAndFinish(p, 1000)
	})
	t.add("7.3.6", "Send close with code 1000 and a 124-octet reason (payload 126): fail with 1002", func(p *Peer) error {
		return p.SendExpectFail(1002, ChopNone, closeFrame(1000, strings.Repeat("*", 124)))
	})
	t.add("7.5.1", "Send close with a reason that is invalid UTF-8 (a surrogate): fail with 1007", func(p *Peer) error {
		return p.SendExpectFail(1007, ChopNone, closeFrame(1000, string(unhex(kosme+"eda080656469746564"))))
	})
	t.add("7.5.2", "Send close with a reason that ends inside a UTF-8 sequence: fail with 1007", func(p *Peer) error {
		return p.SendExpectFail(1007, ChopNone, closeFrame(1000, string(unhex(kosme+"e282"))))
	})
	for i, code := range validCloseCodes {
		t.add(fmt.Sprintf("7.7.%d", i+1), fmt.Sprintf("Send close with valid code %d: %d echoed", code, code), func(p *Peer) error {
			if err := p.Send(ChopNone, closeFrame(code, "")); err != nil {
				return err
			}
			return closeAndFinish(p, code)
		})
	}
	for i, code := range invalidCloseCodes {
		t.add(fmt.Sprintf("7.9.%d", i+1), fmt.Sprintf("Send close with invalid code %d: fail with 1002", code), func(p *Peer) error {
			return p.SendExpectFail(1002, ChopNone, F(wire.OpClose, []byte{byte(code >> 8), byte(code)}))
		})
	}
	for i, code := range []int{5000, 65535} {
		t.add(fmt.Sprintf("7.13.%d", i+1), fmt.Sprintf("Send close with code %d, above the registered ranges: fail with 1002", code), func(p *Peer) error {
			return p.SendExpectFail(1002, ChopNone, F(wire.OpClose, []byte{byte(code >> 8), byte(code)}))
		})
	}
}
