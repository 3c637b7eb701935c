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
