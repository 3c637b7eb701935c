package ws

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

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
			1009, "decoded frame exceeds limit of 10 bytes", "decoded frame exceeds limit of 10 bytes"},
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

// A decoder reports going over the budget it was given (what the message
// has left); the reason names the limit and what the message had used,
// not "limit of 0 bytes".
func TestDecodedFrameOverTheLimitNamesTheLimitNotTheBudgetLeft(t *testing.T) {
	ext := &fakeExt{name: "e", rsv: RSV1, decode: func(f *Frame, limit int64) error {
		if int64(len(f.Payload))*4 > limit { // each frame inflates to 4 times its size
			return &ProtocolError{Code: 1009, Msg: "frame exceeds limit of " + itoa(limit) + " bytes"}
		}
		f.Payload, f.Rsv = make([]byte, 4*len(f.Payload)), 0
		return nil
	}}
	p := NewProtocol(Server, Config{MaxMessageSize: 16, Extensions: []Extension{ext}})
	_, err := feed(t, p, from(Server,
		fr{op: OpText, rsv: RSV1, payload: []byte("ab")},
		fr{op: OpContinuation, payload: []byte("cd")},
		fr{op: OpContinuation, fin: true, payload: []byte("ef")}))
	var pe *ProtocolError
	want := "decoded frame after reading 16 bytes exceeds limit of 16 bytes"
	if !errors.As(err, &pe) || pe.Code != CloseMessageTooBig || pe.Msg != want {
		t.Fatalf("err = %v, want 1009 %q", err, want)
	}
}
