package runtime

import (
	"net/http"
	"strconv"
	"time"
)

// DefaultRetryAfter is the delay that a Server's 503 answers past
// MaxConnections or MaxHandshakes ask clients to wait when
// Server.RetryAfter is 0.
const DefaultRetryAfter = 5 * time.Second

// admit returns the hook with which serverHandshake asks whether an
// upgrade may go ahead: nil lets it through, and keeps it a place under
// MaxConnections (*admitted is set; track settles it); a response refuses
// it, 503 when the server is shutting down or full.
func (s *Server) admit(admitted *bool) func() *Response {
	return func() *Response {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.shutdown {
			return plainResponse(http.StatusServiceUnavailable, "Server is shutting down.\n")
		}
		if s.MaxConnections > 0 && len(s.conns)+s.admitted >= s.MaxConnections {
			return s.busy("Too many connections; try again later.\n")
		}
		s.admitted++
		*admitted = true
		return nil
	}
}

// busy is the 503 answer of a full server, with Retry-After.
func (s *Server) busy(text string) *Response {
	d := s.RetryAfter
	if d <= 0 {
		d = DefaultRetryAfter
	}
	resp := plainResponse(http.StatusServiceUnavailable, text)
	resp.Header.Set("Retry-After", strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10))
	return resp
}

// waitSlot takes a place among the handshakes in progress, waiting while
// MaxHandshakes are; it returns false if the server shuts down first.
// (s.init has run.)
func (s *Server) waitSlot() bool {
	if s.slots == nil {
		return true
	}
	select {
	case s.slots <- struct{}{}:
		return true
	case <-s.closed:
		return false
	}
}

// trySlot takes a place among the handshakes in progress if one is free.
func (s *Server) trySlot() bool {
	if s.slots == nil {
		return true
	}
	select {
	case s.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

// freeSlot gives back a place taken by waitSlot or trySlot.
func (s *Server) freeSlot() {
	if s.slots != nil {
		<-s.slots
	}
}
