package compress

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/tetherws/tether/internal/fakeclock"
	"github.com/tetherws/tether/internal/inflateref"
	"github.com/tetherws/tether/ws"
)

// fakeTimers adapts a fake clock to the idle timer.
type fakeTimers struct{ c *fakeclock.Clock }

func (f fakeTimers) AfterFunc(d time.Duration, fn func()) stopper { return f.c.AfterFunc(d, fn) }

// withFakeClock makes the idle timers of the extensions run on a fake
// clock; it must be called before their first message.
func withFakeClock(exts ...*Deflate) *fakeclock.Clock {
	c := fakeclock.New(time.Unix(0, 0))
	for _, e := range exts {
		e.clock = fakeTimers{c}
	}
	return c
}

// goIdle advances the clock so that extensions last used before the call
// find themselves idle: the first period ends with them used, the second
// without.
func goIdle(c *fakeclock.Clock) {
	c.Advance(DefaultIdleAfter)
	c.Advance(DefaultIdleAfter)
}

func copyOf(h *[]byte) []byte {
	if h == nil {
		return nil
	}
	return bytes.Clone(*h)
}

// busyConn returns a connection on a fake clock that sent msgs both ways.
func busyConn(t *testing.T, msgs [][]byte) (*conn, *fakeclock.Clock) {
	c := newConn(t, Options{}, Options{}, ws.Config{MaxMessageSize: -1})
	clk := withFakeClock(c.cext, c.sext)
	transfer(t, c.c, c.s, msgs, 0)
	transfer(t, c.s, c.c, msgs, 0)
	return c, clk
}

// An idle connection stores both history windows compressed, in less than
// half their size, and restores them exactly at its next message.
func TestIdleConnectionPacksItsWindows(t *testing.T) {
	c, clk := busyConn(t, windowCorpus())
	e := c.sext
	e.ReleaseBuffers()
	sent, recv := copyOf(e.sHist), copyOf(e.rHist)
	if len(sent) != 4<<10 || len(recv) != 4<<10 {
		t.Fatalf("windows of %d and %d bytes before idling", len(sent), len(recv))
	}

	clk.Advance(DefaultIdleAfter) // used in this period: stays as it is
	if e.sHist == nil || e.rHist == nil {
		t.Fatal("windows packed while the connection was in use")
	}
	clk.Advance(DefaultIdleAfter)
	if e.sHist != nil || e.rHist != nil {
		t.Fatal("idle connection still holds its windows")
	}
	if got := e.retained(); got > 4<<10 {
		t.Errorf("idle connection retains %d bytes, want under half of its 8 KiB windows", got)
	}
	if clk.Pending() != 0 {
		t.Errorf("%d timers pending on an idle connection", clk.Pending())
	}

	e.sMu.Lock()
	err := e.restoreSend()
	gotSent := copyOf(e.sHist)
	e.sMu.Unlock()
	e.rMu.Lock()
	if err == nil {
		err = e.restoreReceive()
	}
	gotRecv := copyOf(e.rHist)
	e.rMu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(gotSent, sent) || !bytes.Equal(gotRecv, recv) {
		t.Fatal("restored windows differ")
	}
}

// After idling, messages go on both ways over the restored windows: each
// side's history still matches the other's.
func TestMessagesAfterIdleUseTheHistory(t *testing.T) {
	msgs := windowCorpus()
	c, clk := busyConn(t, msgs)
	goIdle(clk)
	if c.sext.sHist != nil || c.cext.rHist != nil {
		t.Fatal("not idle")
	}
	// The same messages again: with the history they shrink more than the
	// first time round.
	again := transfer(t, c.s, c.c, msgs, 0)
	first := 0
	for _, m := range msgs {
		first += len(m)
	}
	if again >= first/2 {
		t.Errorf("%d wire bytes for %d plain after idling: the history was lost", again, first)
	}
	transfer(t, c.c, c.s, msgs, 1000) // fragmented, the other way
}

// busyPair returns two connections' extensions of one factory with
// options o and its budget, both ways at window bits, on a fake clock; they are closed
// when the test ends.
func busyPair(t *testing.T, o Options, bits int) (d1, d2 *Deflate, b *busyBudget, clk *fakeclock.Clock) {
	b = newBudget(&o)
	a := Agreement{LocalMaxWindowBits: bits, RemoteMaxWindowBits: bits}
	d1, d2 = newDeflate(&o, a, nil, b), newDeflate(&o, a, nil, b)
	t.Cleanup(func() { d1.Close(); d2.Close() })
	return d1, d2, b, withFakeClock(d1, d2)
}

// A busy connection keeps its compressor within the budget of its
// factory and gives it back when idle; others use the pool.
func TestBusyConnectionsKeepCompressorsWithinBudget(t *testing.T) {
	d1, d2, b, clk := busyPair(t, Options{BusyCompressors: 1}, 15)
	msgs := windowCorpus()
	for _, m := range msgs[:3] {
		for _, d := range []*Deflate{d1, d2} {
			f := ws.Frame{Opcode: ws.OpText, Fin: true, Payload: m}
			if err := d.Encode(&f); err != nil {
				t.Fatal(err)
			}
		}
	}
	if d1.sPin == nil || d2.sPin != nil {
		t.Fatalf("kept compressors: first %v, second %v; want only the first", d1.sPin != nil, d2.sPin != nil)
	}
	if n := b.compressors.used.Load(); n != 1 {
		t.Fatalf("budget used %d, want 1", n)
	}
	goIdle(clk)
	if d1.sPin != nil || b.compressors.used.Load() != 0 {
		t.Fatal("an idle connection kept its compressor")
	}
	// Its next message takes the compressor back from the pool.
	f := ws.Frame{Opcode: ws.OpText, Fin: true, Payload: msgs[3]}
	if err := d1.Encode(&f); err != nil {
		t.Fatal(err)
	}
	if d1.sPin == nil || b.compressors.used.Load() != 1 {
		t.Fatal("a busy connection did not keep its compressor again")
	}
	d1.Close()
	if b.compressors.used.Load() != 0 {
		t.Fatal("Close kept the budget slot")
	}
}

// Close stops the idle timer: nothing runs for a closed connection.
func TestCloseStopsIdleTimer(t *testing.T) {
	c := newConn(t, Options{}, Options{}, ws.Config{})
	clk := withFakeClock(c.cext, c.sext)
	transfer(t, c.c, c.s, testCorpus(3), 0)
	if clk.Pending() != 2 {
		t.Fatalf("%d idle timers armed, want 2", clk.Pending())
	}
	c.cext.Close()
	c.sext.Close()
	if clk.Pending() != 0 {
		t.Fatalf("%d timers pending after Close", clk.Pending())
	}
}

// No timer at all with a negative IdleAfter.
func TestNegativeIdleAfterNeverPacks(t *testing.T) {
	o := Options{IdleAfter: -1}
	c := newConn(t, o, o, ws.Config{})
	clk := withFakeClock(c.cext, c.sext)
	transfer(t, c.c, c.s, testCorpus(3), 0)
	if clk.Pending() != 0 {
		t.Fatalf("%d timers armed", clk.Pending())
	}
}

// The idle timer runs concurrently with both directions and with Close.
func TestIdleTimerRacesWithTraffic(t *testing.T) {
	o := Options{BusyCompressors: 4}
	ce, se := handshake(t, o, o)
	clk := withFakeClock(ce, se)
	msgs := windowCorpus()
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	stop := make(chan struct{})
	for _, dir := range [][2]*Deflate{{ce, se}, {se, ce}} {
		wg.Go(func() {
			for range 5 {
				for _, m := range msgs {
					if err := roundTrip(dir[0], dir[1], m); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	go func() { wg.Wait(); close(stop) }()
	for done := false; !done; {
		select {
		case <-stop:
			done = true
		default:
			clk.Advance(DefaultIdleAfter)
		}
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var closers sync.WaitGroup
	closers.Go(func() { ce.Close(); se.Close() })
	clk.Advance(DefaultIdleAfter)
	closers.Wait()
}

// A busy connection keeps its window encoder within the budget of its
// factory, continues its stream with it, and gives it back when idle.
func TestBusyConnectionsKeepEncodersWithinBudget(t *testing.T) {
	d1, d2, b, clk := busyPair(t, Options{BusyEncoders: 1}, 12)
	msgs := windowCorpus()
	var hist []byte
	send := func(d *Deflate, m []byte) {
		t.Helper()
		f := ws.Frame{Opcode: ws.OpText, Fin: true, Payload: m}
		if err := d.Encode(&f); err != nil {
			t.Fatal(err)
		}
		if d != d1 {
			return
		}
		got, _, err := inflateref.Inflate(hist, append(bytes.Clone(f.Payload), syncTail...), 1<<12)
		if err != nil || !bytes.Equal(got, m) {
			t.Fatalf("the kept encoder's message does not inflate with the history: %v", err)
		}
		hist = append(hist, m...)
	}
	for _, m := range msgs[:3] {
		send(d1, m)
		send(d2, m)
	}
	if d1.sLzPin == nil || d2.sLzPin != nil {
		t.Fatalf("kept encoders: first %v, second %v; want only the first", d1.sLzPin != nil, d2.sLzPin != nil)
	}
	if n := b.encoders.used.Load(); n != 1 {
		t.Fatalf("budget used %d, want 1", n)
	}
	goIdle(clk)
	if d1.sLzPin != nil || b.encoders.used.Load() != 0 {
		t.Fatal("an idle connection kept its encoder")
	}
	// Its next message loads the restored history into a pooled encoder,
	// which it keeps again.
	send(d1, msgs[3])
	if d1.sLzPin == nil || b.encoders.used.Load() != 1 {
		t.Fatal("a busy connection did not keep its encoder again")
	}
	send(d1, msgs[4][:50]) // short: the kept encoder, not the built-in one
	d1.Close()
	if b.encoders.used.Load() != 0 {
		t.Fatal("Close kept the budget slot")
	}
}

// BusyEncoders: 0 is the default budget, a negative value keeps none.
func TestBusyEncodersDefault(t *testing.T) {
	for _, c := range []struct{ opt, want int }{{0, DefaultBusyEncoders}, {-1, 0}, {3, 3}} {
		o := Options{BusyEncoders: c.opt}
		if got := newBudget(&o).encoders.max; int(got) != c.want {
			t.Errorf("BusyEncoders %d: budget %d, want %d", c.opt, got, c.want)
		}
	}
}
