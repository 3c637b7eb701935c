package conformance

import (
	"bytes"
	"fmt"

	"github.com/tetherws/tether/test/conformance/wire"
)

// Categories 1–5: framing, pings and pongs, reserved bits, opcodes and
// fragmentation (Autobahn 1.1.1–5.20).

func framingCases(t *table) {
	sizes := []int{0, 125, 126, 127, 128, 65535, 65536}
	for i, kind := range []struct {
		op   byte
		fill byte
		name string
	}{{wire.OpText, '*', "text"}, {wire.OpBinary, 0xfe, "binary"}} {
		for j, n := range sizes {
			data := bytes.Repeat([]byte{kind.fill}, n)
			t.add(fmt.Sprintf("1.%d.%d", i+1, j+1), fmt.Sprintf("Send %s message with payload length %d", kind.name, n),
				func(p *Peer) error { return p.Echo(kind.op, data, 0, 0) })
		}
		data := bytes.Repeat([]byte{kind.fill}, 65536)
		t.add(fmt.Sprintf("1.%d.8", i+1), fmt.Sprintf("Send %s message with payload length 65536, sent in chops of 997 octets", kind.name),
			func(p *Peer) error { return p.Echo(kind.op, data, 0, 997) })
	}

	// Beyond Autobahn: the masking and length encoding rules of RFC 6455 §5.1–5.2.
	c := t.add("1.3.1", "Send an unmasked text frame to the server: it must fail with 1002 (RFC 6455 §5.1)", func(p *Peer) error {
		b := wire.Append(nil, F(wire.OpText, []byte("unmasked")), false)
		p.logf("> TEXT unmasked")
		if err := p.Write(b, 0); err != nil {
			return err
		}
		return p.ExpectFail(1002)
	})
	c.Only = serverOnly
	c = t.add("1.3.2", "Send a masked text frame to the client: it must fail with 1002 (RFC 6455 §5.1)", func(p *Peer) error {
		b := wire.Append(nil, F(wire.OpText, []byte("masked")), true)
		p.logf("> TEXT masked")
		if err := p.Write(b, 0); err != nil {
			return err
		}
		return p.ExpectFail(1002)
	})
	c.Only = clientOnly
	t.add("1.3.3", "Send a frame whose 64-bit length has the most significant bit set: fail with 1002 (RFC 6455 §5.2)", func(p *Peer) error {
		b := []byte{0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 5}
		if p.rawMasks() {
			b[1] |= 0x80
			b = append(b, 1, 2, 3, 4)
		}
		p.logf("> BINARY with 64-bit length 0x80…")
		if err := p.Write(b, 0); err != nil {
			return err
		}
		return p.ExpectFail(1002)
	})
	t.add("1.3.4", "Send a 5-byte frame with its length in the 16-bit form: fail with 1002 (RFC 6455 §5.2: minimal encoding)", func(p *Peer) error {
		b := p.Encode(F(wire.OpBinary, []byte("hello")))
		// Re-encode the 7-bit length 5 as 126 + 00 05.
		nb := []byte{b[0], b[1]&0x80 | 126, 0, 5}
		nb = append(nb, b[2:]...)
		p.logf("> BINARY len=5 in 16-bit form")
		if err := p.Write(nb, 0); err != nil {
			return err
		}
		return p.ExpectFail(1002)
	})
}

func pingCases(t *table) {
	t.add("2.1", "Send ping without payload", func(p *Peer) error {
		if err := p.Send(ChopNone, F(wire.OpPing, nil)); err != nil {
			return err
		}
		return p.ExpectPong(nil)
	})
	small := []byte("Hello, world!")
	t.add("2.2", "Send ping with small text payload", func(p *Peer) error {
		if err := p.Send(ChopNone, F(wire.OpPing, small)); err != nil {
			return err
		}
		return p.ExpectPong(small)
	})
	bin := []byte{0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff}
	t.add("2.3", "Send ping with small binary (non UTF-8) payload", func(p *Peer) error {
		if err := p.Send(ChopNone, F(wire.OpPing, bin)); err != nil {
			return err
		}
		return p.ExpectPong(bin)
	})
	p125 := bytes.Repeat([]byte{0xfe}, 125)
	t.add("2.4", "Send ping with binary payload of 125 octets", func(p *Peer) error {
		if err := p.Send(ChopNone, F(wire.OpPing, p125)); err != nil {
			return err
		}
		return p.ExpectPong(p125)
	})
	t.add("2.5", "Send ping with binary payload of 126 octets: fail with 1002 (control frames carry at most 125)", func(p *Peer) error {
		return p.SendExpectFail(1002, ChopNone, F(wire.OpPing, bytes.Repeat([]byte{0xfe}, 126)))
	})
	t.add("2.6", "Send ping with binary payload of 125 octets, sent in octet-wise chops", func(p *Peer) error {
		if err := p.Send(1, F(wire.OpPing, p125)); err != nil {
			return err
		}
		return p.ExpectPong(p125)
	})
	t.add("2.7", "Send unsolicited pong without payload: nothing in return", func(p *Peer) error {
		return p.Send(ChopNone, F(wire.OpPong, nil)) // CloseNormally then requires the close echo first
	})
	t.add("2.8", "Send unsolicited pong with payload: nothing in return", func(p *Peer) error {
		return p.Send(ChopNone, F(wire.OpPong, []byte("unsolicited pong payload")))
	})
	t.add("2.9", "Send unsolicited pong with payload, then ping with payload: only the ping is answered", func(p *Peer) error {
		if err := p.Send(ChopNone, F(wire.OpPong, []byte("unsolicited pong payload")), F(wire.OpPing, []byte("ping payload"))); err != nil {
			return err
		}
		return p.ExpectPong([]byte("ping payload"))
	})
	tenPings := func(chop int) func(p *Peer) error {
		return func(p *Peer) error {
			var fs []wire.Frame
			for i := range 10 {
				fs = append(fs, F(wire.OpPing, fmt.Appendf(nil, "payload-%d", i)))
			}
			if err := p.Send(chop, fs...); err != nil {
				return err
			}
			return expectPongsFor(p, fs)
		}
	}
	t.add("2.10", "Send 10 pings with payload: pongs in order, the last ping answered (an endpoint may answer only the most recent ping, RFC 6455 §5.5.3)", tenPings(ChopNone))
	t.add("2.11", "Send 10 pings with payload, sent in octet-wise chops: pongs in order, the last ping answered (RFC 6455 §5.5.3)", tenPings(1))
}

// expectPongsFor reads the answers to pings sent back to back. RFC 6455
// §5.5.3 lets an endpoint that has not answered earlier pings yet answer
// only the most recent one, so each pong must answer a ping after the one
// the previous pong answered, and the last ping must be answered.
func expectPongsFor(p *Peer, pings []wire.Frame) error {
	next := 0 // the first ping a pong may still answer
	for next < len(pings) {
		f, err := p.ReadFrame()
		if err != nil || f.Opcode != wire.OpPong {
			return fmt.Errorf("want a pong for ping %d of %d or a later one, got %s", next+1, len(pings), describe(f, err))
		}
		if !f.Fin || f.Rsv != 0 {
			return fmt.Errorf("malformed pong: %v", f)
		}
		i := next
		for i < len(pings) && !bytes.Equal(pings[i].Payload, f.Payload) {
			i++
		}
		if i == len(pings) {
			return fmt.Errorf("pong payload %s answers none of pings %d to %d (a pong answers a ping once, in order)", short(f.Payload), next+1, len(pings))
		}
		next = i + 1
	}
	return nil
}

// helloThenFail sends a small text message and, back to back, the frames
// after it; it expects the echo, then the failure with 1002.
func helloThenFail(p *Peer, chop int, after ...wire.Frame) error {
	hello := []byte("Hello, world!")
	return p.MessageThenFail(1002, chop, wire.OpText, hello, []wire.Frame{F(wire.OpText, hello)}, after...)
}

func reservedCases(t *table) {
	t.add("3.1", "Send small text message with RSV = 1: fail with 1002", func(p *Peer) error {
		return p.SendExpectFail(1002, ChopNone, Rsv(F(wire.OpText, []byte("Hello, world!")), 1))
	})
	// Autobahn sends 3.2 in one write, 3.3 frame-wise, 3.4 octet-wise.
	for i, native := range []int{ChopNone, ChopFrame, 1} {
		rsv := byte(2 + i)
		t.addBackToBack(fmt.Sprintf("3.%d", 2+i), native, fmt.Sprintf("Send small text message, then again with RSV = %d, then ping", rsv),
			"the echo of the first, then fail with 1002, no pong", func(p *Peer, chop int) error {
				return helloThenFail(p, chop, Rsv(F(wire.OpText, []byte("Hello again!")), rsv), F(wire.OpPing, nil))
			})
	}
	t.add("3.5", "Send small binary message with RSV = 5: fail with 1002", func(p *Peer) error {
		return p.SendExpectFail(1002, ChopNone, Rsv(F(wire.OpBinary, []byte{0, 0xff, 0xfe}), 5))
	})
	t.add("3.6", "Send ping with RSV = 6: fail with 1002", func(p *Peer) error {
		return p.SendExpectFail(1002, ChopNone, Rsv(F(wire.OpPing, []byte("Hello, world!")), 6))
	})
	t.add("3.7", "Send close with RSV = 7: fail with 1002", func(p *Peer) error {
		return p.SendExpectFail(1002, ChopNone, Rsv(F(wire.OpClose, wire.ClosePayload(1000, "")), 7))
	})

	// Category 4: reserved opcodes.
	for i, op := range []byte{3, 4, 5, 6, 7, 11, 12, 13, 14, 15} {
		kind := "non-control"
		id := fmt.Sprintf("4.1.%d", i+1)
		if op >= 8 {
			kind = "control"
			id = fmt.Sprintf("4.2.%d", i-4)
		}
		var payload []byte
		if i%5 != 0 && i%5 != 2 {
			payload = []byte("reserved opcode payload")
		}
		if i%5 < 2 {
			t.add(id, fmt.Sprintf("Send frame with reserved %s opcode %d: fail with 1002", kind, op), func(p *Peer) error {
				return p.SendExpectFail(1002, ChopNone, F(op, payload))
			})
			continue
		}
		t.addBackToBack(id, ChopNone, fmt.Sprintf("Send small text message, then frame with reserved %s opcode %d, then ping", kind, op),
			"the echo, then fail with 1002, no pong", func(p *Peer, chop int) error {
				return helloThenFail(p, chop, F(op, payload), F(wire.OpPing, nil))
			})
	}
}

func fragmentCases(t *table) {
	f1, f2 := []byte("fragment1"), []byte("fragment2")
	for i, op := range []byte{wire.OpPing, wire.OpPong} {
		t.add(fmt.Sprintf("5.%d", i+1), fmt.Sprintf("Send %s in 2 fragments: fail with 1002 (control frames must not be fragmented)", wire.OpName(op)), func(p *Peer) error {
			return p.SendExpectFail(1002, ChopNone, Frag(op, f1, false), Frag(wire.OpCont, f2, true))
		})
	}
	chops := []struct {
		chop int
		desc string
	}{{ChopNone, ""}, {ChopFrame, ", in frame-wise chops"}, {1, ", in octet-wise chops"}}
	for i, c := range chops {
		t.add(fmt.Sprintf("5.%d", 3+i), "Send text message in 2 fragments"+c.desc, func(p *Peer) error {
			if err := p.Send(c.chop, Frag(wire.OpText, f1, false), Frag(wire.OpCont, f2, true)); err != nil {
				return err
			}
			return p.ExpectMessage(wire.OpText, []byte("fragment1fragment2"))
		})
	}
	for i, c := range chops {
		t.add(fmt.Sprintf("5.%d", 6+i), "Send text message in 2 fragments with a ping in between"+c.desc+": pong, then the echo", func(p *Peer) error {
			if err := p.Send(c.chop, Frag(wire.OpText, f1, false), F(wire.OpPing, []byte("ping payload")), Frag(wire.OpCont, f2, true)); err != nil {
				return err
			}
			if err := p.ExpectPong([]byte("ping payload")); err != nil {
				return err
			}
			return p.ExpectMessage(wire.OpText, []byte("fragment1fragment2"))
		})
	}
	for i, c := range chops {
		t.add(fmt.Sprintf("5.%d", 9+i), "Send continuation frame with FIN = 1 with nothing to continue, then a text message"+c.desc+": fail with 1002", func(p *Peer) error {
			return p.SendExpectFail(1002, c.chop, Frag(wire.OpCont, []byte("non-continuation payload"), true), F(wire.OpText, []byte("Hello, world!")))
		})
	}
	for i, c := range chops {
		t.add(fmt.Sprintf("5.%d", 12+i), "Send continuation frame with FIN = 0 with nothing to continue, then a text message"+c.desc+": fail with 1002", func(p *Peer) error {
			return p.SendExpectFail(1002, c.chop, Frag(wire.OpCont, []byte("non-continuation payload"), false), F(wire.OpText, []byte("Hello, world!")))
		})
	}
	t.addBackToBack("5.15", ChopNone, "Send text message in 2 fragments, then continuation frame with FIN = 0 with nothing to continue, then text message",
		"the echo of the first, then fail with 1002", func(p *Peer, chop int) error {
			return p.MessageThenFail(1002, chop, wire.OpText, []byte("fragment1fragment2"),
				[]wire.Frame{Frag(wire.OpText, f1, false), Frag(wire.OpCont, f2, true)},
				Frag(wire.OpCont, []byte("fragment3"), false), F(wire.OpText, []byte("fragment4")))
		})
	for i, fins := range [][2]bool{{false, true}, {true, false}} {
		t.add(fmt.Sprintf("5.%d", 16+i), fmt.Sprintf("Send twice: continuation FIN = %d, continuation FIN = %d, text message: fail with 1002", b2i(fins[0]), b2i(fins[1])), func(p *Peer) error {
			var fs []wire.Frame
			for range 2 {
				fs = append(fs, Frag(wire.OpCont, f1, fins[0]), Frag(wire.OpCont, f2, fins[1]), F(wire.OpText, []byte("fragment3")))
			}
			return p.SendExpectFail(1002, ChopNone, fs...)
		})
	}
	t.add("5.18", "Send text message in 2 fragments, both with the text opcode: fail with 1002", func(p *Peer) error {
		return p.SendExpectFail(1002, ChopNone, Frag(wire.OpText, f1, false), Frag(wire.OpText, f2, true))
	})
	for i, c := range []struct {
		chop int
		desc string
	}{{ChopNone, ""}, {ChopFrame, ", every frame in its own write"}} {
		t.add(fmt.Sprintf("5.%d", 19+i), "Send text message in 5 fragments with 2 pings in between, waiting for each pong before going on"+c.desc+": 2 pongs, then the echo", func(p *Peer) error {
			frag := func(n int) []byte { return fmt.Appendf(nil, "fragment%d", n) }
			if err := p.Send(c.chop, Frag(wire.OpText, frag(1), false), Frag(wire.OpCont, frag(2), false), F(wire.OpPing, []byte("pongme 1!"))); err != nil {
				return err
			}
			if err := p.ExpectPong([]byte("pongme 1!")); err != nil {
				return err
			}
			if err := p.Send(c.chop, Frag(wire.OpCont, frag(3), false), Frag(wire.OpCont, frag(4), false), F(wire.OpPing, []byte("pongme 2!"))); err != nil {
				return err
			}
			if err := p.ExpectPong([]byte("pongme 2!")); err != nil {
				return err
			}
			if err := p.Send(c.chop, Frag(wire.OpCont, frag(5), true)); err != nil {
				return err
			}
			return p.ExpectMessage(wire.OpText, []byte("fragment1fragment2fragment3fragment4fragment5"))
		})
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
