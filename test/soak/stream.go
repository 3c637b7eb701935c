package soak

// stream checks the echoes one connection receives against the messages
// it sent, numbered 0, 1, 2... An echo stream is correct when it is a
// prefix of what was sent: every echo is the one after the previous.
// Any other echo is classified:
//
//   - an echo past the next one expected skips the numbers in between;
//     they are missing;
//   - a missing number that arrives later is reordered (late);
//   - a number received already is duplicated;
//   - a number never sent is unknown.
//
// Numbers still missing when the connection ends are holes: messages
// lost silently, since later ones arrived. Numbers sent after the last
// echo and never echoed are the tail: cut off by the end of the
// connection, which the connection's close accounts for.
type stream struct {
	sent     uint64 // messages sent: numbers 0 to sent-1
	next     uint64 // one past the highest number received
	received uint64 // distinct numbers received
	missing  map[uint64]struct{}

	duplicated, reordered, unknown uint64
}

// send records that the next number was sent and returns it.
func (s *stream) send() uint64 {
	n := s.sent
	s.sent++
	return n
}

// receive records the echo of number n, and reports whether it is the
// first echo of a number that was sent.
func (s *stream) receive(n uint64) bool {
	switch {
	case n >= s.sent:
		s.unknown++
		return false
	case n == s.next:
		s.next++
		s.received++
	case n > s.next:
		if s.missing == nil {
			s.missing = make(map[uint64]struct{})
		}
		for k := s.next; k < n; k++ {
			s.missing[k] = struct{}{}
		}
		s.next = n + 1
		s.received++
	default:
		if _, ok := s.missing[n]; !ok {
			s.duplicated++
			return false
		}
		delete(s.missing, n)
		s.reordered++
		s.received++
	}
	return true
}

// holes is the number of messages still missing: skipped by a later echo
// and not received since.
func (s *stream) holes() uint64 { return uint64(len(s.missing)) }

// tail is the number of messages sent after the highest one echoed: the
// messages in flight while the connection lives (the window a client
// fills), and those cut off once it has ended.
func (s *stream) tail() uint64 { return s.sent - s.next }

// holesFrom is the number of holes numbered n or more.
func (s *stream) holesFrom(n uint64) uint64 {
	var h uint64
	for k := range s.missing {
		if k >= n {
			h++
		}
	}
	return h
}

// receivedBelow is the number of distinct messages numbered below n that
// were received.
func (s *stream) receivedBelow(n uint64) uint64 {
	top := min(s.next, n)
	var miss uint64
	for k := range s.missing {
		if k < top {
			miss++
		}
	}
	return top - miss
}
