package ws

import (
	"bytes"
	"errors"
	"testing"
)

// isSendError reports whether err is the caller's mistake: a *SendError
// matching ErrInvalidSend, and not a protocol error.
func isSendError(err error) bool {
	var se *SendError
	return errors.As(err, &se) && errors.Is(err, ErrInvalidSend) && !errors.Is(err, ErrProtocol)
}

func TestCheckMessage(t *testing.T) {
	tests := []struct {
		name  string
		op    Opcode
		data  string
		errIs error // nil: accepted
	}{
		{"text", OpText, "héllo", nil},
		{"empty text", OpText, "", nil},
		{"binary not UTF-8", OpBinary, "\xff\xfe", nil},
		{"invalid text", OpText, "ok\xff", ErrInvalidUTF8},
		{"truncated text", OpText, "h\xc3", ErrInvalidUTF8},
		{"surrogate", OpText, "\xed\xa0\x80", ErrInvalidUTF8},
		{"continuation", OpContinuation, "", ErrInvalidSend},
		{"ping", OpPing, "", ErrInvalidSend},
		{"close", OpClose, "", ErrInvalidSend},
		{"reserved opcode", 3, "", ErrInvalidSend},
	}
	for _, tt := range tests {
		err := CheckMessage(tt.op, []byte(tt.data))
		if tt.errIs == nil {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		if !errors.Is(err, tt.errIs) || !isSendError(err) {
			t.Errorf("%s: err %v, want a *SendError matching %v", tt.name, err, tt.errIs)
		}
	}
	if err := CheckMessage(OpText, []byte{0xff}); err != ErrInvalidText {
		t.Fatalf("invalid text: %v, want ErrInvalidText", err)
	}
}

func TestAppendDataValidatesTextAcrossFragments(t *testing.T) {
	for _, side := range sides {
		p := NewProtocol(side, Config{})
		// A whole text message that is not UTF-8 is refused; nothing is
		// appended and no message starts.
		out, err := p.AppendData([]byte("dst"), OpText, true, []byte("a\xff"), false)
		if err != ErrInvalidText || string(out) != "dst" || p.SendingMessage() {
			t.Fatalf("%v: invalid text: %q %v", side, out, err)
		}
		// "€" is e2 82 ac: split across three fragments it is fine.
		var wire []byte
		for i, piece := range []struct {
			op  Opcode
			fin bool
			b   string
		}{{OpText, false, "\xe2"}, {OpContinuation, false, "\x82"}, {OpContinuation, true, "\xac!"}} {
			if wire, err = p.AppendData(wire, piece.op, piece.fin, []byte(piece.b), false); err != nil {
				t.Fatalf("%v: fragment %d: %v", side, i, err)
			}
		}
		if got := joinPayloads(parseFrames(t, wire)); got != "€!" {
			t.Fatalf("%v: sent %q", side, got)
		}
		// A bad fragment is refused and leaves the message where it was:
		// a good one can follow.
		if _, err := p.AppendData(nil, OpText, false, []byte("\xc3"), false); err != nil {
			t.Fatal(err)
		}
		out, err = p.AppendData([]byte("dst"), OpContinuation, false, []byte("x"), false)
		if err != ErrInvalidText || string(out) != "dst" || !p.SendingMessage() {
			t.Fatalf("%v: bad continuation: %q %v", side, out, err)
		}
		// A message cannot end in the middle of a code point.
		if _, err := p.AppendData(nil, OpContinuation, true, nil, false); err != ErrInvalidText {
			t.Fatalf("%v: incomplete end: %v", side, err)
		}
		if _, err := p.AppendData(nil, OpContinuation, true, []byte("\xa9"), false); err != nil || p.SendingMessage() {
			t.Fatalf("%v: completing fragment: %v", side, err)
		}
		// Binary is never validated.
		if _, err := p.AppendData(nil, OpBinary, true, []byte{0xff}, false); err != nil {
			t.Fatalf("%v: binary: %v", side, err)
		}
	}
}

func TestSendValidUTF8SkipsValidationOnlyOnACodePointBoundary(t *testing.T) {
	p := NewProtocol(Server, Config{})
	// The flag is trusted on a boundary: the protocol does not look.
	out, err := p.AppendDataWith(nil, OpText, true, []byte("\xff"), SendValidUTF8)
	if err != nil || !bytes.Equal(out, []byte{0x81, 0x01, 0xff}) {
		t.Fatalf("trusted text: % x %v", out, err)
	}
	// In the middle of a code point it is ignored: the bytes are checked.
	if _, err := p.AppendData(nil, OpText, false, []byte("\xe2"), false); err != nil {
		t.Fatal(err)
	}
	if _, err := p.AppendDataWith(nil, OpContinuation, true, []byte("é"), SendValidUTF8); err != ErrInvalidText {
		t.Fatalf("flag after half a code point: %v", err)
	}
	if _, err := p.AppendDataWith(nil, OpContinuation, true, []byte("\x82\xac"), SendValidUTF8); err != nil {
		t.Fatalf("completing the code point: %v", err)
	}
}

func TestAppendDataRefusalsAreSendErrors(t *testing.T) {
	p := NewProtocol(Server, Config{})
	for _, op := range []Opcode{OpPing, OpPong, OpClose, 3, 0xb} {
		if _, err := p.AppendData(nil, op, true, nil, false); !isSendError(err) {
			t.Errorf("opcode %v: %v", op, err)
		}
	}
	if _, err := p.AppendData(nil, OpContinuation, true, nil, false); !isSendError(err) {
		t.Errorf("continuation first: %v", err)
	}
	if _, err := p.AppendData(nil, OpBinary, false, nil, false); err != nil {
		t.Fatal(err)
	}
	if _, err := p.AppendData(nil, OpText, true, nil, false); !isSendError(err) {
		t.Errorf("text in a fragmented message: %v", err)
	}
	if _, err := p.AppendPing(nil, make([]byte, 126)); !isSendError(err) {
		t.Errorf("long ping: %v", err)
	}
	if _, err := p.AppendClose(nil, 999, ""); !isSendError(err) {
		t.Errorf("close code 999: %v", err)
	}
	// The refusals changed nothing: the message goes on, the connection
	// is open.
	if !p.SendingMessage() || p.State() != StateOpen || p.Failure() != nil || p.HasOutput() {
		t.Fatalf("state %v, sending %v, failure %v", p.State(), p.SendingMessage(), p.Failure())
	}
}

func TestAppendDataHeaderMatchesAppendData(t *testing.T) {
	payloads := [][]byte{nil, []byte("hi"), bytes.Repeat([]byte("é"), 100), bytes.Repeat([]byte{7}, 70000)}
	for _, data := range payloads {
		for _, op := range []Opcode{OpText, OpBinary} {
			a, b := NewProtocol(Server, Config{}), NewProtocol(Server, Config{})
			want, err := a.AppendData([]byte("dst"), op, true, data, false)
			if err != nil {
				t.Fatal(err)
			}
			hdr, raw, err := b.AppendDataHeader([]byte("dst"), op, true, data, 0)
			if err != nil || !raw {
				t.Fatalf("raw %v err %v", raw, err)
			}
			if got := append(hdr, data...); !bytes.Equal(got, want) {
				t.Fatalf("%v %d bytes: header+payload % x, AppendData % x", op, len(data), got[:min(len(got), 20)], want[:min(len(want), 20)])
			}
		}
	}
	// Fragments go through the same state machine.
	p := NewProtocol(Server, Config{})
	if _, raw, err := p.AppendDataHeader(nil, OpText, false, []byte("\xc3"), 0); !raw || err != nil || !p.SendingMessage() {
		t.Fatalf("first fragment: raw %v err %v", raw, err)
	}
	if _, _, err := p.AppendDataHeader(nil, OpBinary, true, nil, 0); !isSendError(err) {
		t.Fatalf("binary during a message: %v", err)
	}
	if _, _, err := p.AppendDataHeader(nil, OpContinuation, true, nil, 0); err != ErrInvalidText {
		t.Fatalf("incomplete text: %v", err)
	}
	hdr, raw, err := p.AppendDataHeader(nil, OpContinuation, true, []byte("\xa9"), 0)
	if !raw || err != nil || !bytes.Equal(hdr, []byte{0x80, 0x01}) || p.SendingMessage() {
		t.Fatalf("last fragment: % x %v %v", hdr, raw, err)
	}
	if _, raw, err := p.AppendDataHeader([]byte("dst"), OpText, true, []byte("\xff"), 0); raw || err != ErrInvalidText {
		t.Fatalf("invalid text: %v %v", raw, err)
	}
	p.Fail(CloseGoingAway, "")
	if _, raw, err := p.AppendDataHeader(nil, OpText, true, nil, 0); raw || !errors.Is(err, ErrInvalidState) {
		t.Fatalf("after failure: %v %v", raw, err)
	}
}

func TestAppendDataHeaderDeclinesFramesThatAreNotRaw(t *testing.T) {
	for _, p := range []*Protocol{
		NewProtocol(Client, Config{}),
		NewProtocol(Server, Config{Extensions: []Extension{&fakeExt{name: "x", rsv: RSV1}}}),
	} {
		// Even a request that would be refused: nothing is checked,
		// nothing appended, nothing changed.
		for _, op := range []Opcode{OpText, OpPing} {
			out, raw, err := p.AppendDataHeader([]byte("dst"), op, false, []byte("\xff"), 0)
			if raw || err != nil || string(out) != "dst" || p.SendingMessage() {
				t.Fatalf("%v %v: %q raw %v err %v", p.Side(), op, out, raw, err)
			}
		}
	}
}

func TestAbandonMessage(t *testing.T) {
	for _, side := range sides {
		// Nothing sent yet: nothing lost, a new message may start.
		p := NewProtocol(side, Config{})
		if p.AbandonMessage("why") || p.HasOutput() || p.State() != StateOpen {
			t.Fatalf("%v: abandoning no message failed the connection", side)
		}
		// A refused first fragment starts nothing either.
		if _, err := p.AppendData(nil, OpText, false, []byte("\xff"), false); err != ErrInvalidText {
			t.Fatal(err)
		}
		if p.AbandonMessage("why") || p.HasOutput() {
			t.Fatalf("%v: abandoning a refused first fragment failed the connection", side)
		}
		// Half a message on the wire: the connection fails with 1011.
		if _, err := p.AppendData(nil, OpBinary, false, []byte("a"), false); err != nil {
			t.Fatal(err)
		}
		if !p.AbandonMessage("error in fragmented message") {
			t.Fatalf("%v: abandoning half a message did not fail the connection", side)
		}
		f := parseFrames(t, p.TakeOutput(nil))
		if len(f) != 1 || f[0].Opcode != OpClose || string(f[0].payload) != "\x03\xf3error in fragmented message" {
			t.Fatalf("%v: output %+v", side, f)
		}
		if p.State() != StateClosing || p.SendingMessage() || !errors.Is(p.Failure(), ErrProtocol) {
			t.Fatalf("%v: state %v failure %v", side, p.State(), p.Failure())
		}
		if ce := p.CloseError(nil); ce.Sent == nil || ce.Sent.Code != CloseInternalError {
			t.Fatalf("%v: close error %v", side, ce)
		}
		// Once closing, there is nothing more to do.
		q := NewProtocol(side, Config{})
		if _, err := q.AppendData(nil, OpBinary, false, nil, false); err != nil {
			t.Fatal(err)
		}
		if _, err := q.AppendClose(nil, CloseNormal, ""); err != nil {
			t.Fatal(err)
		}
		if q.AbandonMessage("why") || q.HasOutput() || q.SendingMessage() {
			t.Fatalf("%v: abandon while closing", side)
		}
	}
}

func joinPayloads(f []parsedFrame) string {
	var b []byte
	for _, x := range f {
		b = append(b, x.payload...)
	}
	return string(b)
}
