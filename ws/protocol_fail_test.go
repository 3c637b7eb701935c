package ws

import (
	"errors"
	"strings"
	"testing"
)

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
