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

// sleep waits for d on clock, or until ctx ends (false).
func sleep(ctx context.Context, clock Clock, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return true
	case <-ctx.Done():
		return false
	}
}

// Run applies the policy to p until ctx ends (it then returns nil), the
// peer fails to answer in time (ErrTimeout), or sending fails (that error).
// Each measured latency is passed to observe, if not nil.
func Run(ctx context.Context, pol Policy, p Pinger, clock Clock, observe func(time.Duration)) error {
	if pol.Interval <= 0 {
		return nil
	}
	if clock == nil {
		clock = RealClock
	}
	var latency time.Duration
	for {
		if !sleep(ctx, clock, pol.Interval-latency) {
			return nil
		}
		if pol.Pong {
			if err := p.SendPong(); err != nil {
				return err
			}
			latency = 0
			continue
		}
		pong, err := p.SendPing()
		if err != nil {
			return err
		}
		if pol.Timeout <= 0 {
			latency = 0
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
			if observe != nil {
				observe(l)
			}
		case <-t.C():
			return ErrTimeout
		case <-ctx.Done():
			t.Stop()
			return nil
		}
	}
}
