package reconnect

import (
	"errors"
	"fmt"
	"time"

	"github.com/tetherws/tether/runtime"
	"github.com/tetherws/tether/ws"
)

// EventKind says what happened.
type EventKind int

// The kinds of Event, in the order they happen for one connection.
const (
	// Connected: a connection opened and OnConnect succeeded; it is now
	// the current one.
	Connected EventKind = iota + 1
	// Disconnected: the current connection ended.
	Disconnected
	// Retrying: the next attempt starts after Delay.
	Retrying
	// Stopped: the supervisor stopped; Err is the fatal error, or nil
	// after its context was cancelled or Close was called.
	Stopped
)

func (k EventKind) String() string {
	switch k {
	case Connected:
		return "connected"
	case Disconnected:
		return "disconnected"
	case Retrying:
		return "retrying"
	case Stopped:
		return "stopped"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is a change in the supervisor's connection.
type Event struct {
	Kind EventKind
	// Conn is the connection that connected or disconnected.
	Conn *runtime.Conn
	// Err is, for Disconnected, how the connection ended (nil for a clean
	// closing handshake, as runtime.Conn.Err); for Retrying, the error
	// that caused the retry: a dial or OnConnect error, or the
	// *ws.CloseError of a connection lost before Options.StableAfter (its
	// Close, even after a clean close); for Stopped, the fatal error.
	Err error
	// Close holds, for Disconnected, the close frames received and sent
	// and the cause (runtime.Conn.CloseStatus).
	Close *ws.CloseError
	// Delay is, for Retrying, the wait before the next attempt: the next
	// backoff delay, or a longer Retry-After (at most MaxRetryAfter).
	Delay time.Duration
	// Attempt numbers the retries since the last connection, from 1.
	Attempt int
	// Uptime is, for Disconnected, how long the connection was open,
	// from its Connected event.
	Uptime time.Duration

	closing bool // Disconnected by Close or cancellation
}

// afterLoss reports a Retrying event that follows a connection lost too
// soon rather than a failed attempt.
func (e Event) afterLoss() bool {
	var ce *ws.CloseError
	return errors.As(e.Err, &ce) && ce == e.Err
}

// String describes the event on one line, e.g. "retrying in 3.1s (attempt
// 2): dial tcp 127.0.0.1:9001: connect: connection refused".
func (e Event) String() string {
	switch e.Kind {
	case Connected:
		if e.Conn != nil {
			return "connected to " + e.Conn.RemoteAddr().String()
		}
		return "connected"
	case Disconnected:
		if e.Close != nil {
			return "disconnected: " + describeClose(e.Close)
		}
		return "disconnected"
	case Retrying:
		s := fmt.Sprintf("retrying in %s (attempt %d)", e.Delay.Round(time.Millisecond), e.Attempt)
		switch {
		case e.afterLoss():
			s += " after the connection was lost"
		case e.Err != nil:
			s += ": " + e.Err.Error()
		}
		return s
	case Stopped:
		if e.Err != nil {
			return "stopped: " + e.Err.Error()
		}
		return "stopped"
	}
	return e.Kind.String()
}

// describeClose renders a close status with its cause.
func describeClose(ce *ws.CloseError) string {
	s := ce.Error()
	if ce.Cause != nil && !ce.OK() {
		s += " (" + ce.Cause.Error() + ")"
	}
	return s
}
