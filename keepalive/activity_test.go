package keepalive_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tetherws/tether/internal/fakeclock"
	"github.com/tetherws/tether/keepalive"
)

// busyPinger is a fakePinger that also reports Activity, set by the test.
type busyPinger struct {
	*fakePinger
	mu       sync.Mutex
	received uint64
	held     bool
}

func (b *busyPinger) Activity() (uint64, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.received, b.held
}

func (b *busyPinger) set(received uint64, held bool) {
	b.mu.Lock()
	b.received, b.held = received, held
	b.mu.Unlock()
}

// A late pong is forgiven when bytes arrived after the ping or the reader
// is held up by the application; the next ping goes out a full Interval
// later; a ping followed by silence, with the reader free, times out.
func TestActivityAfterThePingProvesThePeerAlive(t *testing.T) {
	for _, tt := range []struct {
		name     string
		received uint64 // at the timeout; 10 when the ping was sent
		held     bool
	}{
		{"bytes received after the ping", 11, false},
		{"reading held up by the application", 10, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clk := fakeclock.New(epoch)
			p := &busyPinger{fakePinger: newPinger(clk), received: 10}
			r := start(t, keepalive.Policy{Interval: 20 * time.Second, Timeout: 5 * time.Second}, p, clk)
			wantTimer(t, clk, 20*time.Second)
			clk.Advance(20 * time.Second)
			p.nextPing(t)
			wantTimer(t, clk, 5*time.Second)
			p.set(tt.received, tt.held)
			clk.Advance(5 * time.Second)
			wantTimer(t, clk, 20*time.Second) // alive: a full Interval, then the next ping
			select {
			case err := <-r.errc:
				t.Fatalf("Run returned %v although the peer was alive", err)
			default:
			}
			clk.Advance(20 * time.Second)
			p.nextPing(t)
			wantTimer(t, clk, 5*time.Second)
			p.set(tt.received, false) // now silent, and the reader is free
			clk.Advance(5 * time.Second)
			if err := r.result(t); !errors.Is(err, keepalive.ErrTimeout) {
				t.Fatalf("Run = %v, want ErrTimeout after a silent ping", err)
			}
		})
	}
}

// countingPinger is a busyPinger that is also a Counter and counts the
// calls of Activity.
type countingPinger struct {
	*busyPinger
	activityCalls int
}

func (c *countingPinger) Activity() (uint64, bool) {
	c.busyPinger.mu.Lock()
	c.activityCalls++
	c.busyPinger.mu.Unlock()
	return c.busyPinger.Activity()
}

func (c *countingPinger) Received() uint64 {
	n, _ := c.busyPinger.Activity()
	return n
}

func (c *countingPinger) calls() int {
	c.busyPinger.mu.Lock()
	defer c.busyPinger.mu.Unlock()
	return c.activityCalls
}

// With a Counter, pongs that come back in time cost no Activity call: the
// count taken with each ping comes from Received, and Activity is asked
// only when a pong is late.
func TestOnTimePongsDoNotAskActivity(t *testing.T) {
	clk := fakeclock.New(epoch)
	p := &countingPinger{busyPinger: &busyPinger{fakePinger: newPinger(clk), received: 10}}
	r := start(t, keepalive.Policy{Interval: 20 * time.Second, Timeout: 5 * time.Second}, p, clk)
	for range 3 {
		wantTimer(t, clk, 20*time.Second)
		clk.Advance(20 * time.Second)
		pg := p.nextPing(t)
		wantTimer(t, clk, 5*time.Second)
		pg.pong(0)
	}
	if n := p.calls(); n != 0 {
		t.Fatalf("Activity called %d times for pongs that came in time, want 0", n)
	}
	wantTimer(t, clk, 20*time.Second)
	clk.Advance(20 * time.Second)
	p.nextPing(t)
	wantTimer(t, clk, 5*time.Second)
	clk.Advance(5 * time.Second) // late, and nothing received: Activity decides
	if err := r.result(t); !errors.Is(err, keepalive.ErrTimeout) {
		t.Fatalf("Run = %v, want ErrTimeout", err)
	}
	if n := p.calls(); n != 1 {
		t.Fatalf("Activity called %d times, want 1 (for the late pong)", n)
	}
}
