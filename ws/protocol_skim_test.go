package ws

import (
	"bytes"
	"testing"
)

// After the runtime fails the connection, frames still in flight are not
// processed (no events, no pong), but the peer's answering close frame is
// recorded, however the bytes are chopped.
func TestCloseFrameAfterFailIsRecordedNotProcessed(t *testing.T) {
	closePl, _ := AppendClosePayload(nil, CloseFrame{Code: CloseInternalError, Reason: "keepalive ping timeout"})
	wire := from(Server, bin(string(bytes.Repeat([]byte("d"), 300))), ctl(OpPing, []byte("p")), ctl(OpClose, closePl), txt("after"))
	for _, chunk := range []int{len(wire), 7, 1} {
		p := NewProtocol(Server, Config{})
		p.Fail(CloseInternalError, "keepalive ping timeout")
		out := p.TakeOutput(nil)
		var chunks [][]byte
		for i := 0; i < len(wire); i += chunk {
			chunks = append(chunks, wire[i:min(i+chunk, len(wire))])
		}
		evs, err := feed(t, p, chunks...)
		if len(evs) != 0 || err != nil || p.HasOutput() {
			t.Fatalf("chunks of %d: events %v, err %v, output %v", chunk, evs, err, p.HasOutput())
		}
		ce := p.CloseError(nil)
		if ce.Rcvd == nil || ce.Rcvd.Code != CloseInternalError || ce.Rcvd.Reason != "keepalive ping timeout" || ce.RcvdThenSent {
			t.Fatalf("chunks of %d: %v", chunk, ce)
		}
		if got := ce.Error(); got != "sent 1011 (internal error) keepalive ping timeout; then received 1011 (internal error) keepalive ping timeout" {
			t.Fatalf("chunks of %d: CloseError %q", chunk, got)
		}
		if len(parseFrames(t, out)) != 1 {
			t.Fatalf("output %q", out)
		}
	}
}

// After a violation by the peer its frames may be out of step: nothing
// more is read, not even a close frame.
func TestFramesAfterAViolationAreNotWalked(t *testing.T) {
	closePl, _ := AppendClosePayload(nil, CloseFrame{Code: CloseNormal})
	p := NewProtocol(Server, Config{})
	_, err := feed(t, p, from(Server, fr{op: OpText, fin: true, rsv: RSV2}))
	if err == nil {
		t.Fatal("no error")
	}
	if evs, _ := feed(t, p, from(Server, ctl(OpClose, closePl))); len(evs) != 0 || p.CloseRcvd() != nil {
		t.Fatalf("events %v, close received %v", evs, p.CloseRcvd())
	}
}
