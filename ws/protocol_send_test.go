package ws

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

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
		{"continuation without a message", nil, []step{{OpContinuation, true, ErrInvalidSend}}},
		{"text during a fragmented message", nil, []step{{OpText, false, nil}, {OpText, true, ErrInvalidSend}, {OpContinuation, true, nil}}},
		{"binary during a fragmented message", nil, []step{{OpBinary, false, nil}, {OpBinary, false, ErrInvalidSend}}},
		{"continuation after the last fragment", nil, []step{{OpBinary, false, nil}, {OpContinuation, true, nil}, {OpContinuation, true, ErrInvalidSend}}},
		{"control opcode", nil, []step{{OpPing, true, ErrInvalidSend}, {OpClose, true, ErrInvalidSend}, {3, true, ErrInvalidSend}}},
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
			var se *SendError
			if !errors.Is(err, ErrInvalidSend) || !errors.As(err, &se) || errors.Is(err, ErrProtocol) || string(out) != "dst" || err.Error() != "ws: control frame too long" {
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
	}{
		{"1000", 1000, "", []byte{0x03, 0xe8}, nil},
		{"1001 with reason", 1001, "bye", []byte("\x03\xe9bye"), nil},
		{"123-byte reason", 1000, strings.Repeat("r", 123), append([]byte{0x03, 0xe8}, strings.Repeat("r", 123)...), nil},
		{"1005 sends empty payload", CloseNoStatus, "", []byte{}, nil},
		{"4999", 4999, "", []byte{0x13, 0x87}, nil},
		{"124-byte reason", 1000, strings.Repeat("r", 124), nil, ErrInvalidSend},
		{"1005 with reason", CloseNoStatus, "x", nil, ErrInvalidSend},
		{"1006", CloseAbnormal, "", nil, ErrInvalidSend},
		{"1004", 1004, "", nil, ErrInvalidSend},
		{"1015", 1015, "", nil, ErrInvalidSend},
		{"999", 999, "", nil, ErrInvalidSend},
		{"5000", 5000, "", nil, ErrInvalidSend},
		{"invalid UTF-8 reason", 1000, "\xff", nil, ErrInvalidUTF8},
	}
	for _, side := range sides {
		for _, tt := range tests {
			t.Run(side.String()+"/"+tt.name, func(t *testing.T) {
				p := NewProtocol(side, Config{})
				out, err := p.AppendClose([]byte("dst"), tt.code, tt.reason)
				if tt.errIs != nil {
					var se *SendError
					if !errors.Is(err, tt.errIs) || !errors.As(err, &se) || errors.Is(err, ErrProtocol) || string(out) != "dst" {
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
