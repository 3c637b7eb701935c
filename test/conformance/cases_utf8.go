package conformance

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/tetherws/tether/test/conformance/wire"
)

// Category 6: UTF-8 handling (Autobahn 6.1.1–6.23.7, from Markus Kuhn's
// UTF-8 decoder capability test), each sequence also sent in 1-octet
// fragments and in 1-octet chops, and two payloads split in two fragments
// at every byte.

// utf8FailPos returns -1 when b is valid UTF-8 (RFC 3629, Unicode Table
// 3-7), the offset of the first byte that no valid text can have at that
// place, or len(b) when b is a valid prefix that ends inside a sequence.
// It is the suite's own validator, written apart from tether's.
func utf8FailPos(b []byte) int {
	for i := 0; i < len(b); {
		c := b[i]
		need, lo, hi := 0, byte(0x80), byte(0xBF)
		switch {
		case c < 0x80:
			i++
			continue
		case c >= 0xC2 && c <= 0xDF:
			need = 1
		case c == 0xE0:
			need, lo = 2, 0xA0 // no overlong 3-byte forms
		case c >= 0xE1 && c <= 0xEC, c == 0xEE, c == 0xEF:
			need = 2
		case c == 0xED:
			need, hi = 2, 0x9F // no surrogates U+D800–U+DFFF
		case c == 0xF0:
			need, lo = 3, 0x90 // no overlong 4-byte forms
		case c >= 0xF1 && c <= 0xF3:
			need = 3
		case c == 0xF4:
			need, hi = 3, 0x8F // nothing above U+10FFFF
		default: // continuation bytes, C0, C1, F5–FF
			return i
		}
		for k := 1; k <= need; k++ {
			if i+k >= len(b) {
				return len(b)
			}
			if d := b[i+k]; d < lo || d > hi {
				return i + k
			}
			lo, hi = 0x80, 0xBF
		}
		i += need + 1
	}
	return -1
}

func unhex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

type seqGroup struct {
	id   string // "6.12"
	desc string
	seqs []string // hex
}

const kosme = "cebae1bdb9cf83cebcceb5" // κόσμε

func lonely(from, to int) string {
	var b strings.Builder
	for c := from; c <= to; c++ {
		fmt.Fprintf(&b, "%02x20", c)
	}
	return b.String()
}

func allContinuations() string {
	var b strings.Builder
	for c := 0x80; c <= 0xbf; c++ {
		fmt.Fprintf(&b, "%02x", c)
	}
	return b.String()
}

func nonCharacters() []string {
	out := []string{"efbfbe", "efbfbf"}
	for plane := 1; plane <= 16; plane++ {
		for _, low := range []rune{0xfffe, 0xffff} {
			out = append(out, hex.EncodeToString([]byte(string(rune(plane<<16)|low))))
		}
	}
	return append(out, "efb790", "efb7af") // U+FDD0, U+FDEF
}

func seqGroups() []seqGroup {
	prefixes := make([]string, 11)
	for i := range prefixes {
		prefixes[i] = kosme[:2*(i+1)]
	}
	return []seqGroup{
		{"6.5", "valid UTF-8", []string{kosme, "f48fbfbf", "48656c6c6fe4b896e7958c", "f09f9880", "c2a9e282ac"}},
		{"6.6", "a prefix of κόσμε", prefixes},
		{"6.7", "the first possible sequence of a length", []string{"00", "c280", "e0a080", "f0908080"}},
		{"6.8", "the first possible sequence of length 5 or 6", []string{"f888808080", "fc8480808080"}},
		{"6.9", "the last possible sequence of a length", []string{"7f", "dfbf", "efbfbf", "f48fbfbf"}},
		{"6.10", "the last possible sequence of length 4 to 6", []string{"f7bfbfbf", "fbbfbfbfbf", "fdbfbfbfbfbf"}},
		{"6.11", "a boundary condition", []string{"ed9fbf", "ee8080", "efbfbd", "f48fbfbf", "f4908080"}},
		{"6.12", "unexpected continuation bytes", []string{"80", "bf", "80bf", "80bf80", "80bf80bf", "80bf80bf80", "80bf80bf80bf", allContinuations()}},
		{"6.13", "lonely start characters", []string{lonely(0xc0, 0xdf), lonely(0xe0, 0xef), lonely(0xf0, 0xf7), lonely(0xf8, 0xfb), lonely(0xfc, 0xfd)}},
		{"6.14", "a sequence with its last continuation byte missing", []string{"c0", "e080", "f08080", "f8808080", "fc80808080", "df", "efbf", "f7bfbf", "fbbfbfbf", "fdbfbfbfbf"}},
		{"6.15", "the concatenation of incomplete sequences", []string{"c0e080f08080f8808080fc80808080dfefbff7bfbffbbfbfbffdbfbfbfbf"}},
		{"6.16", "impossible bytes", []string{"fe", "ff", "fefeffff"}},
		{"6.17", "an overlong ASCII character", []string{"c0af", "e080af", "f08080af", "f8808080af", "fc80808080af"}},
		{"6.18", "a maximum overlong sequence", []string{"c1bf", "e09fbf", "f08fbfbf", "f887bfbfbf", "fc83bfbfbfbf"}},
		{"6.19", "an overlong NUL", []string{"c080", "e08080", "f0808080", "f880808080", "fc8080808080"}},
		{"6.20", "a single UTF-16 surrogate", []string{"eda080", "edadbf", "edae80", "edafbf", "edb080", "edbe80", "edbfbf"}},
		{"6.21", "a paired UTF-16 surrogate", []string{"eda080edb080", "eda080edbfbf", "edadbfedb080", "edadbfedbfbf", "edae80edb080", "edae80edbfbf", "edafbfedb080", "edafbfedbfbf"}},
		{"6.22", "a noncharacter (valid)", nonCharacters()},
		{"6.23", "a Unicode special (valid)", []string{"efbfb9", "efbfba", "efbfbb", "efbfbc", "efbfbd", "efbfbe", "efbfbf"}},
	}
}

// utf8Mode is how a text payload is sent.
type utf8Mode int

const (
	oneFrame  utf8Mode = iota // one frame, one write
	octetFrag                 // one frame per octet
	octetChop                 // one frame, written an octet at a time
	splitTwo                  // two fragments, split at a given offset
)

// sendText sends payload as a text message in mode and checks the
// outcome: the echo when it is valid UTF-8, else a close with 1007 — before
// anything after the first invalid byte is sent, whenever the invalid byte
// arrives before the end of the message.
func sendText(p *Peer, payload []byte, mode utf8Mode, split int) error {
	var stream []byte
	var ends []int // ends[k]: bytes of stream that carry payload byte k
	chop := 0
	switch mode {
	case oneFrame, octetChop:
		stream = p.Encode(F(wire.OpText, payload))
		hdr := len(stream) - len(payload)
		for k := range payload {
			ends = append(ends, hdr+k+1)
		}
		if mode == octetChop {
			chop = 1
		}
	case octetFrag:
		for k := range payload {
			op := wire.OpCont
			if k == 0 {
				op = wire.OpText
			}
			stream = append(stream, p.Encode(Frag(op, payload[k:k+1], k == len(payload)-1))...)
			ends = append(ends, len(stream))
		}
	case splitTwo:
		first := p.Encode(Frag(wire.OpText, payload[:split], false))
		stream = append(first, p.Encode(Frag(wire.OpCont, payload[split:], true))...)
		for k := range payload {
			if k < split {
				ends = append(ends, len(first))
			} else {
				ends = append(ends, len(stream))
			}
		}
	}
	p.logf("> TEXT %x (mode %d)", payload, mode)
	pos := utf8FailPos(payload)
	if pos < 0 {
		if err := p.Write(stream, chop); err != nil {
			return err
		}
		return p.ExpectMessage(wire.OpText, payload)
	}
	if mode != oneFrame && pos < len(payload) {
		cut := ends[pos]
		if cut < len(stream) {
			if err := p.Write(stream[:cut], chop); err != nil {
				return err
			}
			return p.FailFast(1007, nil, stream[cut:], fmt.Sprintf("the invalid byte 0x%02x at offset %d", payload[pos], pos))
		}
	}
	if err := p.Write(stream, chop); err != nil && !isConnErr(err) {
		return err
	}
	return p.ExpectFail(1007)
}

func utf8Verdict(b []byte) string {
	switch pos := utf8FailPos(b); {
	case pos < 0:
		return "valid: echoed"
	case pos == len(b):
		return "invalid (truncated): fail with 1007"
	default:
		return fmt.Sprintf("invalid at offset %d: fail with 1007", pos)
	}
}

func utf8Cases(t *table) {
	t.add("6.1.1", "Send text message of length 0", func(p *Peer) error {
		return p.Echo(wire.OpText, nil, 0, 0)
	})
	t.add("6.1.2", "Send fragmented text message, 3 fragments each of length 0", func(p *Peer) error {
		if err := p.Send(ChopNone, Frag(wire.OpText, nil, false), Frag(wire.OpCont, nil, false), Frag(wire.OpCont, nil, true)); err != nil {
			return err
		}
		return p.ExpectMessage(wire.OpText, nil)
	})
	t.add("6.1.3", "Send fragmented text message, 3 fragments, first and last of length 0", func(p *Peer) error {
		mid := []byte("middle frame payload")
		if err := p.Send(ChopNone, Frag(wire.OpText, nil, false), Frag(wire.OpCont, mid, false), Frag(wire.OpCont, nil, true)); err != nil {
			return err
		}
		return p.ExpectMessage(wire.OpText, mid)
	})

	hello := []byte("Hello-µ@ßöäüàá-UTF-8!!")
	t.add("6.2.1", "Send valid UTF-8 text message in one fragment", func(p *Peer) error {
		return sendText(p, hello, oneFrame, 0)
	})
	t.add("6.2.2", "Send valid UTF-8 text message in 2 fragments, split on a code point boundary", func(p *Peer) error {
		return sendText(p, hello, splitTwo, strings.Index(string(hello), "ü"))
	})
	t.add("6.2.3", "Send valid UTF-8 text message in octet-wise chops", func(p *Peer) error {
		return sendText(p, hello, octetChop, 0)
	})
	t.add("6.2.4", "Send valid UTF-8 text message (κόσμε) in fragments of 1 octet, ending inside code points", func(p *Peer) error {
		return sendText(p, unhex(kosme), octetFrag, 0)
	})
	for n := 1; n < len(hello); n++ {
		t.add(fmt.Sprintf("6.2.5.%d", n), fmt.Sprintf("Send valid UTF-8 text message in 2 fragments split after octet %d", n), func(p *Peer) error {
			return sendText(p, hello, splitTwo, n)
		})
	}

	bad := unhex(kosme + "eda080" + "656469746564") // κόσμε, a surrogate, "edited"
	t.add("6.3.1", "Send invalid UTF-8 text message (a surrogate) in one fragment: fail with 1007", func(p *Peer) error {
		return sendText(p, bad, oneFrame, 0)
	})
	t.add("6.3.1-chop", "Send invalid UTF-8 text message (a surrogate) in one frame in octet-wise chops: fail with 1007 before the rest is sent", func(p *Peer) error {
		return sendText(p, bad, octetChop, 0)
	})
	t.add("6.3.2", "Send invalid UTF-8 text message (a surrogate) in fragments of 1 octet: fail with 1007 before the rest is sent", func(p *Peer) error {
		return sendText(p, bad, octetFrag, 0)
	})
	for n := 1; n < len(bad); n++ {
		t.add(fmt.Sprintf("6.3.3.%d", n), fmt.Sprintf("Send invalid UTF-8 text message (invalid at octet %d) in 2 fragments split after octet %d: fail with 1007 (fail fast)", utf8FailPos(bad), n), func(p *Peer) error {
			return sendText(p, bad, splitTwo, n)
		})
	}

	// 6.4: fail fast. Part 1 is valid; the invalid byte is in part 2; part 3
	// is only sent once the close frame has arrived.
	for i, parts := range [][3]string{
		{kosme, "f4908080", "656469746564"},      // U+110000
		{kosme + "f4", "90", "8080656469746564"}, // the same, invalid at its second byte
	} {
		p1, p2, p3 := unhex(parts[0]), unhex(parts[1]), unhex(parts[2])
		t.add(fmt.Sprintf("6.4.%d", i+1), fmt.Sprintf("Send text message in 3 fragments; fragment 2 (%s) makes it invalid: fail with 1007 before fragment 3 is sent", parts[1]), func(p *Peer) error {
			// Part 1 must be accepted: a ping after it is answered.
			if err := p.Send(ChopNone, Frag(wire.OpText, p1, false), F(wire.OpPing, []byte("part 1 sent"))); err != nil {
				return err
			}
			if err := p.ExpectPong([]byte("part 1 sent")); err != nil {
				return fmt.Errorf("after the valid fragment 1: %w", err)
			}
			p.logf("> CONT fin=0 %x", p2)
			first := p.Encode(Frag(wire.OpCont, p2, false))
			return p.FailFast(1007, first, p.Encode(Frag(wire.OpCont, p3, true)), "fragment 2")
		})
		t.add(fmt.Sprintf("6.4.%d", i+3), fmt.Sprintf("Send text message in one frame in 3 chops; chop 2 (%s) makes it invalid: fail with 1007 before chop 3 is sent", parts[1]), func(p *Peer) error {
			payload := append(append(append([]byte(nil), p1...), p2...), p3...)
			b := p.Encode(F(wire.OpText, payload))
			hdr := len(b) - len(payload)
			p.logf("> TEXT %x in 3 chops", payload)
			if err := p.Write(b[:hdr+len(p1)], 0); err != nil {
				return err
			}
			return p.FailFast(1007, b[hdr+len(p1):hdr+len(p1)+len(p2)], b[hdr+len(p1)+len(p2):], "chop 2")
		})
	}

	for _, g := range seqGroups() {
		for i, h := range g.seqs {
			b := unhex(h)
			id := fmt.Sprintf("%s.%d", g.id, i+1)
			shown := h
			if len(shown) > 24 {
				shown = shown[:24] + "…"
			}
			t.add(id, fmt.Sprintf("Send text message with %s (%s) in one fragment: %s", g.desc, shown, utf8Verdict(b)), func(p *Peer) error {
				return sendText(p, b, oneFrame, 0)
			})
			t.add(id+"-frag", fmt.Sprintf("Send text message with %s (%s) in fragments of 1 octet: %s", g.desc, shown, utf8Verdict(b)), func(p *Peer) error {
				return sendText(p, b, octetFrag, 0)
			})
			t.add(id+"-chop", fmt.Sprintf("Send text message with %s (%s) in one frame in octet-wise chops: %s", g.desc, shown, utf8Verdict(b)), func(p *Peer) error {
				return sendText(p, b, octetChop, 0)
			})
		}
	}
}
