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
