package reconnect_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tetherws/tether/internal/fakeclock"
	"github.com/tetherws/tether/reconnect"
	"github.com/tetherws/tether/runtime"
	"github.com/tetherws/tether/ws"
)

// dropper is a server handler that closes each connection with 1000 at
// once while drop is set, and otherwise holds it open until told to close
// it with 1001 (release).
type dropper struct {
	drop    atomic.Bool
	release chan struct{}
}

func newDropper(drop bool) *dropper {
	d := &dropper{release: make(chan struct{}, 1)}
	d.drop.Store(drop)
	return d
}

func (d *dropper) handler(ctx context.Context, c *runtime.Conn) error {
	if d.drop.Load() {
		return nil
	}
	select {
	case <-d.release:
		return c.Close(ws.CloseGoingAway, "restart")
	case <-ctx.Done():
		return nil
	}
}

// connectedThenLost reads a Connected and a Disconnected event and returns
// the latter.
func connectedThenLost(t *testing.T, ev events) reconnect.Event {
	t.Helper()
	ev.next(t, reconnect.Connected)
	return ev.next(t, reconnect.Disconnected)
}

// A connection that stayed open StableAfter and is lost is redialed at
// once: no Retrying event, no backoff timer.
func TestLostConnectionIsRedialedAtOnce(t *testing.T) {
	d := newDropper(false)
	srv := newTestServer(t, d.handler)
	clk := fakeclock.New(epoch)
	ev := newEvents()
	start(t, srv.url(), &reconnect.Options{OnEvent: ev.on, Backoff: pythonBackoff(), Clock: clk})
	ev.next(t, reconnect.Connected)
	clk.Advance(reconnect.DefaultStableAfter)
	d.release <- struct{}{} // a clean 1001 from the server
	lost := ev.next(t, reconnect.Disconnected)
	if lost.Close.Code() != ws.CloseGoingAway || lost.Uptime != reconnect.DefaultStableAfter {
		t.Fatalf("Disconnected %v after %v", lost, lost.Uptime)
	}
	if e := <-ev; e.Kind != reconnect.Connected {
		t.Fatalf("event %v after a lost connection, want connected at once", e)
	}
	clk.NoTimer(t)
}

// A server that accepts and drops at once is retried with growing delays:
// each short connection counts as a failed attempt. A connection that
// lasts StableAfter restarts the sequence.
func TestAcceptThenDropBacksOffWithGrowingDelays(t *testing.T) {
	d := newDropper(true)
	srv := newTestServer(t, d.handler)
	clk := fakeclock.New(epoch)
	ev := newEvents()
	start(t, srv.url(), &reconnect.Options{OnEvent: ev.on, Backoff: pythonBackoff(), Clock: clk})
	want := append([]time.Duration{2500 * time.Millisecond}, pythonDelays[:4]...)
	for i, delay := range want {
		lost := connectedThenLost(t, ev)
		if lost.Close.Code() != ws.CloseNormal {
			t.Fatalf("round %d: Disconnected %v", i, lost)
		}
		e := retry(t, ev, clk, delay, 1)
		var ce *ws.CloseError
		if !errors.As(e.Err, &ce) || ce != lost.Close {
			t.Fatalf("round %d: retrying after %v, want the close status of the lost connection", i, e.Err)
		}
		if i == len(want)-1 {
			d.drop.Store(false) // the next connection stays
		}
	}
	ev.next(t, reconnect.Connected)
	clk.Advance(reconnect.DefaultStableAfter)
	d.drop.Store(true)
	d.release <- struct{}{}
	ev.next(t, reconnect.Disconnected)
	// Redialed at once; that connection is dropped at once, and the
	// backoff starts over.
	connectedThenLost(t, ev)
	retry(t, ev, clk, 2500*time.Millisecond, 1)
	connectedThenLost(t, ev)
	retry(t, ev, clk, 3100*time.Millisecond, 1)
}

func TestNegativeStableAfterRedialsEveryLostConnectionAtOnce(t *testing.T) {
	d := newDropper(true)
	srv := newTestServer(t, d.handler)
	clk := fakeclock.New(epoch)
	ev := newEvents()
	start(t, srv.url(), &reconnect.Options{OnEvent: ev.on, Backoff: pythonBackoff(), Clock: clk, StableAfter: -1})
	for range 5 {
		connectedThenLost(t, ev)
	}
	clk.NoTimer(t)
}

// logRecords is a slog.Handler that keeps every record's message and
// attributes as text.
type logRecords struct {
	mu    sync.Mutex
	lines []string
}

func (h *logRecords) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecords) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *logRecords) WithGroup(string) slog.Handler            { return h }
func (h *logRecords) Handle(_ context.Context, r slog.Record) error {
	line := r.Message
	r.Attrs(func(a slog.Attr) bool {
		line += fmt.Sprintf(" %s=%v", a.Key, a.Value)
		return true
	})
	h.mu.Lock()
	h.lines = append(h.lines, line)
	h.mu.Unlock()
	return nil
}

// find returns the first line that starts with prefix.
func (h *logRecords) find(t *testing.T, prefix string) string {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, l := range h.lines {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	t.Fatalf("no log line starting with %q in:\n%s", prefix, strings.Join(h.lines, "\n"))
	return ""
}

func (h *logRecords) noNil(t *testing.T) {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, l := range h.lines {
		if strings.Contains(l, "<nil>") {
			t.Errorf("log line with a nil cause: %q", l)
		}
	}
}

// The logs tell a lost connection from a failed attempt, each with its
// cause, and never log a nil error.
func TestLogSaysWhyEachConnectionEnded(t *testing.T) {
	t.Run("lost, then refused", func(t *testing.T) {
		srv := newTestServer(t, nil)
		clk := fakeclock.New(epoch)
		ev := newEvents()
		logs := &logRecords{}
		start(t, srv.url(), &reconnect.Options{OnEvent: ev.on, Backoff: pythonBackoff(), Clock: clk, Logger: slog.New(logs)})
		ev.next(t, reconnect.Connected)
		clk.Advance(reconnect.DefaultStableAfter)
		srv.stop() // a clean 1001; then nothing listens
		ev.next(t, reconnect.Disconnected)
		ev.next(t, reconnect.Retrying)
		lost := logs.find(t, "connection lost: ")
		if !strings.HasPrefix(lost, "connection lost: received 1001 (going away); then sent 1001 (going away) ") {
			t.Errorf("log %q", lost)
		}
		failed := logs.find(t, "connect failed: ")
		if !strings.Contains(failed, "connection refused; reconnecting in 2.5 seconds") {
			t.Errorf("log %q", failed)
		}
		logs.noNil(t)
	})
	t.Run("dropped at once", func(t *testing.T) {
		srv := newTestServer(t, newDropper(true).handler)
		clk := fakeclock.New(epoch)
		ev := newEvents()
		logs := &logRecords{}
		start(t, srv.url(), &reconnect.Options{OnEvent: ev.on, Backoff: pythonBackoff(), Clock: clk, Logger: slog.New(logs)})
		connectedThenLost(t, ev)
		ev.next(t, reconnect.Retrying)
		logs.find(t, "connection lost: received 1000 (OK); then sent 1000 (OK)")
		logs.find(t, "connection lost within 10s of opening; reconnecting in 2.5 seconds")
		logs.noNil(t)
	})
}

// Connections backs off too when the body ends at once after a connection
// that was dropped: no hot loop.
func TestConnectionsBacksOffAfterShortConnections(t *testing.T) {
	srv := newTestServer(t, newDropper(true).handler)
	clk := fakeclock.New(epoch)
	ev := newEvents()
	done := make(chan int, 1)
	go func() {
		n := 0
		for c, err := range reconnect.Connections(testCtx(t), srv.url(), &reconnect.Options{OnEvent: ev.on, Backoff: pythonBackoff(), Clock: clk}) {
			if err != nil {
				break
			}
			for range c.Messages() {
			}
			if n++; n == 3 {
				break
			}
		}
		done <- n
	}()
	connectedThenLost(t, ev)
	retry(t, ev, clk, 2500*time.Millisecond, 1)
	connectedThenLost(t, ev)
	retry(t, ev, clk, 3100*time.Millisecond, 1)
	connectedThenLost(t, ev)
	if n := <-done; n != 3 {
		t.Fatalf("%d connections", n)
	}
}
