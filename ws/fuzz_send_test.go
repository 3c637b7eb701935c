package ws

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
	"unicode/utf8"
)

// validUTF8Prefix reports whether b can be extended into valid UTF-8: it
// is valid, or it ends in a sequence that 1 to 3 more bytes complete. The
// second byte of a sequence has the narrowest range (after E0, ED, F0, F4),
// and one of 80, 90, A0 always fits it; later bytes take 80.
func validUTF8Prefix(b []byte) bool {
	if utf8.Valid(b) {
		return true
	}
	for k := 1; k <= 3; k++ {
		for _, second := range []byte{0x80, 0x90, 0xa0} {
			tail := append([]byte{second}, bytes.Repeat([]byte{0x80}, k-1)...)
			if utf8.Valid(append(bytes.Clone(b), tail...)) {
				return true
			}
		}
	}
	return false
}

// sendModel is what a sender's state should be, kept apart from Protocol.
type sendModel struct {
	inMsg  bool
	text   bool
	joined []byte // the text of the message so far
}

// fuzzSend reads b as a script of send requests and runs it on two
// protocols of the same side and configuration, one framing with
// AppendDataWith and one with AppendDataHeader (falling back to
// AppendDataWith when it declines). Both must append the same bytes and
// refuse the same requests, as a model of the rules predicts, and a peer
// must accept everything they send.
func fuzzSend(t *testing.T, sel byte, b []byte) {
	side, cfg := fuzzConfig(sel)
	a, h := NewProtocol(side, cfg), NewProtocol(side, cfg)
	a.rng, h.rng = rand.NewChaCha8([32]byte{1}), rand.NewChaCha8([32]byte{1})
	peer := NewProtocol(1-side, Config{MaxMessageSize: -1})
	var m sendModel
	for len(b) >= 2 {
		k, n := b[0], min(int(b[1])%48, len(b)-2)
		payload := b[2 : 2+n]
		b = b[2+n:]
		if k&0x80 != 0 {
			payload = bytes.Repeat([]byte{'p'}, MaxControlPayload+int(k&1))
		}
		fin := k&0x10 != 0
		var flags SendFlags
		if k&0x20 != 0 {
			flags |= SendNoCompress
		}
		if k&0x40 != 0 && utf8.Valid(payload) {
			flags |= SendValidUTF8
		}
		canSend := a.State() == StateOpen && a.Failure() == nil
		var outA, outH []byte
		var errA, errH, want error
		switch kind := k % 8; kind {
		case 0, 1, 2, 6:
			op := [...]Opcode{OpText, OpBinary, OpContinuation}[min(kind, 2)]
			if kind == 6 {
				op = Opcode(n & 0xf)
			}
			want = m.expectData(canSend, op, fin, payload, flags)
			outA, errA = a.AppendDataWith(nil, op, fin, payload, flags)
			var raw bool
			outH, raw, errH = h.AppendDataHeader(nil, op, fin, payload, flags)
			if raw {
				if side != Server || len(cfg.Extensions) != 0 {
					t.Fatalf("raw frame for a %v with %d extensions", side, len(cfg.Extensions))
				}
				outH = append(outH, payload...)
			} else if errH == nil {
				if len(outH) != 0 {
					t.Fatalf("AppendDataHeader declined but appended % x", outH)
				}
				outH, errH = h.AppendDataWith(nil, op, fin, payload, flags)
			}
			if !m.inMsg && fin && (op == OpText || op == OpBinary) && canSend && flags&SendValidUTF8 == 0 {
				if (CheckMessage(op, payload) == nil) != (errA == nil) {
					t.Fatalf("CheckMessage(%v, %q) = %v, AppendData: %v", op, payload, CheckMessage(op, payload), errA)
				}
			}
			if errA == nil {
				m.sent(op, fin, payload)
			}
		case 3, 4:
			appendCtl := [2]func(*Protocol, []byte, []byte) ([]byte, error){(*Protocol).AppendPing, (*Protocol).AppendPong}[kind-3]
			switch {
			case a.State() != StateOpen && a.State() != StateClosing || a.State() == StateOpen && a.Failure() != nil:
				want = ErrInvalidState
			case len(payload) > MaxControlPayload:
				want = ErrInvalidSend
			}
			outA, errA = appendCtl(a, nil, payload)
			outH, errH = appendCtl(h, nil, payload)
		case 5:
			var cf CloseFrame
			if len(payload) >= 2 {
				cf = CloseFrame{Code: CloseCode(payload[0])<<8 | CloseCode(payload[1]), Reason: string(payload[2:])}
			}
			code := cf.Code
			wireOK := code >= 1000 && code <= 1003 || code >= 1007 && code <= 1014 || code >= 3000 && code <= 4999
			switch {
			case !canSend:
				want = ErrInvalidState
			case code == CloseNoStatus && cf.Reason != "",
				code != CloseNoStatus && (!wireOK || len(cf.Reason) > 123 || !utf8.ValidString(cf.Reason)):
				want = ErrInvalidSend
			}
			outA, errA = a.AppendClose(nil, cf.Code, cf.Reason)
			outH, errH = h.AppendClose(nil, cf.Code, cf.Reason)
		case 7:
			wantFail := m.inMsg && canSend
			fa, fh := a.AbandonMessage("abandoned"), h.AbandonMessage("abandoned")
			if fa != wantFail || fh != wantFail {
				t.Fatalf("AbandonMessage = %v, %v; want %v", fa, fh, wantFail)
			}
			if fa && (a.State() != StateClosing || a.Failure() == nil || !a.HasOutput()) {
				t.Fatalf("abandoned message: state %v failure %v", a.State(), a.Failure())
			}
			m = sendModel{}
		}
		if errA != errH && (errA == nil || errH == nil || errA.Error() != errH.Error()) {
			t.Fatalf("AppendDataWith: %v; AppendDataHeader: %v", errA, errH)
		}
		switch {
		case want == nil && errA != nil:
			t.Fatalf("request %#x refused: %v", k, errA)
		case want == ErrInvalidState && !errors.Is(errA, ErrInvalidState),
			want == ErrInvalidText && errA != ErrInvalidText,
			want == ErrInvalidSend && !isSendError(errA):
			t.Fatalf("request %#x: err %v, want %v", k, errA, want)
		}
		if errA != nil && len(outA) != 0 {
			t.Fatalf("refused request appended % x", outA)
		}
		outA, outH = a.TakeOutput(outA), h.TakeOutput(outH)
		if !bytes.Equal(outA, outH) {
			t.Fatalf("request %#x: AppendDataWith sent % x, AppendDataHeader % x", k, outA, outH)
		}
		// The peer accepts everything that was sent.
		if len(outA) > 0 {
			if err := peer.Feed(outA); err != nil {
				t.Fatal(err)
			}
			for {
				ev, err := peer.Next()
				if err != nil {
					t.Fatalf("the peer refused what was sent: %v", err)
				}
				if ev.Kind == EventNone {
					break
				}
			}
		}
	}
}

// expectData returns the error the rules give a data frame: nil,
// ErrInvalidState, ErrInvalidText or ErrInvalidSend.
func (m *sendModel) expectData(canSend bool, op Opcode, fin bool, payload []byte, flags SendFlags) error {
	switch {
	case !canSend:
		return ErrInvalidState
	case op == OpContinuation && !m.inMsg,
		(op == OpText || op == OpBinary) && m.inMsg,
		op != OpContinuation && op != OpText && op != OpBinary:
		return ErrInvalidSend
	}
	text := op == OpText || op == OpContinuation && m.text
	if !text {
		return nil
	}
	joined := payload
	if op == OpContinuation {
		joined = append(bytes.Clone(m.joined), payload...)
	}
	trusted := flags&SendValidUTF8 != 0 && (op != OpContinuation || utf8.Valid(m.joined))
	if !trusted && !validUTF8Prefix(joined) || fin && !utf8.Valid(joined) {
		return ErrInvalidText
	}
	return nil
}

// sent records an accepted data frame.
func (m *sendModel) sent(op Opcode, fin bool, payload []byte) {
	if op != OpContinuation {
		*m = sendModel{text: op == OpText}
	}
	m.joined = append(m.joined, payload...)
	m.inMsg = !fin
	if fin {
		*m = sendModel{}
	}
}
