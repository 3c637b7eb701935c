package keepalive

import (
	"context"
	"errors"
	"sync"
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
	// SendPing sends a ping with a fresh payload. When the matching pong
	// arrives, the Pinger calls pong with the round-trip latency, once,
	// from any goroutine (pong never blocks); if none arrives it never
	// calls it.
	SendPing(pong func(latency time.Duration)) error
	// SendPong sends an unsolicited pong (for Policy.Pong).
	SendPong() error
}

// Activity is an optional interface of a Pinger that can vouch for the
// peer without a pong. When a ping's pong is late, Run asks it: if the
// count of bytes received has grown since the ping was sent, or reading
// is held up by the application (the pong may be waiting, unread, behind
// messages the application has not taken), the peer is alive and busy, so
// Run does not return ErrTimeout: it sleeps a full Interval and pings
// again. Only a peer that sends nothing at all for Timeout after a ping,
// while the reader is free to read, times out.
type Activity interface {
	// Activity returns the count of bytes received from the peer so far
	// and whether reading is held up by the application.
	Activity() (received uint64, held bool)
}

// Counter is an optional interface of an Activity: the count of bytes
// received alone. Run takes that count with every ping it sends, and asks
// Activity only when the pong is late; a Pinger whose held-up check is
// costly (a system call) implements Counter so that on-time pongs never
// pay for it.
type Counter interface {
	// Received returns the count of bytes received from the peer so far:
	// the first result of Activity.
	Received() uint64
}

// Clock makes timers. Tests inject a fake clock; nil means real time.
type Clock interface {
	// NewTimer returns a timer that sends on C after d, like time.NewTimer.
	NewTimer(d time.Duration) Timer
	// AfterFunc calls f after d, like time.AfterFunc; f must not block.
	// The returned Timer's C is nil. Run uses AfterFunc.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is the part of *time.Timer the policy uses.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
}

type realClock struct{}

type realTimer struct{ t *time.Timer }

func (realClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }
func (realClock) AfterFunc(d time.Duration, f func()) Timer {
	return realTimer{time.AfterFunc(d, f)}
}
func (t realTimer) C() <-chan time.Time { return t.t.C }
func (t realTimer) Stop() bool          { return t.t.Stop() }

// RealClock is the Clock of real time.
var RealClock Clock = realClock{}

// Run applies the policy to p until ctx ends (it then returns nil), the
// peer fails to answer in time (ErrTimeout), or sending fails (that
// error). (runtime.Conn runs the same policy as a Loop, which it stops
// itself when the connection ends.)
//
// The schedule is that of Python websockets: sleep Interval minus the last
// measured latency (the first sleep is the full Interval; no sleep at all
// when the latency exceeded the Interval), send a ping, and wait up to
// Timeout for its pong. With a zero Timeout, Run does not wait: it pings
// every Interval and still reports the latency of the pong of the last
// ping if it arrives before the next ping. In Pong mode it sends an
// unsolicited pong every Interval.
//
// Each measured latency is passed to observe, if not nil. A nil clock means
// real time.
//
// While it waits, Run is parked on one channel receive (timers, pongs and
// the end of ctx all post to it), so that the goroutine of an idle
// connection's keepalive keeps the smallest stack Go has.
func Run(ctx context.Context, pol Policy, p Pinger, clock Clock, observe func(time.Duration)) error {
	if pol.Interval <= 0 {
		return nil
	}
	l := NewLoop(pol, p, clock, observe)
	stop := context.AfterFunc(ctx, l.Stop)
	defer stop()
	return l.Run()
}

// Loop is the policy of Run for a caller that stops it itself rather than
// through a context: runtime.Conn runs one on its keepalive goroutine and
// stops it when the connection ends, which saves the context machinery
// (a few hundred bytes per connection).
type Loop struct{ r run }

// NewLoop returns a Loop applying pol to p; see Run for the arguments.
func NewLoop(pol Policy, p Pinger, clock Clock, observe func(time.Duration)) *Loop {
	if clock == nil {
		clock = RealClock
	}
	return &Loop{run{pol: pol, p: p, clock: clock, observe: observe, wake: make(chan struct{}, 1)}}
}

// Run applies the policy until Stop is called (it then returns nil), the
// peer fails to answer in time (ErrTimeout), or sending fails (that
// error), with the schedule of the function Run. Call it once.
func (l *Loop) Run() error {
	if l.r.pol.Interval <= 0 {
		return nil
	}
	return l.r.loop()
}

// Stop ends Run, or makes it return at once if it has not started. It may
// be called from any goroutine, any number of times.
func (l *Loop) Stop() { l.r.stop() }

// run is the state of one Loop. Callbacks (timers, pongs, ctx) record
// what happened under mu and wake the loop.
type run struct {
	pol     Policy
	p       Pinger
	clock   Clock
	observe func(time.Duration)
	wake    chan struct{} // capacity 1: a pending wake-up

	mu      sync.Mutex
	stopped bool
	timer   Timer
	armed   uint64        // the sequence number of the timer armed last
	fired   uint64        // the sequence number of the last timer that fired
	ping    uint64        // the sequence number of the last ping sent
	ponged  uint64        // the ping whose pong arrived last (0: none yet)
	latency time.Duration // its latency
}

func (r *run) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *run) stop() {
	r.mu.Lock()
	r.stopped = true
	r.mu.Unlock()
	r.poke()
}

// arm starts the timer of the next wait and returns its number.
func (r *run) arm(d time.Duration) uint64 {
	r.mu.Lock()
	r.armed++
	seq := r.armed
	r.mu.Unlock()
	t := r.clock.AfterFunc(d, func() {
		r.mu.Lock()
		if seq > r.fired {
			r.fired = seq
		}
		r.mu.Unlock()
		r.poke()
	})
	r.mu.Lock()
	r.timer = t
	r.mu.Unlock()
	return seq
}

func (r *run) disarm() {
	r.mu.Lock()
	t := r.timer
	r.timer = nil
	r.mu.Unlock()
	if t != nil {
		t.Stop()
	}
}

// sendPing sends a ping whose pong records its latency under the ping's
// number, which it returns.
func (r *run) sendPing() (uint64, error) {
	r.mu.Lock()
	r.ping++
	seq := r.ping
	r.mu.Unlock()
	return seq, r.p.SendPing(func(l time.Duration) {
		r.mu.Lock()
		if seq > r.ponged {
			r.ponged, r.latency = seq, l
		}
		r.mu.Unlock()
		r.poke()
	})
}

// event is what a wait ended on.
type event uint8

const (
	evStopped event = iota
	evFired
	evPong
)

// wait parks until ctx ends, timer seq fires, or the pong of ping
// awaited (0: none) arrives, and returns the latency with evPong.
func (r *run) wait(seq, awaited uint64) (event, time.Duration) {
	for {
		r.mu.Lock()
		stopped, fired, ponged, l := r.stopped, r.fired >= seq, r.ponged, r.latency
		r.mu.Unlock()
		switch {
		case stopped:
			return evStopped, 0
		case awaited != 0 && ponged == awaited:
			return evPong, l
		case fired:
			return evFired, 0
		}
		<-r.wake
	}
}

func (r *run) loop() error {
	defer r.disarm()
	var latency time.Duration
	var pending uint64 // an unanswered ping, when Timeout is zero
	for {
		if d := r.pol.Interval - latency; d > 0 {
			seq := r.arm(d)
			for {
				ev, l := r.wait(seq, pending)
				if ev == evStopped {
					return nil
				}
				if ev == evFired {
					break
				}
				pending = 0 // its pong: observed, and the sleep goes on
				r.see(l)
			}
		} else if r.isStopped() {
			return nil
		}
		if r.pol.Pong {
			if err := r.p.SendPong(); err != nil {
				return err
			}
			continue
		}
		mark := r.received()
		ping, err := r.sendPing()
		if err != nil {
			return err
		}
		if r.pol.Timeout <= 0 {
			latency, pending = 0, ping
			continue
		}
		seq := r.arm(r.pol.Timeout)
		switch ev, l := r.wait(seq, ping); ev {
		case evStopped:
			return nil
		case evFired:
			if received, held := r.activity(); received == mark && !held {
				return ErrTimeout
			}
			latency = 0 // alive without a pong: nothing measured
		default:
			r.disarm()
			latency = l
			r.see(l)
		}
	}
}

// activity asks the Pinger for its Activity; a Pinger without it never
// shows any.
func (r *run) activity() (uint64, bool) {
	if a, ok := r.p.(Activity); ok {
		return a.Activity()
	}
	return 0, false
}

// received is the count of bytes received, from Counter when the Pinger
// has it, else from Activity.
func (r *run) received() uint64 {
	if c, ok := r.p.(Counter); ok {
		return c.Received()
	}
	n, _ := r.activity()
	return n
}

func (r *run) isStopped() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stopped
}

func (r *run) see(l time.Duration) {
	if r.observe != nil {
		r.observe(l)
	}
}
