package ws

import (
	"errors"
	"testing"
)

// With DeferClose, a violation stops input but not output: the caller
// may still send, and the failure's close frame goes out when it closes
// or fails, whatever code it gives.
func TestDeferredFailureKeepsTheSendSideOpenUntilClose(t *testing.T) {
	for _, closeWith := range []string{"AppendClose", "Fail"} {
		t.Run(closeWith, func(t *testing.T) {
			p := NewProtocol(Server, Config{DeferClose: true})
			bad := fr{op: OpText, fin: true, rsv: RSV2, payload: []byte("x")}
			evs, err := feed(t, p, from(Server, txt("hello"), bad, ctl(OpPing, []byte("p"))))
			var pe *ProtocolError
			if !errors.As(err, &pe) || pe.Code != CloseProtocolError || len(evs) != 1 || string(evs[0].Payload) != "hello" {
				t.Fatalf("events %v, err %v", evs, err)
			}
			if p.State() != StateOpen || p.HasOutput() {
				t.Fatalf("state %v, output %v: the failure must wait", p.State(), p.HasOutput())
			}
			if cf := p.PendingClose(); cf == nil || cf.Code != CloseProtocolError || cf.Reason != "reserved bits must be 0" {
				t.Fatalf("PendingClose = %v", cf)
			}
			// Input after the violation is ignored: the ping is not answered,
			// nor is anything fed later.
			if evs, err := feed(t, p, from(Server, txt("later"))); len(evs) != 0 || err != nil {
				t.Fatalf("after the violation: %v %v", evs, err)
			}
			out, err := p.AppendData(nil, OpText, true, []byte("hello"), false)
			if err != nil {
				t.Fatalf("AppendData while the failure waits: %v", err)
			}
			switch closeWith {
			case "AppendClose":
				out, err = p.AppendClose(out, CloseNormal, "bye")
				if err != nil {
					t.Fatal(err)
				}
			case "Fail":
				p.Fail(CloseInternalError, "keepalive ping timeout")
				out = p.TakeOutput(out)
			}
			frames := parseFrames(t, out)
			if len(frames) != 2 || frames[0].Opcode != OpText || frames[1].Opcode != OpClose {
				t.Fatalf("output %+v", frames)
			}
			if cf, err := ParseClosePayload(frames[1].payload); err != nil || cf.Code != CloseProtocolError {
				t.Fatalf("close frame %v %v, want the failure's 1002", cf, err)
			}
			if p.PendingClose() != nil || p.State() != StateClosing || !p.CloseTransport() {
				t.Fatalf("after the close: pending %v, state %v, close transport %v", p.PendingClose(), p.State(), p.CloseTransport())
			}
			if _, err := p.AppendData(nil, OpText, true, []byte("late"), false); err == nil {
				t.Fatal("AppendData after the failure's close frame succeeded")
			}
		})
	}
}

// Without DeferClose the close frame is queued at once, as before.
func TestFailureIsImmediateByDefault(t *testing.T) {
	p := NewProtocol(Server, Config{})
	bad := fr{op: OpText, fin: true, rsv: RSV2, payload: []byte("x")}
	if _, err := feed(t, p, from(Server, bad)); err == nil {
		t.Fatal("no error")
	}
	if p.PendingClose() != nil || p.State() != StateClosing || !p.HasOutput() {
		t.Fatalf("pending %v, state %v, output %v", p.PendingClose(), p.State(), p.HasOutput())
	}
}

// The end of the input ends a deferred failure: nothing is sent after it.
func TestEOFDropsTheDeferredFailure(t *testing.T) {
	p := NewProtocol(Client, Config{DeferClose: true})
	if _, err := feed(t, p, from(Client, fr{op: OpBinary, fin: true, rsv: RSV3})); err == nil {
		t.Fatal("no error")
	}
	p.FeedEOF()
	if p.PendingClose() != nil || p.State() != StateClosed {
		t.Fatalf("pending %v, state %v", p.PendingClose(), p.State())
	}
	if _, err := p.AppendClose(nil, CloseNormal, ""); err == nil {
		t.Fatal("AppendClose after EOF succeeded")
	}
}

// With DeferClose, the reply to the peer's close waits too: the caller may
// answer the messages before it, then its close sends the echo.
func TestDeferredCloseReplyEchoesThePeersClose(t *testing.T) {
	p := NewProtocol(Server, Config{DeferClose: true})
	payload, _ := AppendClosePayload(nil, CloseFrame{Code: CloseGoingAway, Reason: "restart"})
	evs, err := feed(t, p, from(Server, txt("hello"), ctl(OpClose, payload), txt("ignored")))
	if err != nil || len(evs) != 2 || evs[1].Kind != EventClose {
		t.Fatalf("events %v, err %v", evs, err)
	}
	if p.State() != StateOpen || p.HasOutput() || p.CloseTransport() {
		t.Fatalf("state %v, output %v, close transport %v: the reply must wait", p.State(), p.HasOutput(), p.CloseTransport())
	}
	out, err := p.AppendData(nil, OpText, true, []byte("hello"), false)
	if err != nil {
		t.Fatal(err)
	}
	if !p.SendPendingClose() {
		t.Fatal("SendPendingClose: nothing pending")
	}
	out = p.TakeOutput(out)
	frames := parseFrames(t, out)
	if len(frames) != 2 || frames[0].Opcode != OpText || frames[1].Opcode != OpClose {
		t.Fatalf("output %+v", frames)
	}
	if cf, _ := ParseClosePayload(frames[1].payload); cf.Code != CloseGoingAway || cf.Reason != "restart" {
		t.Fatalf("reply %v, want the echo of 1001 restart", cf)
	}
	ce := p.CloseError(nil)
	if !ce.OK() || !ce.RcvdThenSent || p.Failure() != nil || !p.CloseTransport() {
		t.Fatalf("after the reply: %v (failure %v, close transport %v)", ce, p.Failure(), p.CloseTransport())
	}
}

// A message kept open with empty fragments fails with 1008 once it has
// more than maxEmptyFragments of them; small fragments with data pass
// (the size limit bounds those).
func TestEmptyFragmentFloodFails1008(t *testing.T) {
	flood := []fr{frag(OpText, "")}
	for range maxEmptyFragments {
		flood = append(flood, cont("", false))
	}
	p := NewProtocol(Server, Config{})
	_, err := feed(t, p, from(Server, flood...))
	var pe *ProtocolError
	if !errors.As(err, &pe) || pe.Code != ClosePolicyViolation || pe.Msg != "too many empty fragments" {
		t.Fatalf("err = %v, want 1008 too many empty fragments", err)
	}

	fine := []fr{frag(OpBinary, "")}
	for range maxEmptyFragments - 1 {
		fine = append(fine, cont("", false))
	}
	for range 4 * maxEmptyFragments {
		fine = append(fine, cont("x", false))
	}
	fine = append(fine, cont("", true))
	p = NewProtocol(Server, Config{})
	evs, err := feed(t, p, from(Server, fine...))
	if err != nil || len(evs) == 0 || !evs[len(evs)-1].Fin {
		t.Fatalf("%d empty and many 1-byte fragments: %d events, err %v", maxEmptyFragments, len(evs), err)
	}
}
