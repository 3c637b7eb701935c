package soak

import "testing"

// sendN records n messages sent.
func sendN(s *stream, n int) {
	for range n {
		s.send()
	}
}

func TestStreamInOrderEchoesArePrefixWithoutAnomalies(t *testing.T) {
	var s stream
	sendN(&s, 10)
	for n := range uint64(6) {
		if !s.receive(n) {
			t.Fatalf("receive(%d) = false, want true for a first echo", n)
		}
	}
	if s.received != 6 || s.holes() != 0 || s.duplicated != 0 || s.reordered != 0 || s.unknown != 0 {
		t.Fatalf("after 0..5 in order: %+v", s)
	}
	if s.tail() != 4 {
		t.Fatalf("tail = %d, want 4 (6..9 sent, not echoed)", s.tail())
	}
}

func TestStreamSkippedNumberNeverArrivingIsAHole(t *testing.T) {
	var s stream
	sendN(&s, 5)
	for _, n := range []uint64{0, 1, 4} {
		s.receive(n)
	}
	if s.holes() != 2 || s.tail() != 0 {
		t.Fatalf("holes = %d, tail = %d; want 2 holes (2 and 3), tail 0", s.holes(), s.tail())
	}
	if got := s.receivedBelow(5); got != 3 {
		t.Fatalf("receivedBelow(5) = %d, want 3", got)
	}
	if got := s.holesFrom(3); got != 1 {
		t.Fatalf("holesFrom(3) = %d, want 1 (number 3)", got)
	}
}

func TestStreamLateNumberIsReorderedNotAHole(t *testing.T) {
	var s stream
	sendN(&s, 4)
	for _, n := range []uint64{0, 2, 1, 3} {
		s.receive(n)
	}
	if s.reordered != 1 || s.holes() != 0 || s.received != 4 {
		t.Fatalf("0 2 1 3: reordered %d, holes %d, received %d; want 1, 0, 4", s.reordered, s.holes(), s.received)
	}
}

func TestStreamRepeatedNumberIsDuplicated(t *testing.T) {
	var s stream
	sendN(&s, 3)
	s.receive(0)
	s.receive(1)
	if s.receive(1) {
		t.Fatal("receive of a number received already = true, want false")
	}
	if s.duplicated != 1 || s.received != 2 {
		t.Fatalf("duplicated %d, received %d; want 1, 2", s.duplicated, s.received)
	}
}

func TestStreamNumberNeverSentIsUnknown(t *testing.T) {
	var s stream
	sendN(&s, 2)
	if s.receive(7) {
		t.Fatal("receive of a number never sent = true, want false")
	}
	if s.unknown != 1 || s.next != 0 || s.holes() != 0 {
		t.Fatalf("unknown %d, next %d, holes %d; want 1, 0, 0", s.unknown, s.next, s.holes())
	}
}
