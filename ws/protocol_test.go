package ws

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

var testKey = [4]byte{0x11, 0x22, 0x33, 0x44}

// fr is a frame to put on the wire in tests.
type fr struct {
	op      Opcode
	fin     bool
	rsv     byte
	payload []byte
}

func txt(s string) fr             { return fr{op: OpText, fin: true, payload: []byte(s)} }
func bin(s string) fr             { return fr{op: OpBinary, fin: true, payload: []byte(s)} }
func frag(op Opcode, s string) fr { return fr{op: op, payload: []byte(s)} }
func cont(s string, fin bool) fr  { return fr{op: OpContinuation, fin: fin, payload: []byte(s)} }
func ctl(op Opcode, p []byte) fr  { return fr{op: op, fin: true, payload: p} }

// wire encodes frames, masked with testKey when masked is set.
func wire(masked bool, frames ...fr) []byte {
	var b []byte
	for _, f := range frames {
		h := Header{Fin: f.fin, Rsv: f.rsv, Opcode: f.op, Length: int64(len(f.payload)), Masked: masked, Mask: testKey}
		b = AppendHeader(b, h)
		start := len(b)
		b = append(b, f.payload...)
		if masked {
			Mask(testKey, 0, b[start:])
		}
	}
	return b
}

// from returns frames as the peer of side sends them: masked for a server.
func from(side Side, frames ...fr) []byte { return wire(side == Server, frames...) }

// parsedFrame is a frame read back from a protocol's output.
type parsedFrame struct {
	Header
	payload []byte
}

// parseFrames decodes every frame of b, unmasking payloads. It fails the
// test on a partial or malformed frame.
func parseFrames(t testing.TB, b []byte) []parsedFrame {
	t.Helper()
	var out []parsedFrame
	b = bytes.Clone(b)
	for len(b) > 0 {
		h, n, err := ParseHeader(b)
		if err != nil || int64(len(b)-n) < h.Length {
			t.Fatalf("bad output frame % x: %v", b, err)
		}
		p := b[n : n+int(h.Length)]
		if h.Masked {
			Mask(h.Mask, 0, p)
		}
		out = append(out, parsedFrame{h, p})
		b = b[n+int(h.Length):]
	}
	return out
}

// feed gives the protocol a copy of each chunk in turn and collects every
// event, with payloads copied. It stops at the first error.
func feed(t testing.TB, p *Protocol, chunks ...[]byte) ([]Event, error) {
	t.Helper()
	var evs []Event
	for _, c := range chunks {
		if err := p.Feed(bytes.Clone(c)); err != nil {
			t.Fatalf("Feed: %v", err)
		}
		for {
			ev, err := p.Next()
			if err != nil {
				return evs, err
			}
			if ev.Kind == EventNone {
				break
			}
			ev.Payload = bytes.Clone(ev.Payload)
			evs = append(evs, ev)
		}
	}
	return evs, nil
}

// bytewise splits b into one-byte chunks.
func bytewise(b []byte) [][]byte {
	var out [][]byte
	for i := range b {
		out = append(out, b[i:i+1])
	}
	return out
}

// summary turns events into a readable, split-independent form: data pieces
// are joined per message and control events listed in order.
func summary(t testing.TB, evs []Event) []string {
	t.Helper()
	var out []string
	var msg []byte
	inMsg := false
	var op Opcode
	for _, ev := range evs {
		switch ev.Kind {
		case EventData:
			if ev.First == inMsg {
				t.Fatalf("First = %v inside message = %v", ev.First, inMsg)
			}
			if ev.First {
				op, msg, inMsg = ev.Opcode, nil, true
			} else if ev.Opcode != op {
				t.Fatalf("piece opcode %v in a %v message", ev.Opcode, op)
			}
			msg = append(msg, ev.Payload...)
			if ev.Fin {
				out = append(out, fmt.Sprintf("%v %q", op, msg))
				inMsg = false
			}
		case EventClose:
			out = append(out, "close "+ev.Close.String())
		default:
			out = append(out, fmt.Sprintf("%v %q", ev.Kind, ev.Payload))
		}
	}
	if inMsg {
		out = append(out, fmt.Sprintf("%v %q...", op, msg))
	}
	return out
}

var sides = []Side{Client, Server}

func TestProtocolReceivesMessages(t *testing.T) {
	ping := ctl(OpPing, []byte("p"))
	tests := []struct {
		name   string
		frames []fr
		pieces []Event // exact events when fed at once (payload as string compare)
	}{
		{"text", []fr{txt("héllo")}, []Event{{Kind: EventData, Opcode: OpText, First: true, Fin: true, Payload: []byte("héllo")}}},
		{"binary", []fr{bin("\x00\xff")}, []Event{{Kind: EventData, Opcode: OpBinary, First: true, Fin: true, Payload: []byte("\x00\xff")}}},
		{"empty text", []fr{txt("")}, []Event{{Kind: EventData, Opcode: OpText, First: true, Fin: true, Payload: []byte{}}}},
		{"empty binary", []fr{bin("")}, []Event{{Kind: EventData, Opcode: OpBinary, First: true, Fin: true, Payload: []byte{}}}},
		{"fragmented text", []fr{frag(OpText, "ab"), cont("cd", false), cont("ef", true)}, []Event{
			{Kind: EventData, Opcode: OpText, First: true, Payload: []byte("ab")},
			{Kind: EventData, Opcode: OpText, Payload: []byte("cd")},
			{Kind: EventData, Opcode: OpText, Fin: true, Payload: []byte("ef")},
		}},
		{"fragmented binary with empty fragments", []fr{frag(OpBinary, ""), cont("", false), cont("x", false), cont("", true)}, []Event{
			{Kind: EventData, Opcode: OpBinary, First: true, Payload: []byte{}},
			{Kind: EventData, Opcode: OpBinary, Payload: []byte{}},
			{Kind: EventData, Opcode: OpBinary, Payload: []byte("x")},
			{Kind: EventData, Opcode: OpBinary, Fin: true, Payload: []byte{}},
		}},
		{"code point split between fragments", []fr{frag(OpText, "\xe2"), cont("\x82", false), cont("\xac!", true)}, []Event{
			{Kind: EventData, Opcode: OpText, First: true, Payload: []byte("\xe2")},
			{Kind: EventData, Opcode: OpText, Payload: []byte("\x82")},
			{Kind: EventData, Opcode: OpText, Fin: true, Payload: []byte("\xac!")},
		}},
		{"control frames between fragments", []fr{frag(OpText, "a"), ping, cont("b", false), ctl(OpPong, []byte("q")), cont("c", true)}, []Event{
			{Kind: EventData, Opcode: OpText, First: true, Payload: []byte("a")},
			{Kind: EventPing, Payload: []byte("p")},
			{Kind: EventData, Opcode: OpText, Payload: []byte("b")},
			{Kind: EventPong, Payload: []byte("q")},
			{Kind: EventData, Opcode: OpText, Fin: true, Payload: []byte("c")},
		}},
		{"several messages", []fr{txt("1"), bin("2"), frag(OpBinary, "3"), cont("4", true), txt("5")}, []Event{
			{Kind: EventData, Opcode: OpText, First: true, Fin: true, Payload: []byte("1")},
			{Kind: EventData, Opcode: OpBinary, First: true, Fin: true, Payload: []byte("2")},
			{Kind: EventData, Opcode: OpBinary, First: true, Payload: []byte("3")},
			{Kind: EventData, Opcode: OpBinary, Fin: true, Payload: []byte("4")},
			{Kind: EventData, Opcode: OpText, First: true, Fin: true, Payload: []byte("5")},
		}},
		{"16-bit length", []fr{bin(strings.Repeat("x", 300))}, []Event{{Kind: EventData, Opcode: OpBinary, First: true, Fin: true, Payload: []byte(strings.Repeat("x", 300))}}},
		{"64-bit length", []fr{txt(strings.Repeat("y", 70000))}, []Event{{Kind: EventData, Opcode: OpText, First: true, Fin: true, Payload: []byte(strings.Repeat("y", 70000))}}},
		{"ping, pong, empty ping", []fr{ping, ctl(OpPong, nil), ctl(OpPing, nil)}, []Event{
			{Kind: EventPing, Payload: []byte("p")}, {Kind: EventPong, Payload: []byte{}}, {Kind: EventPing, Payload: []byte{}},
		}},
	}
	for _, side := range sides {
		for _, tt := range tests {
			t.Run(side.String()+"/"+tt.name, func(t *testing.T) {
				in := from(side, tt.frames...)
				p := NewProtocol(side, Config{})
				evs, err := feed(t, p, in)
				if err != nil {
					t.Fatal(err)
				}
				if len(evs) != len(tt.pieces) {
					t.Fatalf("%d events, want %d: %+v", len(evs), len(tt.pieces), evs)
				}
				for i, ev := range evs {
					w := tt.pieces[i]
					if ev.Kind != w.Kind || ev.Opcode != w.Opcode || ev.First != w.First || ev.Fin != w.Fin || !bytes.Equal(ev.Payload, w.Payload) {
						t.Fatalf("event %d = %+v, want %+v", i, ev, w)
					}
				}
				want := summary(t, evs)
				// Split at every byte boundary: the same messages come out.
				if len(in) < 1000 {
					for cut := 0; cut <= len(in); cut++ {
						p := NewProtocol(side, Config{})
						evs, err := feed(t, p, in[:cut], in[cut:])
						if err != nil {
							t.Fatalf("cut %d: %v", cut, err)
						}
						if got := summary(t, evs); fmt.Sprint(got) != fmt.Sprint(want) {
							t.Fatalf("cut %d: %q, want %q", cut, got, want)
						}
					}
				}
				p = NewProtocol(side, Config{})
				evs, err = feed(t, p, bytewise(in)...)
				if err != nil {
					t.Fatal(err)
				}
				if got := summary(t, evs); fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("byte by byte: %q, want %q", got, want)
				}
				if p.State() != StateOpen || p.Failure() != nil {
					t.Fatalf("state %v failure %v", p.State(), p.Failure())
				}
			})
		}
	}
}

func TestProtocolStreamsLargeFramesWithoutCopying(t *testing.T) {
	p := NewProtocol(Client, Config{})
	payload := bytes.Repeat([]byte("z"), 100000)
	in := from(Client, bin(string(payload)))
	hdrLen := HeaderSize(int64(len(payload)), false)
	// Header and the first 10 bytes, then the rest in pieces.
	evs, err := feed(t, p, in[:hdrLen+10])
	if err != nil || len(evs) != 1 || !evs[0].First || evs[0].Fin || len(evs[0].Payload) != 10 {
		t.Fatalf("first piece: %+v %v", evs, err)
	}
	rest := in[hdrLen+10:]
	if err := p.Feed(rest); err != nil {
		t.Fatal(err)
	}
	ev, err := p.Next()
	if err != nil || !ev.Fin || ev.First || len(ev.Payload) != len(rest) || &ev.Payload[0] != &rest[0] {
		t.Fatalf("second piece does not alias the input: %v", err)
	}
	if p.carry != nil && cap(p.carry) > MaxHeaderSize {
		t.Fatalf("carry grew to %d", cap(p.carry))
	}
}

func TestProtocolAnswersPingWithPong(t *testing.T) {
	for _, payload := range [][]byte{nil, []byte("hello"), bytes.Repeat([]byte{0xab}, 125)} {
		// Server: an unmasked pong, byte for byte.
		s := NewProtocol(Server, Config{})
		if s.HasOutput() {
			t.Fatal("output before anything happened")
		}
		evs, err := feed(t, s, from(Server, ctl(OpPing, payload)))
		if err != nil || len(evs) != 1 || evs[0].Kind != EventPing || !bytes.Equal(evs[0].Payload, payload) {
			t.Fatalf("events %+v %v", evs, err)
		}
		if !s.HasOutput() {
			t.Fatal("no pong queued")
		}
		want := append([]byte{0x8a, byte(len(payload))}, payload...)
		if got := s.TakeOutput(nil); !bytes.Equal(got, want) {
			t.Fatalf("server pong % x, want % x", got, want)
		}
		if s.HasOutput() || len(s.TakeOutput(nil)) != 0 {
			t.Fatal("TakeOutput did not forget the pong")
		}

		// Client: a masked pong with the same payload.
		c := NewProtocol(Client, Config{})
		if _, err := feed(t, c, from(Client, ctl(OpPing, payload))); err != nil {
			t.Fatal(err)
		}
		out := c.TakeOutput([]byte("prefix"))
		if string(out[:6]) != "prefix" {
			t.Fatal("TakeOutput overwrote dst")
		}
		frames := parseFrames(t, out[6:])
		if len(frames) != 1 || frames[0].Opcode != OpPong || !frames[0].Fin || !frames[0].Masked || frames[0].Rsv != 0 || !bytes.Equal(frames[0].payload, payload) {
			t.Fatalf("client pong %+v", frames)
		}
		if len(out[6:]) != HeaderSize(int64(len(payload)), true)+len(payload) {
			t.Fatalf("client pong is %d bytes", len(out)-6)
		}
	}
}

func TestProtocolAnswersPingBetweenFragmentsAtOnce(t *testing.T) {
	s := NewProtocol(Server, Config{})
	evs, err := feed(t, s, from(Server, frag(OpText, "a"), ctl(OpPing, []byte("x"))))
	if err != nil || len(evs) != 2 {
		t.Fatalf("%+v %v", evs, err)
	}
	if got := s.TakeOutput(nil); !bytes.Equal(got, []byte{0x8a, 1, 'x'}) {
		t.Fatalf("pong % x", got)
	}
}

func TestProtocolPongProducesNoOutput(t *testing.T) {
	for _, side := range sides {
		p := NewProtocol(side, Config{})
		evs, err := feed(t, p, from(side, ctl(OpPong, []byte("data"))))
		if err != nil || len(evs) != 1 || evs[0].Kind != EventPong || string(evs[0].Payload) != "data" || p.HasOutput() {
			t.Fatalf("%v: %+v %v output %v", side, evs, err, p.HasOutput())
		}
	}
}

func TestProtocolEchoesCloseWhileOpen(t *testing.T) {
	tests := []struct {
		name    string
		payload []byte
		want    CloseFrame
	}{
		{"empty payload", nil, CloseFrame{Code: CloseNoStatus}},
		{"code only", []byte{0x03, 0xe8}, CloseFrame{Code: 1000}},
		{"code and reason", []byte("\x03\xe9going"), CloseFrame{Code: 1001, Reason: "going"}},
		{"private code", []byte("\x0f\xa0\xc3\xa9"), CloseFrame{Code: 4000, Reason: "é"}},
		{"123-byte reason", append([]byte{0x03, 0xe8}, strings.Repeat("r", 123)...), CloseFrame{Code: 1000, Reason: strings.Repeat("r", 123)}},
	}
	for _, side := range sides {
		for _, tt := range tests {
			t.Run(side.String()+"/"+tt.name, func(t *testing.T) {
				p := NewProtocol(side, Config{})
				// A data frame after the close is discarded.
				evs, err := feed(t, p, from(side, ctl(OpClose, tt.payload), txt("late")), from(side, txt("later")))
				if err != nil {
					t.Fatal(err)
				}
				if len(evs) != 1 || evs[0].Kind != EventClose || evs[0].Close != tt.want {
					t.Fatalf("events %+v", evs)
				}
				out := parseFrames(t, p.TakeOutput(nil))
				if len(out) != 1 || out[0].Opcode != OpClose || !out[0].Fin || out[0].Masked != (side == Client) {
					t.Fatalf("output %+v", out)
				}
				if !bytes.Equal(out[0].payload, tt.payload) {
					t.Fatalf("echo % x, want exact payload % x", out[0].payload, tt.payload)
				}
				if p.State() != StateClosing || !p.CloseExpected() {
					t.Fatalf("state %v", p.State())
				}
				if *p.CloseRcvd() != tt.want || *p.CloseSent() != tt.want {
					t.Fatalf("rcvd %v sent %v", p.CloseRcvd(), p.CloseSent())
				}
				if p.CloseTransport() != (side == Server) {
					t.Fatalf("CloseTransport = %v", p.CloseTransport())
				}
				// Nothing may be sent but control frames.
				if _, err := p.AppendData(nil, OpText, true, nil, false); !errors.Is(err, ErrInvalidState) {
					t.Fatalf("AppendData after close: %v", err)
				}
				if _, err := p.AppendClose(nil, CloseNormal, ""); !errors.Is(err, ErrInvalidState) {
					t.Fatalf("AppendClose after close: %v", err)
				}
				p.FeedEOF()
				ce := p.CloseError(nil)
				wantStr := "received " + tt.want.String() + "; then sent " + tt.want.String()
				if ce.Error() != wantStr || !ce.RcvdThenSent || ce.Cause != nil || p.State() != StateClosed || !p.CloseTransport() {
					t.Fatalf("CloseError %q (%+v), want %q", ce, ce, wantStr)
				}
				if ce.OK() != (tt.want.Code != 4000) {
					t.Fatalf("OK = %v", ce.OK())
				}
			})
		}
	}
}

func TestProtocolCloseReplyWhileClosing(t *testing.T) {
	for _, side := range sides {
		p := NewProtocol(side, Config{})
		out, err := p.AppendClose(nil, CloseGoingAway, "bye")
		if err != nil || p.State() != StateClosing || p.CloseTransport() {
			t.Fatalf("AppendClose: %v, state %v", err, p.State())
		}
		if f := parseFrames(t, out); len(f) != 1 || string(f[0].payload) != "\x03\xe9bye" || f[0].Masked != (side == Client) {
			t.Fatalf("close frame %+v", f)
		}
		// Data still arrives while CLOSING; pings are answered.
		evs, err := feed(t, p, from(side, txt("still"), ctl(OpPing, []byte("p")), ctl(OpClose, []byte{0x03, 0xe8})))
		if err != nil || len(evs) != 3 || evs[0].Kind != EventData || evs[1].Kind != EventPing || evs[2].Kind != EventClose {
			t.Fatalf("events %+v %v", evs, err)
		}
		// Only the pong is output: no second close frame.
		if f := parseFrames(t, p.TakeOutput(nil)); len(f) != 1 || f[0].Opcode != OpPong {
			t.Fatalf("output %+v", f)
		}
		if p.CloseTransport() != (side == Server) {
			t.Fatalf("%v: CloseTransport = %v", side, p.CloseTransport())
		}
		ce := p.CloseError(nil)
		if ce.RcvdThenSent || ce.Error() != "sent 1001 (going away) bye; then received 1000 (OK)" || !ce.OK() {
			t.Fatalf("CloseError %q %+v", ce, ce)
		}
	}
}

func TestProtocolAbandonsFragmentedMessageOnClose(t *testing.T) {
	// Strict RFC 6455 (Autobahn 7.1.5): a close frame in the middle of a
	// fragmented message ends the message and is echoed; no 1002.
	for _, side := range sides {
		p := NewProtocol(side, Config{})
		evs, err := feed(t, p, from(side, frag(OpText, "hel\xe2"), ctl(OpClose, []byte("\x03\xe8x")), cont("\x82\xaclo", true)))
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 2 || evs[0].Kind != EventData || !evs[0].First || evs[0].Fin || evs[1].Kind != EventClose {
			t.Fatalf("events %+v", evs)
		}
		out := parseFrames(t, p.TakeOutput(nil))
		if len(out) != 1 || string(out[0].payload) != "\x03\xe8x" {
			t.Fatalf("output %+v", out)
		}
		if p.Failure() != nil || !p.msgFirst || p.msgOp != 0 {
			t.Fatalf("failure %v, message state not reset", p.Failure())
		}
		p.FeedEOF()
		if p.Failure() != nil || !p.CloseError(nil).OK() {
			t.Fatalf("EOF after close: %v", p.CloseError(nil))
		}
	}
}

// failCase is a received input that must fail the connection.
type failCase struct {
	name string
	side Side // the receiving side
	cfg  Config
	in   []byte
	code CloseCode
	msg  string
	pre  int // events delivered before the failure
}

func failCases() []failCase {
	hdr := func(b ...byte) []byte { return b }
	masked := func(b []byte) []byte { // add the mask bit and key to a bare header
		h, _, err := ParseHeader(b)
		if err != nil {
			panic(err)
		}
		h.Masked, h.Mask = true, testKey
		return AppendHeader(nil, h)
	}
	big := func(n int64) []byte { return masked(AppendHeader(nil, Header{Fin: true, Opcode: OpBinary, Length: n})) }
	return []failCase{
		{"opcode 3", Server, Config{}, from(Server, fr{op: 3, fin: true}), 1002, "invalid opcode 3", 0},
		{"opcode 7", Server, Config{}, from(Server, fr{op: 7, fin: true}), 1002, "invalid opcode 7", 0},
		{"opcode 11", Client, Config{}, from(Client, fr{op: 0xb, fin: true}), 1002, "invalid opcode 11", 0},
		{"opcode 15", Client, Config{}, from(Client, fr{op: 0xf, fin: true}), 1002, "invalid opcode 15", 0},
		{"server gets unmasked frame", Server, Config{}, from(Client, txt("x")), 1002, "incorrect masking", 0},
		{"client gets masked frame", Client, Config{}, from(Server, txt("x")), 1002, "incorrect masking", 0},
		{"server gets unmasked ping", Server, Config{}, from(Client, ctl(OpPing, nil)), 1002, "incorrect masking", 0},
		{"rsv1 without extension", Server, Config{}, from(Server, fr{op: OpText, fin: true, rsv: RSV1}), 1002, "reserved bits must be 0", 0},
		{"rsv2 without extension", Client, Config{}, from(Client, fr{op: OpBinary, fin: true, rsv: RSV2}), 1002, "reserved bits must be 0", 0},
		{"rsv3 without extension", Server, Config{}, from(Server, fr{op: OpBinary, fin: true, rsv: RSV3}), 1002, "reserved bits must be 0", 0},
		{"rsv on continuation", Server, Config{}, from(Server, frag(OpText, "a"), fr{op: OpContinuation, fin: true, rsv: RSV1}), 1002, "reserved bits must be 0", 1},
		{"rsv on ping", Server, Config{}, from(Server, fr{op: OpPing, fin: true, rsv: RSV1}), 1002, "reserved bits must be 0", 0},
		{"ping of 126 bytes", Server, Config{}, from(Server, ctl(OpPing, make([]byte, 126))), 1002, "control frame too long", 0},
		{"close of 126 bytes, header only", Client, Config{}, hdr(0x88, 126, 0, 126), 1002, "control frame too long", 0},
		{"pong declaring 2^62 bytes", Client, Config{}, AppendHeader(nil, Header{Fin: true, Opcode: OpPong, Length: 1 << 62}), 1002, "control frame too long", 0},
		{"fragmented ping", Server, Config{}, from(Server, fr{op: OpPing}), 1002, "fragmented control frame", 0},
		{"fragmented close", Client, Config{}, from(Client, fr{op: OpClose}), 1002, "fragmented control frame", 0},
		{"fragmented pong", Server, Config{}, from(Server, fr{op: OpPong, payload: []byte("x")}), 1002, "fragmented control frame", 0},
		{"unexpected continuation", Server, Config{}, from(Server, cont("x", true)), 1002, "unexpected continuation frame", 0},
		{"continuation after a finished message", Client, Config{}, from(Client, txt("a"), cont("x", false)), 1002, "unexpected continuation frame", 1},
		{"text while a message is in progress", Server, Config{}, from(Server, frag(OpText, "a"), txt("b")), 1002, "expected a continuation frame", 1},
		{"binary while a message is in progress", Client, Config{}, from(Client, frag(OpBinary, "a"), cont("b", false), bin("c")), 1002, "expected a continuation frame", 2},
		{"1-byte close payload", Server, Config{}, from(Server, ctl(OpClose, []byte{3})), 1002, "close frame too short", 0},
		{"close code 999", Server, Config{}, from(Server, ctl(OpClose, []byte{0x03, 0xe7})), 1002, "invalid status code 999", 0},
		{"close code 1005", Client, Config{}, from(Client, ctl(OpClose, []byte{0x03, 0xed})), 1002, "invalid status code 1005", 0},
		{"close code 1006", Server, Config{}, from(Server, ctl(OpClose, []byte{0x03, 0xee})), 1002, "invalid status code 1006", 0},
		{"close code 5000", Server, Config{}, from(Server, ctl(OpClose, []byte{0x13, 0x88})), 1002, "invalid status code 5000", 0},
		{"close reason invalid UTF-8", Server, Config{}, from(Server, ctl(OpClose, []byte("\x03\xe8a\xff"))), 1007, "invalid UTF-8 in close reason at position 1", 0},
		{"invalid UTF-8 in text", Server, Config{}, from(Server, txt("abc\xffdef")), 1007, "invalid UTF-8 at position 3", 0},
		{"surrogate in text", Client, Config{}, from(Client, txt("ok\xed\xa0\x80")), 1007, "invalid UTF-8 at position 3", 0},
		{"invalid UTF-8 in a later fragment", Server, Config{}, from(Server, frag(OpText, "ab"), cont("cd\xc0", true)), 1007, "invalid UTF-8 at position 4", 1},
		{"invalid code point across fragments", Client, Config{}, from(Client, frag(OpText, "\xf4"), cont("\x90", true)), 1007, "invalid UTF-8 at position 1", 1},
		{"truncated UTF-8 at FIN", Server, Config{}, from(Server, txt("ab\xe2\x82")), 1007, "incomplete UTF-8 sequence at end of message", 0},
		{"truncated UTF-8 at FIN of a fragment", Client, Config{}, from(Client, frag(OpText, "ab"), cont("\xf0", true)), 1007, "incomplete UTF-8 sequence at end of message", 1},
		{"non-minimal 16-bit length", Server, Config{}, hdr(0x81, 0x80|126, 0, 5, 1, 2, 3, 4), 1002, "payload length not minimally encoded", 0},
		{"non-minimal 64-bit length", Client, Config{}, hdr(0x82, 127, 0, 0, 0, 0, 0, 0, 0xff, 0xff), 1002, "payload length not minimally encoded", 0},
		{"64-bit length top bit", Client, Config{}, hdr(0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0), 1002, "payload length overflow", 0},
		{"frame over default max message", Server, Config{}, big(1<<20 + 1), 1009, "frame with 1048577 bytes exceeds limit of 1048576 bytes", 0},
		{"frame declaring 2^62 bytes", Server, Config{}, big(1 << 62), 1009, "frame with 4611686018427387904 bytes exceeds limit of 1048576 bytes", 0},
		{"frame over max message", Server, Config{MaxMessageSize: 10}, from(Server, bin("0123456789a")), 1009, "frame with 11 bytes exceeds limit of 10 bytes", 0},
		{"fragments over max message", Client, Config{MaxMessageSize: 10}, from(Client, frag(OpText, "01234"), cont("56789", false), cont("a", true)), 1009, "frame with 1 bytes after reading 10 bytes exceeds limit of 10 bytes", 2},
		{"frame over max frame", Server, Config{MaxFrameSize: 4}, from(Server, bin("01234")), 1009, "frame with 5 bytes exceeds limit of 4 bytes", 0},
		{"fragment over max frame", Server, Config{MaxFrameSize: 4, MaxMessageSize: 100}, from(Server, frag(OpBinary, "0123"), cont("01234", true)), 1009, "frame with 5 bytes after reading 4 bytes exceeds limit of 4 bytes", 1},
		{"max frame with unlimited message", Client, Config{MaxFrameSize: 4, MaxMessageSize: -1}, from(Client, bin("01234")), 1009, "frame with 5 bytes exceeds limit of 4 bytes", 0},
	}
}

func TestProtocolFailsWithTheRightCloseCode(t *testing.T) {
	for _, tt := range failCases() {
		t.Run(tt.name, func(t *testing.T) {
			p := NewProtocol(tt.side, tt.cfg)
			evs, err := feed(t, p, tt.in)
			checkFailure(t, p, tt, evs, err)

			// The same failure byte by byte (for inputs that are short).
			if len(tt.in) < 300 {
				p = NewProtocol(tt.side, tt.cfg)
				evs, err = feed(t, p, bytewise(tt.in)...)
				if len(evs) < tt.pre {
					t.Fatalf("byte by byte: %d events before the failure", len(evs))
				}
				var pe *ProtocolError
				if !errors.As(err, &pe) || pe.Code != tt.code || pe.Msg != tt.msg {
					t.Fatalf("byte by byte: err = %v", err)
				}
			}
		})
	}
}

func checkFailure(t *testing.T, p *Protocol, tt failCase, evs []Event, err error) {
	t.Helper()
	var pe *ProtocolError
	if !errors.As(err, &pe) || pe.Code != tt.code || pe.Msg != tt.msg {
		t.Fatalf("err = %#v, want %d %q", err, tt.code, tt.msg)
	}
	if len(evs) != tt.pre {
		t.Fatalf("%d events before the failure, want %d", len(evs), tt.pre)
	}
	if !errors.Is(err, ErrProtocol) || p.Failure() != err {
		t.Fatalf("Failure() = %v", p.Failure())
	}
	out := parseFrames(t, p.TakeOutput(nil))
	if len(out) != 1 || out[0].Opcode != OpClose || out[0].Masked != (tt.side == Client) {
		t.Fatalf("output %+v", out)
	}
	cf, perr := ParseClosePayload(out[0].payload)
	if perr != nil || cf.Code != tt.code || cf.Reason != tt.msg {
		t.Fatalf("close frame sent %v (%v), want %d %q", cf, perr, tt.code, tt.msg)
	}
	if p.State() != StateClosing || *p.CloseSent() != cf || p.CloseRcvd() != nil || !p.CloseExpected() {
		t.Fatalf("state %v sent %v rcvd %v", p.State(), p.CloseSent(), p.CloseRcvd())
	}
	if p.CloseTransport() != (tt.side == Server) {
		t.Fatalf("CloseTransport = %v", p.CloseTransport())
	}
	// Everything after is discarded: no events, no output, no error.
	more := from(tt.side, ctl(OpPing, []byte("p")), txt("x"), ctl(OpClose, nil))
	if evs, err := feed(t, p, more); err != nil || len(evs) != 0 || p.HasOutput() {
		t.Fatalf("after failure: %+v %v output %v", evs, err, p.HasOutput())
	}
	if len(p.carry) != 0 && cap(p.carry) > MaxHeaderSize {
		t.Fatalf("carry holds %d bytes", cap(p.carry))
	}
	ce := p.CloseError(nil)
	want := "sent " + cf.String() + "; no close frame received"
	if ce.Error() != want || ce.OK() || ce.Code() != CloseAbnormal || !errors.Is(ce, ErrClosed) || ce.Unwrap() != err {
		t.Fatalf("CloseError %q, want %q", ce, want)
	}
}

func TestProtocolChecksDeclaredLengthBeforePayloadArrives(t *testing.T) {
	p := NewProtocol(Server, Config{})
	h := AppendHeader(nil, Header{Fin: true, Opcode: OpBinary, Masked: true, Length: 1 << 62})
	if err := p.Feed(h); err != nil {
		t.Fatal(err)
	}
	_, err := p.Next()
	if !errors.Is(err, ErrMessageTooBig) {
		t.Fatalf("err = %v", err)
	}
	if cap(p.carry) > MaxHeaderSize {
		t.Fatalf("carry grew to %d bytes", cap(p.carry))
	}
}

func TestProtocolFailsAtTheFirstInvalidUTF8ByteWithoutWaitingForTheFrame(t *testing.T) {
	p := NewProtocol(Server, Config{})
	in := from(Server, txt("abc\xff"+strings.Repeat("z", 1000)))
	hl := HeaderSize(1004, true)
	evs, err := feed(t, p, in[:hl+3])
	if err != nil || len(evs) != 1 || string(evs[0].Payload) != "abc" {
		t.Fatalf("valid prefix: %+v %v", evs, err)
	}
	_, err = feed(t, p, in[hl+3:hl+4])
	if !errors.Is(err, ErrInvalidUTF8) || err.Error() != "ws: invalid UTF-8 at position 3" {
		t.Fatalf("err = %v", err)
	}
}

func TestProtocolAcceptsMessagesJustUnderTheLimits(t *testing.T) {
	tests := []struct {
		name   string
		cfg    Config
		frames []fr
	}{
		{"message of exactly max", Config{MaxMessageSize: 10}, []fr{bin("0123456789")}},
		{"fragments summing to max", Config{MaxMessageSize: 10}, []fr{frag(OpText, "01234"), cont("", false), cont("56789", true)}},
		{"limit is per message", Config{MaxMessageSize: 3}, []fr{txt("abc"), txt("def"), frag(OpBinary, "gh"), cont("i", true)}},
		{"control frames do not count", Config{MaxMessageSize: 3}, []fr{frag(OpText, "ab"), ctl(OpPing, []byte("12345")), cont("c", true)}},
		{"frame of exactly max frame", Config{MaxFrameSize: 4}, []fr{frag(OpBinary, "0123"), cont("4567", true)}},
		{"unlimited", Config{MaxMessageSize: -1}, []fr{bin(strings.Repeat("x", 1<<20+1))}},
		{"default is 1 MiB", Config{}, []fr{bin(strings.Repeat("x", 1<<20))}},
	}
	for _, side := range sides {
		for _, tt := range tests {
			p := NewProtocol(side, tt.cfg)
			evs, err := feed(t, p, from(side, tt.frames...))
			if err != nil || len(evs) < len(tt.frames) {
				t.Errorf("%v %s: %d events, %v", side, tt.name, len(evs), err)
			}
		}
	}
}

func TestProtocolUnlimitedSizeStreamsHugeDeclaredFrame(t *testing.T) {
	p := NewProtocol(Client, Config{MaxMessageSize: -1})
	in := append(AppendHeader(nil, Header{Fin: true, Opcode: OpBinary, Length: 1 << 62}), "abc"...)
	evs, err := feed(t, p, in)
	if err != nil || len(evs) != 1 || string(evs[0].Payload) != "abc" || evs[0].Fin {
		t.Fatalf("%+v %v", evs, err)
	}
	if cap(p.carry) > MaxHeaderSize {
		t.Fatalf("carry grew to %d", cap(p.carry))
	}
	p.FeedEOF()
	if pe, ok := p.Failure().(*ProtocolError); !ok || pe.Code != CloseAbnormal || pe.Msg != "unexpected end of stream" {
		t.Fatalf("Failure = %v", p.Failure())
	}
}

func TestProtocolFeedEOF(t *testing.T) {
	tests := []struct {
		name       string
		in         []byte
		unexpected bool
	}{
		{"nothing received", nil, false},
		{"between messages", from(Client, txt("a"), ctl(OpPing, nil)), false},
		{"in a frame header", from(Client, txt("a"))[:1], true},
		{"in a 64-bit header", from(Client, bin(strings.Repeat("a", 70000)))[:5], true},
		{"in a payload", from(Client, txt("abc"))[:3], true},
		{"in a control payload", from(Client, ctl(OpPing, []byte("abc")))[:3], true},
		{"between fragments", from(Client, frag(OpText, "a")), true},
		{"in an empty fragment sequence", from(Client, frag(OpBinary, "")), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewProtocol(Client, Config{})
			if _, err := feed(t, p, tt.in); err != nil {
				t.Fatal(err)
			}
			p.TakeOutput(nil) // pongs
			p.FeedEOF()
			if p.State() != StateClosed || !p.EOFReceived() || !p.CloseTransport() || !p.CloseExpected() {
				t.Fatalf("state %v eof %v", p.State(), p.EOFReceived())
			}
			if p.HasOutput() {
				t.Fatal("EOF queued output")
			}
			err := p.Failure()
			if tt.unexpected {
				var pe *ProtocolError
				if !errors.As(err, &pe) || pe.Code != CloseAbnormal || pe.Msg != "unexpected end of stream" {
					t.Fatalf("Failure = %v", err)
				}
			} else if err != nil {
				t.Fatalf("Failure = %v", err)
			}
			ce := p.CloseError(nil)
			if ce.OK() || ce.Code() != CloseAbnormal || ce.Error() != "no close frame received or sent" || ce.Cause != err {
				t.Fatalf("CloseError %v", ce)
			}
			// Nothing is processed after EOF; sending is refused.
			if evs, err := feed(t, p, from(Client, txt("x"))); err != nil || len(evs) != 0 {
				t.Fatalf("after EOF: %+v %v", evs, err)
			}
			if _, err := p.AppendData(nil, OpText, true, nil, false); !errors.Is(err, ErrInvalidState) {
				t.Fatal(err)
			}
			if _, err := p.AppendPing(nil, nil); !errors.Is(err, ErrInvalidState) {
				t.Fatal(err)
			}
			if _, err := p.AppendClose(nil, 1000, ""); !errors.Is(err, ErrInvalidState) {
				t.Fatal(err)
			}
			// A cause given by the runtime wins.
			cause := errors.New("read: connection reset")
			if ce := p.CloseError(cause); ce.Cause != cause || !errors.Is(ce, cause) {
				t.Fatalf("cause %v", ce.Cause)
			}
		})
	}
}

func TestProtocolFeedEOFAfterCloseHandshakeIsClean(t *testing.T) {
	c := NewProtocol(Client, Config{})
	if _, err := c.AppendClose(nil, CloseNormal, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := feed(t, c, from(Client, ctl(OpClose, []byte{0x03, 0xe8}))); err != nil {
		t.Fatal(err)
	}
	if c.CloseTransport() {
		t.Fatal("client closes the transport before the server")
	}
	c.FeedEOF()
	if c.Failure() != nil || !c.CloseTransport() || !c.CloseError(nil).OK() {
		t.Fatalf("failure %v", c.Failure())
	}
	c.FeedEOF() // idempotent
	if c.State() != StateClosed {
		t.Fatal("state changed")
	}
}

func TestProtocolFeedBeforeNextConsumedIsRefused(t *testing.T) {
	p := NewProtocol(Client, Config{})
	if err := p.Feed(from(Client, txt("a"), txt("b"))); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Next(); err != nil {
		t.Fatal(err)
	}
	if err := p.Feed([]byte{0x81}); err == nil {
		t.Fatal("Feed accepted while input is pending")
	}
	if ev, err := p.Next(); err != nil || string(ev.Payload) != "b" {
		t.Fatalf("%+v %v", ev, err)
	}
	if ev, _ := p.Next(); ev.Kind != EventNone {
		t.Fatal("extra event")
	}
	if err := p.Feed(nil); err != nil {
		t.Fatal(err)
	}
}

func TestCloseErrorFormsAndOK(t *testing.T) {
	f := func(c CloseCode, r string) *CloseFrame { return &CloseFrame{Code: c, Reason: r} }
	tests := []struct {
		e      CloseError
		str    string
		ok     bool
		code   CloseCode
		reason string
	}{
		{CloseError{Rcvd: f(1000, ""), Sent: f(1000, ""), RcvdThenSent: true}, "received 1000 (OK); then sent 1000 (OK)", true, 1000, ""},
		{CloseError{Rcvd: f(1001, "bye"), Sent: f(1000, ""), RcvdThenSent: false}, "sent 1000 (OK); then received 1001 (going away) bye", true, 1001, "bye"},
		{CloseError{Sent: f(1011, "keepalive ping timeout")}, "sent 1011 (internal error) keepalive ping timeout; no close frame received", false, 1006, ""},
		{CloseError{Rcvd: f(1000, "x")}, "received 1000 (OK) x; no close frame sent", false, 1000, "x"},
		{CloseError{}, "no close frame received or sent", false, 1006, ""},
		{CloseError{Rcvd: f(1005, ""), Sent: f(1005, ""), RcvdThenSent: true}, "received 1005 (no status received [internal]); then sent 1005 (no status received [internal])", true, 1005, ""},
		{CloseError{Rcvd: f(1001, ""), Sent: f(1001, ""), RcvdThenSent: true}, "received 1001 (going away); then sent 1001 (going away)", true, 1001, ""},
		{CloseError{Rcvd: f(1012, ""), Sent: f(1012, ""), RcvdThenSent: true}, "received 1012 (service restart); then sent 1012 (service restart)", false, 1012, ""},
		{CloseError{Rcvd: f(1000, ""), Sent: f(1002, "")}, "sent 1002 (protocol error); then received 1000 (OK)", false, 1000, ""},
		{CloseError{Rcvd: f(4000, ""), Sent: f(1000, ""), RcvdThenSent: true}, "received 4000 (private use); then sent 1000 (OK)", false, 4000, ""},
		{CloseError{Rcvd: f(1000, ""), Sent: f(3000, "")}, "sent 3000 (registered); then received 1000 (OK)", false, 1000, ""},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.str {
			t.Errorf("Error() = %q, want %q", got, tt.str)
		}
		if tt.e.OK() != tt.ok || tt.e.Code() != tt.code || tt.e.Reason() != tt.reason {
			t.Errorf("%q: OK %v Code %v Reason %q", tt.str, tt.e.OK(), tt.e.Code(), tt.e.Reason())
		}
	}
}

func TestProtocolAppendData(t *testing.T) {
	s := NewProtocol(Server, Config{})
	out, err := s.AppendData([]byte("x"), OpText, true, []byte("hi"), false)
	if err != nil || !bytes.Equal(out, []byte("x\x81\x02hi")) {
		t.Fatalf("% x %v", out, err)
	}
	out, err = s.AppendData(nil, OpBinary, false, []byte{1}, false)
	if err != nil || !bytes.Equal(out, []byte{0x02, 1, 1}) || !s.SendingMessage() {
		t.Fatalf("% x %v", out, err)
	}
	out, err = s.AppendData(nil, OpContinuation, false, nil, false)
	if err != nil || !bytes.Equal(out, []byte{0x00, 0}) {
		t.Fatalf("% x %v", out, err)
	}
	out, err = s.AppendData(nil, OpContinuation, true, []byte{2}, false)
	if err != nil || !bytes.Equal(out, []byte{0x80, 1, 2}) || s.SendingMessage() {
		t.Fatalf("% x %v", out, err)
	}
	big := bytes.Repeat([]byte("b"), 70000)
	out, _ = s.AppendData(nil, OpBinary, true, big, false)
	if f := parseFrames(t, out); len(f) != 1 || !bytes.Equal(f[0].payload, big) || f[0].Masked {
		t.Fatal("large frame")
	}

	// Client: masked with a fresh key, payload left untouched.
	c := NewProtocol(Client, Config{})
	payload := []byte("hello, world")
	out1, _ := c.AppendData(nil, OpText, true, payload, false)
	out2, _ := c.AppendData(nil, OpText, true, payload, false)
	if string(payload) != "hello, world" {
		t.Fatal("AppendData masked the caller's payload")
	}
	f1, f2 := parseFrames(t, out1), parseFrames(t, out2)
	if !f1[0].Masked || string(f1[0].payload) != "hello, world" || string(f2[0].payload) != "hello, world" {
		t.Fatalf("client frames %+v %+v", f1, f2)
	}
	if f1[0].Mask == f2[0].Mask {
		t.Fatal("masking key reused")
	}
	if bytes.Contains(out1, payload) {
		t.Fatal("payload sent unmasked")
	}
}

func TestProtocolAppendDataRefusesBadSequences(t *testing.T) {
	type step struct {
		op    Opcode
		fin   bool
		errIs error // nil: allowed
	}
	tests := []struct {
		name  string
		setup func(p *Protocol)
		steps []step
	}{
		{"continuation without a message", nil, []step{{OpContinuation, true, ErrProtocol}}},
		{"text during a fragmented message", nil, []step{{OpText, false, nil}, {OpText, true, ErrProtocol}, {OpContinuation, true, nil}}},
		{"binary during a fragmented message", nil, []step{{OpBinary, false, nil}, {OpBinary, false, ErrProtocol}}},
		{"continuation after the last fragment", nil, []step{{OpBinary, false, nil}, {OpContinuation, true, nil}, {OpContinuation, true, ErrProtocol}}},
		{"control opcode", nil, []step{{OpPing, true, ErrProtocol}, {OpClose, true, ErrProtocol}, {3, true, ErrProtocol}}},
		{"after close sent", func(p *Protocol) { _, _ = p.AppendClose(nil, 1000, "") }, []step{{OpText, true, ErrInvalidState}}},
		{"continuation after close sent", func(p *Protocol) {
			_, _ = p.AppendData(nil, OpText, false, nil, false)
			_, _ = p.AppendClose(nil, 1000, "")
		}, []step{{OpContinuation, true, ErrInvalidState}}},
		{"after failure", func(p *Protocol) { p.Fail(CloseInternalError, "x") }, []step{{OpText, true, ErrInvalidState}}},
		{"after transport failure", func(p *Protocol) { p.Fail(CloseAbnormal, "") }, []step{{OpText, true, ErrInvalidState}}},
		{"after EOF", func(p *Protocol) { p.FeedEOF() }, []step{{OpText, true, ErrInvalidState}}},
	}
	for _, side := range sides {
		for _, tt := range tests {
			p := NewProtocol(side, Config{})
			if tt.setup != nil {
				tt.setup(p)
			}
			for i, st := range tt.steps {
				dst := []byte("dst")
				out, err := p.AppendData(dst, st.op, st.fin, []byte("x"), false)
				if st.errIs == nil {
					if err != nil {
						t.Fatalf("%v %s step %d: %v", side, tt.name, i, err)
					}
					continue
				}
				if !errors.Is(err, st.errIs) || !bytes.Equal(out, dst) {
					t.Fatalf("%v %s step %d: err %v, out %q", side, tt.name, i, err, out)
				}
			}
		}
	}
}

func TestProtocolAppendPingPong(t *testing.T) {
	for _, side := range sides {
		p := NewProtocol(side, Config{})
		for _, app := range []func([]byte, []byte) ([]byte, error){p.AppendPing, p.AppendPong} {
			for _, n := range []int{0, 1, 125} {
				out, err := app(nil, bytes.Repeat([]byte{7}, n))
				f := parseFrames(t, out)
				if err != nil || len(f) != 1 || len(f[0].payload) != n || f[0].Masked != (side == Client) || !f[0].Fin {
					t.Fatalf("%v: len %d: %+v %v", side, n, f, err)
				}
			}
			out, err := app([]byte("dst"), make([]byte, 126))
			if !errors.Is(err, ErrProtocol) || string(out) != "dst" || err.Error() != "ws: control frame too long" {
				t.Fatalf("126 bytes: %q %v", out, err)
			}
		}
		out, _ := p.AppendPing(nil, []byte("a"))
		out, _ = p.AppendPong(out, []byte("b"))
		if f := parseFrames(t, out); f[0].Opcode != OpPing || f[1].Opcode != OpPong {
			t.Fatalf("opcodes %v %v", f[0].Opcode, f[1].Opcode)
		}
		// Allowed while CLOSING, refused once CLOSED.
		if _, err := p.AppendClose(nil, 1000, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := p.AppendPing(nil, nil); err != nil {
			t.Fatalf("ping while CLOSING: %v", err)
		}
		if _, err := p.AppendPong(nil, nil); err != nil {
			t.Fatalf("pong while CLOSING: %v", err)
		}
		p.FeedEOF()
		if _, err := p.AppendPing(nil, nil); !errors.Is(err, ErrInvalidState) {
			t.Fatalf("ping while CLOSED: %v", err)
		}
		if _, err := p.AppendPong(nil, nil); !errors.Is(err, ErrInvalidState) {
			t.Fatalf("pong while CLOSED: %v", err)
		}
	}
}

func TestProtocolAppendClose(t *testing.T) {
	tests := []struct {
		name    string
		code    CloseCode
		reason  string
		payload []byte
		errIs   error
		errCode CloseCode
	}{
		{"1000", 1000, "", []byte{0x03, 0xe8}, nil, 0},
		{"1001 with reason", 1001, "bye", []byte("\x03\xe9bye"), nil, 0},
		{"123-byte reason", 1000, strings.Repeat("r", 123), append([]byte{0x03, 0xe8}, strings.Repeat("r", 123)...), nil, 0},
		{"1005 sends empty payload", CloseNoStatus, "", []byte{}, nil, 0},
		{"4999", 4999, "", []byte{0x13, 0x87}, nil, 0},
		{"124-byte reason", 1000, strings.Repeat("r", 124), nil, ErrProtocol, CloseProtocolError},
		{"1005 with reason", CloseNoStatus, "x", nil, ErrProtocol, CloseProtocolError},
		{"1006", CloseAbnormal, "", nil, ErrProtocol, CloseProtocolError},
		{"1004", 1004, "", nil, ErrProtocol, CloseProtocolError},
		{"1015", 1015, "", nil, ErrProtocol, CloseProtocolError},
		{"999", 999, "", nil, ErrProtocol, CloseProtocolError},
		{"5000", 5000, "", nil, ErrProtocol, CloseProtocolError},
		{"invalid UTF-8 reason", 1000, "\xff", nil, ErrInvalidUTF8, CloseInvalidPayload},
	}
	for _, side := range sides {
		for _, tt := range tests {
			t.Run(side.String()+"/"+tt.name, func(t *testing.T) {
				p := NewProtocol(side, Config{})
				out, err := p.AppendClose([]byte("dst"), tt.code, tt.reason)
				if tt.errIs != nil {
					var pe *ProtocolError
					if !errors.Is(err, tt.errIs) || !errors.As(err, &pe) || pe.Code != tt.errCode || string(out) != "dst" {
						t.Fatalf("out %q err %v", out, err)
					}
					if p.State() != StateOpen || p.CloseSent() != nil || p.HasOutput() {
						t.Fatal("a refused close changed the state")
					}
					return
				}
				f := parseFrames(t, out[3:])
				if err != nil || len(f) != 1 || f[0].Opcode != OpClose || !bytes.Equal(f[0].payload, tt.payload) || f[0].Masked != (side == Client) {
					t.Fatalf("%+v %v", f, err)
				}
				if p.State() != StateClosing || *p.CloseSent() != (CloseFrame{tt.code, tt.reason}) || p.CloseTransport() {
					t.Fatalf("state %v sent %v", p.State(), p.CloseSent())
				}
				if _, err := p.AppendClose(nil, 1000, ""); !errors.Is(err, ErrInvalidState) {
					t.Fatalf("second close: %v", err)
				}
				if _, err := p.AppendData(nil, OpText, true, nil, false); !errors.Is(err, ErrInvalidState) {
					t.Fatalf("data after close: %v", err)
				}
			})
		}
	}
}

func TestProtocolFail(t *testing.T) {
	tests := []struct {
		name   string
		side   Side
		setup  func(p *Protocol)
		code   CloseCode
		reason string
		sent   *CloseFrame // close frame sent by Fail, nil for none
		errStr string
	}{
		{"keepalive timeout", Client, nil, CloseInternalError, "keepalive ping timeout", &CloseFrame{1011, "keepalive ping timeout"},
			"sent 1011 (internal error) keepalive ping timeout; no close frame received"},
		{"server policy", Server, nil, ClosePolicyViolation, "no", &CloseFrame{1008, "no"}, "sent 1008 (policy violation) no; no close frame received"},
		{"reason too long is dropped", Server, nil, 1011, strings.Repeat("x", 124), &CloseFrame{1011, ""}, "sent 1011 (internal error); no close frame received"},
		{"invalid UTF-8 reason is dropped", Server, nil, 1011, "\xff", &CloseFrame{1011, ""}, "sent 1011 (internal error); no close frame received"},
		{"invalid code becomes 1011", Client, nil, 999, "r", &CloseFrame{1011, ""}, "sent 1011 (internal error); no close frame received"},
		{"1005 sends empty close", Client, nil, CloseNoStatus, "r", &CloseFrame{Code: 1005}, "sent 1005 (no status received [internal]); no close frame received"},
		{"1006 sends nothing", Server, nil, CloseAbnormal, "reset", nil, "no close frame received or sent"},
		{"while CLOSING sends nothing more", Client, func(p *Protocol) { _, _ = p.AppendClose(nil, 1000, "") }, 1011, "timeout", nil,
			"sent 1000 (OK); no close frame received"},
		{"after close received sends nothing more", Server, func(p *Protocol) {
			_, _ = feed(t, p, from(Server, ctl(OpClose, []byte{0x03, 0xe8})))
			p.TakeOutput(nil)
		}, 1011, "x", nil, "received 1000 (OK); then sent 1000 (OK)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewProtocol(tt.side, Config{})
			if tt.setup != nil {
				tt.setup(p)
			}
			hadFailure := p.Failure() != nil
			p.Fail(tt.code, tt.reason)
			out := parseFrames(t, p.TakeOutput(nil))
			if tt.sent == nil {
				if len(out) != 0 {
					t.Fatalf("output %+v", out)
				}
			} else {
				cf, err := ParseClosePayload(out[0].payload)
				if len(out) != 1 || err != nil || cf != *tt.sent || *p.CloseSent() != cf || out[0].Masked != (tt.side == Client) {
					t.Fatalf("sent %v %v, want %v", cf, err, tt.sent)
				}
			}
			if pe, ok := p.Failure().(*ProtocolError); !hadFailure && (!ok || pe.Code != tt.code || pe.Msg != tt.reason) {
				t.Fatalf("Failure = %v", p.Failure())
			}
			if !p.CloseExpected() || p.CloseTransport() != (tt.side == Server) {
				t.Fatalf("CloseExpected %v CloseTransport %v", p.CloseExpected(), p.CloseTransport())
			}
			if got := p.CloseError(nil).Error(); got != tt.errStr {
				t.Fatalf("CloseError %q, want %q", got, tt.errStr)
			}
			// Input is ignored from now on.
			if evs, err := feed(t, p, from(tt.side, txt("x"), ctl(OpPing, nil))); err != nil || len(evs) != 0 || p.HasOutput() {
				t.Fatalf("after Fail: %+v %v", evs, err)
			}
		})
	}
}

func TestProtocolFailAfterCloseReceivedWhileClosingSetsOrder(t *testing.T) {
	// Fail while OPEN after a close frame was received can only happen if
	// the runtime fails before echoing; the order is then rcvd-then-sent.
	p := NewProtocol(Server, Config{})
	cf := CloseFrame{Code: 1000}
	p.closeRcvd = &cf
	p.Fail(CloseInternalError, "")
	if ce := p.CloseError(nil); !ce.RcvdThenSent || ce.Error() != "received 1000 (OK); then sent 1011 (internal error)" {
		t.Fatalf("%+v %v", ce, ce)
	}
	p2 := NewProtocol(Client, Config{})
	p2.closeRcvd = &cf
	if _, err := p2.AppendClose(nil, 1000, ""); err != nil || !p2.CloseError(nil).RcvdThenSent {
		t.Fatal("AppendClose after close received: order not recorded")
	}
}

func TestProtocolInternalErrorSendsNoReason(t *testing.T) {
	p := NewProtocol(Server, Config{})
	err := p.fail(CloseInternalError, "secret details")
	if err.Error() != "ws: internal error" {
		t.Fatalf("err = %v", err)
	}
	out := parseFrames(t, p.TakeOutput(nil))
	if !bytes.Equal(out[0].payload, []byte{0x03, 0xf3}) {
		t.Fatalf("close payload % x", out[0].payload)
	}
}

func TestProtocolAccessorsAndStrings(t *testing.T) {
	exts := []Extension{&fakeExt{name: "a"}}
	p := NewProtocol(Server, Config{Extensions: exts})
	if p.Side() != Server || p.State() != StateOpen || len(p.Extensions()) != 1 || p.CloseRcvd() != nil || p.CloseSent() != nil || p.Failure() != nil {
		t.Fatal("accessors")
	}
	if p.CloseExpected() || p.CloseTransport() || p.EOFReceived() || p.SendingMessage() {
		t.Fatal("fresh protocol flags")
	}
	for v, want := range map[fmt.Stringer]string{
		Client: "client", Server: "server",
		StateConnecting: "CONNECTING", StateOpen: "OPEN", StateClosing: "CLOSING", StateClosed: "CLOSED",
		EventNone: "none", EventData: "data", EventPing: "ping", EventPong: "pong", EventClose: "close",
	} {
		if v.String() != want {
			t.Errorf("%v.String() = %q, want %q", v, v.String(), want)
		}
	}
}

func TestProtocolReleaseBuffers(t *testing.T) {
	p := NewProtocol(Client, Config{})
	in := from(Client, txt("abc"))
	// A partial header stays in carry and must survive ReleaseBuffers.
	if _, err := feed(t, p, in[:1]); err != nil {
		t.Fatal(err)
	}
	p.ReleaseBuffers()
	evs, err := feed(t, p, in[1:])
	if err != nil || len(evs) != 1 || string(evs[0].Payload) != "abc" {
		t.Fatalf("%+v %v", evs, err)
	}
	if _, err := feed(t, p, from(Client, ctl(OpPing, nil))); err != nil {
		t.Fatal(err)
	}
	p.TakeOutput(nil)
	p.ReleaseBuffers()
	if p.carry != nil || p.output != nil {
		t.Fatal("idle buffers kept")
	}
	// Pending output is kept.
	_, _ = feed(t, p, from(Client, ctl(OpPing, []byte("x"))))
	p.ReleaseBuffers()
	if !p.HasOutput() {
		t.Fatal("ReleaseBuffers dropped pending output")
	}
}

func TestProtocolDropsLargeCarryAfterUse(t *testing.T) {
	// A decoded (whole) frame larger than 64 KiB assembled across Feeds
	// must not pin its buffer afterwards.
	ext := &fakeExt{name: "x", rsv: RSV1, decode: func(f *Frame, limit int64) error { f.Rsv = 0; return nil }}
	p := NewProtocol(Client, Config{Extensions: []Extension{ext}})
	in := from(Client, fr{op: OpBinary, fin: true, rsv: RSV1, payload: bytes.Repeat([]byte("d"), 100000)})
	evs, err := feed(t, p, in[:50000], in[50000:])
	if err != nil || len(evs) != 1 || len(evs[0].Payload) != 100000 {
		t.Fatalf("%d events %v", len(evs), err)
	}
	if p.carry != nil {
		t.Fatalf("carry kept %d bytes", cap(p.carry))
	}
}

// ---------------------------------------------------------------- extensions

func TestProtocolDecodesWithExtensionClaimingRSV1(t *testing.T) {
	upper := func(f *Frame, limit int64) error {
		f.Payload = bytes.ToUpper(f.Payload)
		f.Rsv &^= RSV1
		return nil
	}
	for _, side := range sides {
		ext := &fakeExt{name: "up", rsv: RSV1, decode: upper}
		p := NewProtocol(side, Config{Extensions: []Extension{ext}})
		evs, err := feed(t, p, from(side,
			fr{op: OpText, fin: true, rsv: RSV1, payload: []byte("abc")}, // decoded
			txt("plain"), // not decoded
			fr{op: OpBinary, rsv: RSV1, payload: []byte("de")}, ctl(OpPing, []byte("p")), // control frames never pass through
			cont("fg", true), // continuation of a decoded message is decoded
		))
		if err != nil {
			t.Fatal(err)
		}
		got := summary(t, evs)
		want := []string{`TEXT "ABC"`, `TEXT "plain"`, `ping "p"`, `BINARY "DEFG"`}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%v: %q, want %q", side, got, want)
		}
	}
}

func TestProtocolExtensionRsvRules(t *testing.T) {
	keep := func(f *Frame, limit int64) error { return nil } // leaves RSV1 set
	clear1 := func(f *Frame, limit int64) error { f.Rsv &^= RSV1; return nil }
	tests := []struct {
		name   string
		ext    *fakeExt
		frames []fr
		code   CloseCode // 0: no failure
	}{
		{"extension leaves RSV1 set", &fakeExt{name: "e", rsv: RSV1, decode: keep}, []fr{{op: OpText, fin: true, rsv: RSV1}}, 1002},
		{"RSV2 not claimed", &fakeExt{name: "e", rsv: RSV1, decode: clear1}, []fr{{op: OpText, fin: true, rsv: RSV2}}, 1002},
		{"RSV1|RSV2 with only RSV1 claimed", &fakeExt{name: "e", rsv: RSV1, decode: clear1}, []fr{{op: OpText, fin: true, rsv: RSV1 | RSV2}}, 1002},
		{"RSV1 on a plain message's continuation", &fakeExt{name: "e", rsv: RSV1, decode: clear1}, []fr{frag(OpText, "a"), {op: OpContinuation, fin: true, rsv: RSV1}}, 1002},
		{"RSV1 on a control frame", &fakeExt{name: "e", rsv: RSV1, decode: clear1}, []fr{{op: OpPing, fin: true, rsv: RSV1}}, 1002},
		{"extension claiming no bits sees every frame", &fakeExt{name: "e", decode: clear1}, []fr{{op: OpText, fin: true, rsv: RSV1}, txt("x")}, 0},
		{"extension claiming no bits leaves RSV2", &fakeExt{name: "e", decode: clear1}, []fr{{op: OpText, fin: true, rsv: RSV2}}, 1002},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewProtocol(Server, Config{Extensions: []Extension{tt.ext}})
			_, err := feed(t, p, from(Server, tt.frames...))
			if tt.code == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var pe *ProtocolError
			if !errors.As(err, &pe) || pe.Code != tt.code || pe.Msg != "reserved bits must be 0" {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestProtocolGivesExtensionsTheRemainingBudget(t *testing.T) {
	var limits []int64
	rec := func(f *Frame, limit int64) error {
		limits = append(limits, limit)
		f.Rsv = 0
		return nil
	}
	tests := []struct {
		cfg    Config
		frames []fr
		want   []int64
	}{
		{Config{MaxMessageSize: 100}, []fr{{op: OpBinary, rsv: RSV1, payload: make([]byte, 30)}, cont("0123456789", true), bin("x")}, []int64{100, 70}},
		{Config{MaxMessageSize: 100, MaxFrameSize: 50}, []fr{{op: OpBinary, rsv: RSV1, payload: make([]byte, 30)}, cont("", true)}, []int64{50, 50}},
		{Config{MaxMessageSize: 100, MaxFrameSize: 50}, []fr{{op: OpBinary, rsv: RSV1, payload: make([]byte, 40)}, cont("", false), cont("", true)}, []int64{50, 50, 50}},
		{Config{MaxMessageSize: 60, MaxFrameSize: 50}, []fr{{op: OpBinary, rsv: RSV1, payload: make([]byte, 40)}, cont("", true)}, []int64{50, 20}},
		{Config{MaxMessageSize: -1}, []fr{{op: OpBinary, fin: true, rsv: RSV1}}, []int64{-1}},
		{Config{}, []fr{{op: OpBinary, fin: true, rsv: RSV1}}, []int64{1 << 20}},
	}
	for i, tt := range tests {
		limits = nil
		tt.cfg.Extensions = []Extension{&fakeExt{name: "e", rsv: RSV1, decode: rec}}
		p := NewProtocol(Server, tt.cfg)
		if _, err := feed(t, p, from(Server, tt.frames...)); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if fmt.Sprint(limits) != fmt.Sprint(tt.want) {
			t.Fatalf("case %d: limits %v, want %v", i, limits, tt.want)
		}
	}
}

func TestProtocolExtensionDecodeErrors(t *testing.T) {
	inflate := func(n int) func(*Frame, int64) error {
		return func(f *Frame, limit int64) error {
			f.Payload, f.Rsv = make([]byte, n), 0
			return nil
		}
	}
	tests := []struct {
		name   string
		decode func(*Frame, int64) error
		code   CloseCode
		msg    string // error message
		reason string // reason in the close frame
	}{
		{"too big", func(*Frame, int64) error { return &ProtocolError{Code: 1009, Msg: "frame exceeds limit of 10 bytes"} },
			1009, "frame exceeds limit of 10 bytes", "frame exceeds limit of 10 bytes"},
		{"corrupt", func(*Frame, int64) error { return &ProtocolError{Code: 1002, Msg: "decompression failed"} },
			1002, "decompression failed", "decompression failed"},
		{"wrapped protocol error", func(*Frame, int64) error {
			return fmt.Errorf("inflate: %w", &ProtocolError{Code: 1002, Msg: "decompression failed"})
		}, 1002, "decompression failed", "decompression failed"},
		{"plain error", func(*Frame, int64) error { return errors.New("secret internal state") }, 1011, "internal error", ""},
		{"output past the budget", inflate(11), 1009, "frame with 11 bytes exceeds limit of 10 bytes", "frame with 11 bytes exceeds limit of 10 bytes"},
		{"invalid UTF-8 after decoding", func(f *Frame, _ int64) error { f.Payload, f.Rsv = []byte{0xff}, 0; return nil },
			1007, "invalid UTF-8 at position 0", "invalid UTF-8 at position 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ext := &fakeExt{name: "e", rsv: RSV1, decode: tt.decode}
			p := NewProtocol(Server, Config{MaxMessageSize: 10, Extensions: []Extension{ext}})
			_, err := feed(t, p, from(Server, fr{op: OpText, fin: true, rsv: RSV1, payload: []byte("zz")}))
			var pe *ProtocolError
			if !errors.As(err, &pe) || pe.Code != tt.code || pe.Msg != tt.msg {
				t.Fatalf("err = %#v", err)
			}
			out := parseFrames(t, p.TakeOutput(nil))
			cf, _ := ParseClosePayload(out[0].payload)
			if cf.Code != tt.code || cf.Reason != tt.reason {
				t.Fatalf("close frame %v", cf)
			}
		})
	}
	// Output exactly at the budget passes.
	ext := &fakeExt{name: "e", rsv: RSV1, decode: inflate(10)}
	p := NewProtocol(Server, Config{MaxMessageSize: 10, Extensions: []Extension{ext}})
	if evs, err := feed(t, p, from(Server, fr{op: OpBinary, fin: true, rsv: RSV1, payload: []byte("z")})); err != nil || len(evs[0].Payload) != 10 {
		t.Fatalf("%v", err)
	}
}

func TestProtocolDecodesInReverseAndEncodesInNegotiationOrder(t *testing.T) {
	var log []string
	a := &fakeExt{name: "a", log: &log}
	b := &fakeExt{name: "b", log: &log}
	p := NewProtocol(Client, Config{Extensions: []Extension{a, b}})
	if _, err := feed(t, p, from(Client, txt("x"), ctl(OpPing, nil))); err != nil {
		t.Fatal(err)
	}
	if _, err := p.AppendData(nil, OpText, true, []byte("y"), false); err != nil {
		t.Fatal(err)
	}
	if _, err := p.AppendPing(nil, nil); err != nil {
		t.Fatal(err)
	}
	if want := "[b:decode a:decode a:encode b:encode]"; fmt.Sprint(log) != want {
		t.Fatalf("calls %v, want %s", log, want)
	}
}

func TestProtocolEncodeSetsRsvAndSeesNoCompress(t *testing.T) {
	var seen []Frame
	ext := &fakeExt{name: "e", rsv: RSV1, encode: func(f *Frame) error {
		seen = append(seen, *f)
		if f.Opcode != OpContinuation && !f.NoCompress {
			f.Rsv |= RSV1
		}
		f.Payload = append([]byte("<"), f.Payload...)
		return nil
	}}
	s := NewProtocol(Server, Config{Extensions: []Extension{ext}})
	out, err := s.AppendData(nil, OpText, false, []byte("a"), false)
	if err != nil || !bytes.Equal(out, []byte{0x41, 2, '<', 'a'}) {
		t.Fatalf("% x %v", out, err)
	}
	out, _ = s.AppendData(nil, OpContinuation, true, []byte("b"), true) // ignored: read on the first frame
	if !bytes.Equal(out, []byte{0x80, 2, '<', 'b'}) {
		t.Fatalf("% x", out)
	}
	out, _ = s.AppendData(nil, OpBinary, false, []byte("c"), true)
	out, _ = s.AppendData(out, OpContinuation, true, []byte("d"), false)
	if !bytes.Equal(out, []byte{0x02, 2, '<', 'c', 0x80, 2, '<', 'd'}) {
		t.Fatalf("% x", out)
	}
	if len(seen) != 4 || seen[0].NoCompress || seen[1].NoCompress || !seen[2].NoCompress || !seen[3].NoCompress || seen[1].Fin != true || seen[0].Opcode != OpText {
		t.Fatalf("frames seen %+v", seen)
	}
	// The client masks the encoded payload.
	c := NewProtocol(Client, Config{Extensions: []Extension{ext}})
	out, _ = c.AppendData(nil, OpBinary, true, []byte("z"), false)
	if f := parseFrames(t, out); f[0].Rsv != RSV1 || string(f[0].payload) != "<z" || !f[0].Masked {
		t.Fatalf("%+v", f)
	}
}

func TestProtocolEncodeErrorAppendsNothing(t *testing.T) {
	boom := errors.New("boom")
	ext := &fakeExt{name: "e", encode: func(*Frame) error { return boom }}
	p := NewProtocol(Server, Config{Extensions: []Extension{ext}})
	out, err := p.AppendData([]byte("dst"), OpText, false, []byte("x"), false)
	if !errors.Is(err, boom) || string(out) != "dst" || p.SendingMessage() {
		t.Fatalf("%q %v sending %v", out, err, p.SendingMessage())
	}
}

// ------------------------------------------------------------------- errors

func TestErrorsMatchTheirSentinels(t *testing.T) {
	sentinels := []error{ErrClosed, ErrInvalidState, ErrConcurrency, ErrInvalidHandshake, ErrInvalidMessage, ErrSecurityLimit,
		ErrInvalidMethod, ErrInvalidProtocol, ErrInvalidUpgrade, ErrInvalidHeader, ErrInvalidOrigin, ErrInvalidHost,
		ErrInvalidStatus, ErrNegotiation, ErrInvalidURI, ErrProtocol, ErrMessageTooBig, ErrInvalidUTF8, ErrNeedMore,
		ErrLengthOverflow, ErrNonMinimalLength}
	cause := errors.New("cause")
	tests := []struct {
		name  string
		err   error
		match []error
		str   string
	}{
		{"protocol error 1002", &ProtocolError{Code: 1002, Msg: "m"}, []error{ErrProtocol}, "ws: m"},
		{"protocol error 1009", &ProtocolError{Code: 1009, Msg: "m"}, []error{ErrProtocol, ErrMessageTooBig}, "ws: m"},
		{"protocol error 1007", &ProtocolError{Code: 1007, Msg: "m"}, []error{ErrProtocol, ErrInvalidUTF8}, "ws: m"},
		{"close error", &CloseError{Cause: cause}, []error{ErrClosed, cause}, "no close frame received or sent"},
		{"close error with protocol cause", &CloseError{Cause: &ProtocolError{Code: 1009}}, []error{ErrClosed, ErrProtocol, ErrMessageTooBig}, ""},
		{"handshake error", &HandshakeError{Msg: "m", Err: ErrInvalidOrigin}, []error{ErrInvalidHandshake, ErrInvalidOrigin}, "ws: m"},
		{"handshake error, no message", &HandshakeError{Err: ErrInvalidHost}, []error{ErrInvalidHandshake, ErrInvalidHost}, "ws: invalid host"},
		{"handshake error wrapping a cause", &HandshakeError{Msg: "m", Err: cause}, []error{ErrInvalidHandshake, cause}, "ws: m"},
		{"status error", &StatusError{Response: respWith(503, nil)}, []error{ErrInvalidStatus, ErrInvalidHandshake}, "ws: server rejected WebSocket connection: HTTP 503"},
		{"negotiation error", &NegotiationError{Msg: "m"}, []error{ErrNegotiation, ErrInvalidHandshake}, "ws: m"},
		{"wrapped negotiation error", fmt.Errorf("x: %w", &NegotiationError{Msg: "m"}), []error{ErrNegotiation, ErrInvalidHandshake}, "x: ws: m"},
	}
	for _, tt := range tests {
		for _, s := range sentinels {
			want := false
			for _, m := range tt.match {
				want = want || m == s
			}
			if errors.Is(tt.err, s) != want {
				t.Errorf("%s: errors.Is(%v) = %v", tt.name, s, !want)
			}
		}
		for _, m := range tt.match {
			if !errors.Is(tt.err, m) {
				t.Errorf("%s: does not match %v", tt.name, m)
			}
		}
		if tt.str != "" && tt.err.Error() != tt.str {
			t.Errorf("%s: Error() = %q, want %q", tt.name, tt.err.Error(), tt.str)
		}
	}
	// errors.As reaches every typed error through wrapping.
	var pe *ProtocolError
	if !errors.As(fmt.Errorf("w: %w", &CloseError{Cause: &ProtocolError{Code: 1007}}), &pe) || pe.Code != 1007 {
		t.Error("As *ProtocolError through CloseError")
	}
	var ce *CloseError
	if !errors.As(fmt.Errorf("w: %w", NewProtocol(Client, Config{}).CloseError(nil)), &ce) {
		t.Error("As *CloseError")
	}
	var he *HandshakeError
	if !errors.As(fmt.Errorf("w: %w", &HandshakeError{Status: 400}), &he) || he.Status != 400 {
		t.Error("As *HandshakeError")
	}
	var se *StatusError
	if !errors.As(fmt.Errorf("w: %w", &StatusError{Response: respWith(404, nil)}), &se) || se.StatusCode() != 404 {
		t.Error("As *StatusError")
	}
	var ne *NegotiationError
	if !errors.As(fmt.Errorf("w: %w", &NegotiationError{Msg: "n"}), &ne) || ne.Msg != "n" {
		t.Error("As *NegotiationError")
	}
}

func TestProtocolAsksOnlyExtensionsWhoseBitsTheMessageCarries(t *testing.T) {
	var log []string
	clear := func(bit byte) func(*Frame, int64) error {
		return func(f *Frame, _ int64) error { f.Rsv &^= bit; return nil }
	}
	a := &fakeExt{name: "a", rsv: RSV1, decode: clear(RSV1), log: &log}
	b := &fakeExt{name: "b", rsv: RSV2, decode: clear(RSV2), log: &log}
	p := NewProtocol(Server, Config{Extensions: []Extension{a, b}})
	_, err := feed(t, p, from(Server,
		fr{op: OpText, fin: true, rsv: RSV1, payload: []byte("1")},
		fr{op: OpText, fin: true, rsv: RSV2, payload: []byte("2")},
		fr{op: OpText, fin: true, rsv: RSV1 | RSV2, payload: []byte("3")},
		txt("4"),
	))
	if err != nil {
		t.Fatal(err)
	}
	if want := "[a:decode b:decode b:decode a:decode]"; fmt.Sprint(log) != want {
		t.Fatalf("calls %v, want %s", log, want)
	}
}
