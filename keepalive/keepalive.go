package keepalive

import (
	"context"
	"errors"
	"time"
)

// Default intervals, as in Python websockets.
const (
	DefaultInterval = 20 * time.Second
	DefaultTimeout  = 20 * time.Second
)

// ErrTimeout is returned by Run when no pong arrived within the timeout. The
// caller fails the connection with 1011 "keepalive ping timeout".
var ErrTimeout = errors.New("keepalive ping timeout")

// Policy says when to ping. A zero Interval disables keepalive; a zero
// Timeout keeps pinging (and measuring latency) without ever failing.
type Policy struct {
	Interval time.Duration
	Timeout  time.Duration
	// Pong sends unsolicited pongs instead of pings: a one-way heartbeat
	// for peers that expect it. No latency is measured and no timeout
	// applies.
	Pong bool
}

// Default returns the default policy: a ping every 20 s, 20 s to answer.
func Default() Policy { return Policy{Interval: DefaultInterval, Timeout: DefaultTimeout} }

// Pinger is what the policy drives.
type Pinger interface {
	// SendPing sends a ping with a fresh payload and returns a channel
	// that receives the round-trip latency when the matching pong arrives.
	// The channel is closed without a value if the connection ends first.
	SendPing() (<-chan time.Duration, error)
	// SendPong sends an unsolicited pong (for Policy.Pong).
	SendPong() error
}

// Clock makes timers. Tests inject a fake clock; nil means real time.
type Clock interface {
	NewTimer(d time.Duration) Timer
}

// Timer is the part of *time.Timer the policy uses.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
}

type realClock struct{}

type realTimer struct{ t *time.Timer }

func (realClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }
func (t realTimer) C() <-chan time.Time          { return t.t.C }
func (t realTimer) Stop() bool                   { return t.t.Stop() }

// RealClock is the Clock of real time.
var RealClock Clock = realClock{}

// Run applies the policy to p until ctx ends (it then returns nil), the
// connection ends (a pong channel closed without a value: nil), the peer
// fails to answer in time (ErrTimeout), or sending fails (that error).
//
// The schedule is that of Python websockets: sleep Interval minus the last
// measured latency (the first sleep is the full Interval; no sleep at all
// when the latency exceeded the Interval), send a ping, and wait up to
// Timeout for its pong. With a zero Timeout, Run does not wait: it pings
// every Interval and still reports the latency of pongs that arrive before
// the next ping. In Pong mode it sends an unsolicited pong every Interval.
//
// Each measured latency is passed to observe, if not nil. A nil clock means
// real time.
func Run(ctx context.Context, pol Policy, p Pinger, clock Clock, observe func(time.Duration)) error {
	if pol.Interval <= 0 {
		return nil
	}
	if clock == nil {
		clock = RealClock
	}
	if observe == nil {
		observe = func(time.Duration) {}
	}
	var latency time.Duration
	var pending <-chan time.Duration // an unanswered ping, when Timeout is zero
	for {
		if d := pol.Interval - latency; d > 0 {
			t := clock.NewTimer(d)
		sleep:
			for {
				select {
				case <-t.C():
					break sleep
				case <-ctx.Done():
					t.Stop()
					return nil
				case l, ok := <-pending:
					pending = nil
					if !ok {
						t.Stop()
						return nil // the connection ended
					}
					observe(l)
				}
			}
		} else if ctx.Err() != nil {
			return nil
		}
		if pol.Pong {
			if err := p.SendPong(); err != nil {
				return err
			}
			continue
		}
		pong, err := p.SendPing()
		if err != nil {
			return err
		}
		if pol.Timeout <= 0 {
			latency, pending = 0, pong
			continue
		}
		t := clock.NewTimer(pol.Timeout)
		select {
		case l, ok := <-pong:
			t.Stop()
			if !ok {
				return nil // the connection ended
			}
			latency = l
			observe(l)
		case <-t.C():
			return ErrTimeout
		case <-ctx.Done():
			t.Stop()
			return nil
		}
	}
}
