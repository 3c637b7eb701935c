package ws

import (
	"bytes"
	"testing"
)

// drain feeds b to p and collects every event, copying payloads.
func drain(t *testing.T, p *Protocol, b []byte) ([]Event, error) {
	t.Helper()
	if err := p.Feed(b); err != nil {
		t.Fatalf("Feed: %v", err)
	}
	var evs []Event
	for {
		ev, err := p.Next()
		if err != nil {
			return evs, err
		}
		if ev.Kind == EventNone {
			return evs, nil
		}
		ev.Payload = bytes.Clone(ev.Payload)
		evs = append(evs, ev)
	}
}

func TestSmokeClientToServerRoundTrip(t *testing.T) {
	c := NewProtocol(Client, Config{})
	s := NewProtocol(Server, Config{})
	wire, err := c.AppendData(nil, OpText, false, []byte("héllo "), false)
	if err != nil {
		t.Fatal(err)
	}
	wire, _ = c.AppendData(wire, OpContinuation, true, []byte("wörld"), false)
	wire, _ = c.AppendPing(wire, []byte("p"))
	wire, _ = c.AppendClose(wire, CloseNormal, "bye")
	// Deliver byte by byte to exercise every partial path.
	var evs []Event
	for i := range wire {
		got, err := drain(t, s, wire[i:i+1])
		if err != nil {
			t.Fatalf("at byte %d: %v", i, err)
		}
		evs = append(evs, got...)
	}
	var text []byte
	var kinds []EventKind
	for _, ev := range evs {
		kinds = append(kinds, ev.Kind)
		if ev.Kind == EventData {
			text = append(text, ev.Payload...)
		}
	}
	if string(text) != "héllo wörld" {
		t.Fatalf("text = %q", text)
	}
	if kinds[len(kinds)-1] != EventClose || kinds[len(kinds)-2] != EventPing {
		t.Fatalf("kinds = %v", kinds)
	}
	out := s.TakeOutput(nil)
	// Server answers the ping with a pong and echoes the close.
	cevs, err := drain(t, c, out)
	if err != nil {
		t.Fatal(err)
	}
	if len(cevs) != 2 || cevs[0].Kind != EventPong || cevs[1].Kind != EventClose || cevs[1].Close.Reason != "bye" {
		t.Fatalf("client events = %+v", cevs)
	}
	if !s.CloseTransport() || c.CloseTransport() {
		t.Fatalf("server should close the transport first")
	}
	c.FeedEOF()
	s.FeedEOF()
	if err := c.CloseError(nil); !err.OK() || err.Error() != "sent 1000 (OK) bye; then received 1000 (OK) bye" {
		t.Fatalf("client close error: %v", err)
	}
	if err := s.CloseError(nil); !err.OK() || err.Error() != "received 1000 (OK) bye; then sent 1000 (OK) bye" {
		t.Fatalf("server close error: %v", err)
	}
}
