package ws

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// A caller that reads the rest of a data frame into its own buffer gets the
// same events, unmasked and checked, as from Feed and Next.
func TestFeedPayloadDeliversTheRestOfAFrameInPlace(t *testing.T) {
	for _, side := range sides {
		msg := []byte(strings.Repeat("héllo wörld ", 100))
		wire := from(side, fr{op: OpText, payload: msg[:500]}, cont(string(msg[500:]), true))
		hdr1 := 2 + 2 // 500 bytes: 16-bit length
		if side == Server {
			hdr1 += 4
		}
		p := NewProtocol(side, Config{})
		// The header and 100 bytes through Feed.
		evs, err := drain(t, p, wire[:hdr1+100])
		if err != nil || len(evs) != 1 || !bytes.Equal(evs[0].Payload, msg[:100]) || !evs[0].First || evs[0].Fin {
			t.Fatalf("%v: Feed: %v %+v", side, err, evs)
		}
		if n := p.PayloadRemaining(); n != 400 {
			t.Fatalf("%v: PayloadRemaining = %d, want 400", side, n)
		}
		// The rest of the frame in two reads of the caller's own.
		got := append([]byte(nil), msg[:100]...)
		for _, part := range [][]byte{wire[hdr1+100 : hdr1+250], wire[hdr1+250 : hdr1+500]} {
			buf := bytes.Clone(part)
			ev, err := p.FeedPayload(buf)
			if err != nil || ev.Kind != EventData || ev.First || ev.Fin || &ev.Payload[0] != &buf[0] {
				t.Fatalf("%v: FeedPayload: %v %+v", side, err, ev)
			}
			got = append(got, ev.Payload...)
		}
		if n := p.PayloadRemaining(); n != 0 {
			t.Fatalf("%v: PayloadRemaining = %d after the frame", side, n)
		}
		// The next frame's header goes through Feed again.
		evs, err = drain(t, p, wire[hdr1+500:])
		if err != nil || len(evs) == 0 || !evs[len(evs)-1].Fin {
			t.Fatalf("%v: continuation: %v %+v", side, err, evs)
		}
		for _, ev := range evs {
			got = append(got, ev.Payload...)
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("%v: message differs", side)
		}
	}
}

func TestFeedPayloadChecksUTF8AndSize(t *testing.T) {
	bad := append([]byte(strings.Repeat("a", 200)), 0xff)
	wire := from(Server, fr{op: OpText, fin: true, payload: bad})
	p := NewProtocol(Server, Config{})
	if _, err := drain(t, p, wire[:8+10]); err != nil {
		t.Fatal(err)
	}
	if _, err := p.FeedPayload(bytes.Clone(wire[18:])); err == nil || p.Failure() == nil {
		t.Fatalf("invalid UTF-8 through FeedPayload: %v", err)
	}
	var pe *ProtocolError
	if !errors.As(p.Failure(), &pe) || pe.Code != CloseInvalidPayload {
		t.Fatalf("failure %v, want 1007", p.Failure())
	}
	// Once failed, payload is ignored.
	if ev, err := p.FeedPayload([]byte("x")); err != nil || ev.Kind != EventNone {
		t.Fatalf("after failure: %v %+v", err, ev)
	}

	p = NewProtocol(Server, Config{})
	wire = from(Server, bin(strings.Repeat("b", 300)))
	if _, err := drain(t, p, wire[:8+10]); err != nil {
		t.Fatal(err)
	}
	if _, err := p.FeedPayload(make([]byte, 291)); !errors.Is(err, errNoPayloadDue) {
		t.Fatalf("more than the frame's rest: %v", err)
	}
	if _, err := p.FeedPayload(nil); !errors.Is(err, errNoPayloadDue) {
		t.Fatalf("empty: %v", err)
	}
}

// PayloadRemaining is 0 wherever the caller must go through Feed: input
// left to parse, control frames, frames an extension decodes, a failed
// connection.
func TestPayloadRemainingOnlyForPlainDataFrames(t *testing.T) {
	p := NewProtocol(Server, Config{})
	wire := from(Server, bin(strings.Repeat("c", 300)))
	if err := p.Feed(wire[:8+10]); err != nil {
		t.Fatal(err)
	}
	if n := p.PayloadRemaining(); n != 0 {
		t.Fatalf("with input not yet parsed: %d", n)
	}
	for {
		if ev, _ := p.Next(); ev.Kind == EventNone {
			break
		}
	}
	if n := p.PayloadRemaining(); n != 290 {
		t.Fatalf("after parsing: %d, want 290", n)
	}
	p.Fail(CloseGoingAway, "")
	if n := p.PayloadRemaining(); n != 0 {
		t.Fatalf("after Fail: %d", n)
	}

	p = NewProtocol(Server, Config{})
	if _, err := drain(t, p, from(Server, ctl(OpPing, bytes.Repeat([]byte("p"), 100)))[:20]); err != nil {
		t.Fatal(err)
	}
	if n := p.PayloadRemaining(); n != 0 {
		t.Fatalf("in a ping: %d", n)
	}

	ext := &fakeExt{name: "x", rsv: RSV1, decode: func(f *Frame, _ int64) error { f.Rsv = 0; return nil }}
	p = NewProtocol(Server, Config{Extensions: []Extension{ext}})
	if _, err := drain(t, p, from(Server, fr{op: OpBinary, fin: true, rsv: RSV1, payload: make([]byte, 300)})[:20]); err != nil {
		t.Fatal(err)
	}
	if n := p.PayloadRemaining(); n != 0 {
		t.Fatalf("in a frame an extension decodes: %d", n)
	}
}
