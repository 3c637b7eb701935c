package fakeclock

import (
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/tetherws/tether/keepalive"
)

// Clock is a fake clock. It implements keepalive.Clock and has a Now
// method. The zero value is not usable; call New.
type Clock struct {
	mu      sync.Mutex
	now     time.Time
	active  []*Timer
	created []time.Duration // durations of timers not yet reported by NextTimer
	signal  chan struct{}   // closed and replaced when a timer is created
}

// New returns a clock whose time starts at start.
func New(start time.Time) *Clock {
	return &Clock{now: start, signal: make(chan struct{})}
}

// Now returns the clock's current time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Timer is a timer of a fake clock.
type Timer struct {
	c    *Clock
	when time.Time
	ch   chan time.Time
	f    func() // AfterFunc's function, called instead of sending on ch
}

// C returns the channel the timer fires on (nil for an AfterFunc timer).
func (t *Timer) C() <-chan time.Time { return t.ch }

// Stop stops the timer; it reports whether the timer was active.
func (t *Timer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	for i, a := range t.c.active {
		if a == t {
			t.c.active = append(t.c.active[:i], t.c.active[i+1:]...)
			return true
		}
	}
	return false
}

// NewTimer returns a timer that fires when the clock has advanced by d. A
// timer with d <= 0 fires at once.
func (c *Clock) NewTimer(d time.Duration) keepalive.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &Timer{c: c, when: c.now.Add(d), ch: make(chan time.Time, 1)}
	if d <= 0 {
		t.ch <- c.now
	} else {
		c.active = append(c.active, t)
	}
	c.createdLocked(d)
	return t
}

// AfterFunc returns a timer that calls f (on the goroutine that advances
// the clock) when the clock has advanced by d. With d <= 0 it calls f
// before returning.
func (c *Clock) AfterFunc(d time.Duration, f func()) keepalive.Timer {
	c.mu.Lock()
	t := &Timer{c: c, when: c.now.Add(d), f: f}
	if d > 0 {
		c.active = append(c.active, t)
	}
	c.createdLocked(d)
	c.mu.Unlock()
	if d <= 0 {
		f()
	}
	return t
}

func (c *Clock) createdLocked(d time.Duration) {
	c.created = append(c.created, d)
	close(c.signal)
	c.signal = make(chan struct{})
}

// Advance moves the clock forward by d and fires, in order, every timer
// that is due: a channel timer's channel receives, an AfterFunc timer's
// function is called (after the clock's lock is released).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	sort.SliceStable(c.active, func(i, j int) bool { return c.active[i].when.Before(c.active[j].when) })
	n := 0
	var funcs []func()
	for _, t := range c.active {
		if t.when.After(c.now) {
			break
		}
		if t.f != nil {
			funcs = append(funcs, t.f)
		} else {
			t.ch <- t.when
		}
		n++
	}
	c.active = append(c.active[:0], c.active[n:]...)
	c.mu.Unlock()
	for _, f := range funcs {
		f()
	}
}

// Pending returns the number of active timers.
func (c *Clock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.active)
}

// NextTimer waits for the next timer created on the clock (in creation
// order, including timers created before the call and not yet reported)
// and returns its duration. It fails the test after 10 s of real time.
func (c *Clock) NextTimer(t testing.TB) time.Duration {
	t.Helper()
	guard := time.NewTimer(10 * time.Second)
	defer guard.Stop()
	for {
		c.mu.Lock()
		if len(c.created) > 0 {
			d := c.created[0]
			c.created = c.created[1:]
			c.mu.Unlock()
			return d
		}
		sig := c.signal
		c.mu.Unlock()
		select {
		case <-sig:
		case <-guard.C:
			t.Fatal("fakeclock: no timer created within 10s")
			return 0
		}
	}
}

// NoTimer fails the test if a timer was created and not yet reported by
// NextTimer.
func (c *Clock) NoTimer(t testing.TB) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.created) > 0 {
		t.Fatalf("fakeclock: unexpected timers %v", c.created)
	}
}
