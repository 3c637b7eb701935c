package keepalive_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tetherws/tether/internal/fakeclock"
	"github.com/tetherws/tether/keepalive"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// ping is one SendPing call: when it happened and how to answer it.
type ping struct {
	at   time.Duration // clock time since epoch
	pong func(time.Duration)
}

// fakePinger records pings and pongs against a fake clock.
type fakePinger struct {
	clk   *fakeclock.Clock
	pings chan ping
	pongs chan time.Duration
	err   error
}

func newPinger(clk *fakeclock.Clock) *fakePinger {
	return &fakePinger{clk: clk, pings: make(chan ping, 100), pongs: make(chan time.Duration, 100)}
}

func (f *fakePinger) SendPing(pong func(time.Duration)) error {
	if f.err != nil {
		return f.err
	}
	f.pings <- ping{f.clk.Now().Sub(epoch), pong}
	return nil
}

func (f *fakePinger) SendPong() error {
	if f.err != nil {
		return f.err
	}
	f.pongs <- f.clk.Now().Sub(epoch)
	return nil
}

func (f *fakePinger) nextPing(t *testing.T) ping {
	t.Helper()
	select {
	case p := <-f.pings:
		return p
	case <-time.After(10 * time.Second):
		t.Fatal("no ping within 10s")
	}
	return ping{}
}

func (f *fakePinger) noPing(t *testing.T) {
	t.Helper()
	select {
	case p := <-f.pings:
		t.Fatalf("unexpected ping at %v", p.at)
	default:
	}
}

// run starts Run in a goroutine; the returned function cancels it and
// returns its result.
type runner struct {
	errc     chan error
	cancel   context.CancelFunc
	observed chan time.Duration
}

func start(t *testing.T, pol keepalive.Policy, p keepalive.Pinger, clk keepalive.Clock) *runner {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &runner{errc: make(chan error, 1), cancel: cancel, observed: make(chan time.Duration, 100)}
	go func() { r.errc <- keepalive.Run(ctx, pol, p, clk, func(l time.Duration) { r.observed <- l }) }()
	t.Cleanup(func() { cancel(); <-r.errc })
	return r
}

func (r *runner) result(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.errc:
		r.errc <- err // for the cleanup
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10s")
	}
	return nil
}

func (r *runner) stop(t *testing.T) error {
	r.cancel()
	return r.result(t)
}

func wantTimer(t *testing.T, clk *fakeclock.Clock, want time.Duration) {
	t.Helper()
	if got := clk.NextTimer(t); got != want {
		t.Fatalf("timer of %v, want %v", got, want)
	}
}

func TestDefaultPolicyIsTwentySecondsBothWays(t *testing.T) {
	if got := keepalive.Default(); got != (keepalive.Policy{Interval: 20 * time.Second, Timeout: 20 * time.Second}) {
		t.Fatalf("Default() = %+v", got)
	}
	if keepalive.ErrTimeout.Error() != "keepalive ping timeout" {
		t.Fatalf("ErrTimeout = %q, want the close reason of Python", keepalive.ErrTimeout)
	}
}

func TestFirstPingGoesOutAfterOneFullInterval(t *testing.T) {
	clk := fakeclock.New(epoch)
	p := newPinger(clk)
	start(t, keepalive.Policy{Interval: 20 * time.Second, Timeout: 10 * time.Second}, p, clk)
	wantTimer(t, clk, 20*time.Second)
	clk.Advance(20*time.Second - time.Nanosecond)
	p.noPing(t)
	clk.Advance(time.Nanosecond)
	if got := p.nextPing(t); got.at != 20*time.Second {
		t.Fatalf("first ping at %v, want 20s", got.at)
	}
	wantTimer(t, clk, 10*time.Second) // waiting for the pong
}

func TestScheduleSleepsIntervalMinusLastLatency(t *testing.T) {
	clk := fakeclock.New(epoch)
	p := newPinger(clk)
	r := start(t, keepalive.Policy{Interval: 20 * time.Second, Timeout: 10 * time.Second}, p, clk)
	// Each step: the pong comes back after latency; the next ping must go
	// out Interval-latency after the pong, i.e. Interval after the ping.
	var now time.Duration
	wantTimer(t, clk, 20*time.Second)
	clk.Advance(20 * time.Second)
	now = 20 * time.Second
	for i, latency := range []time.Duration{3 * time.Second, 0, 9999 * time.Millisecond, 250 * time.Millisecond} {
		pg := p.nextPing(t)
		if pg.at != now {
			t.Fatalf("ping %d at %v, want %v", i, pg.at, now)
		}
		wantTimer(t, clk, 10*time.Second)
		clk.Advance(latency)
		now += latency
		pg.pong(latency)
		if got := <-r.observed; got != latency {
			t.Fatalf("observed %v, want %v", got, latency)
		}
		wantTimer(t, clk, 20*time.Second-latency)
		clk.Advance(20*time.Second - latency)
		now += 20*time.Second - latency
	}
	if pg := p.nextPing(t); pg.at != 100*time.Second {
		t.Fatalf("5th ping at %v, want 100s", pg.at)
	}
}

func TestPingGoesOutAtOnceWhenLatencyExceedsInterval(t *testing.T) {
	clk := fakeclock.New(epoch)
	p := newPinger(clk)
	r := start(t, keepalive.Policy{Interval: 20 * time.Second, Timeout: 60 * time.Second}, p, clk)
	wantTimer(t, clk, 20*time.Second)
	clk.Advance(20 * time.Second)
	pg := p.nextPing(t)
	wantTimer(t, clk, 60*time.Second)
	clk.Advance(30 * time.Second)
	pg.pong(30 * time.Second)
	<-r.observed
	// No sleep: the next ping goes out at the time of the pong, and the
	// next timer is the pong timeout of that ping.
	if pg := p.nextPing(t); pg.at != 50*time.Second {
		t.Fatalf("second ping at %v, want 50s", pg.at)
	}
	wantTimer(t, clk, 60*time.Second)
}

func TestNoPongWithinTimeoutReturnsErrTimeout(t *testing.T) {
	clk := fakeclock.New(epoch)
	p := newPinger(clk)
	r := start(t, keepalive.Policy{Interval: 20 * time.Second, Timeout: 5 * time.Second}, p, clk)
	wantTimer(t, clk, 20*time.Second)
	clk.Advance(20 * time.Second)
	p.nextPing(t)
	wantTimer(t, clk, 5*time.Second)
	clk.Advance(5*time.Second - time.Nanosecond)
	select {
	case err := <-r.errc:
		t.Fatalf("Run returned %v before the timeout", err)
	default:
	}
	clk.Advance(time.Nanosecond)
	if err := r.result(t); !errors.Is(err, keepalive.ErrTimeout) {
		t.Fatalf("Run = %v, want ErrTimeout", err)
	}
	if n := clk.Pending(); n != 0 {
		t.Fatalf("%d timers left running", n)
	}
}

func TestZeroTimeoutKeepsPingingAndStillMeasuresLatency(t *testing.T) {
	clk := fakeclock.New(epoch)
	p := newPinger(clk)
	r := start(t, keepalive.Policy{Interval: 20 * time.Second}, p, clk)
	var pings []ping
	for i := 1; i <= 5; i++ {
		wantTimer(t, clk, 20*time.Second) // always the full interval
		clk.Advance(20 * time.Second)
		pg := p.nextPing(t)
		if want := time.Duration(i) * 20 * time.Second; pg.at != want {
			t.Fatalf("ping %d at %v, want %v", i, pg.at, want)
		}
		pings = append(pings, pg)
	}
	// A pong for the last ping, arriving while Run sleeps, is observed
	// and does not shorten the sleep.
	wantTimer(t, clk, 20*time.Second)
	pings[4].pong(7 * time.Second)
	if got := <-r.observed; got != 7*time.Second {
		t.Fatalf("observed %v", got)
	}
	clk.Advance(20 * time.Second)
	if pg := p.nextPing(t); pg.at != 120*time.Second {
		t.Fatalf("6th ping at %v, want 120s", pg.at)
	}
	if err := r.stop(t); err != nil {
		t.Fatalf("Run = %v", err)
	}
}

func TestPongModeSendsUnsolicitedPongsEveryInterval(t *testing.T) {
	clk := fakeclock.New(epoch)
	p := newPinger(clk)
	r := start(t, keepalive.Policy{Interval: 15 * time.Second, Timeout: 5 * time.Second, Pong: true}, p, clk)
	for i := 1; i <= 4; i++ {
		wantTimer(t, clk, 15*time.Second) // no timeout timer in between
		clk.Advance(15 * time.Second)
		select {
		case at := <-p.pongs:
			if want := time.Duration(i) * 15 * time.Second; at != want {
				t.Fatalf("pong %d at %v, want %v", i, at, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no pong")
		}
	}
	p.noPing(t)
	if err := r.stop(t); err != nil {
		t.Fatalf("Run = %v", err)
	}
}

func TestZeroIntervalDisablesKeepalive(t *testing.T) {
	clk := fakeclock.New(epoch)
	p := newPinger(clk)
	err := keepalive.Run(context.Background(), keepalive.Policy{Timeout: time.Second}, p, clk, nil)
	if err != nil {
		t.Fatalf("Run = %v", err)
	}
	clk.NoTimer(t)
}

func TestCancellingStopsRunAndItsTimers(t *testing.T) {
	for _, tc := range []struct {
		name      string
		pol       keepalive.Policy
		whilePong bool
	}{
		{"while sleeping", keepalive.Policy{Interval: time.Second, Timeout: time.Second}, false},
		{"while waiting for the pong", keepalive.Policy{Interval: time.Second, Timeout: time.Second}, true},
		{"while sleeping with an unanswered ping", keepalive.Policy{Interval: time.Second}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := fakeclock.New(epoch)
			p := newPinger(clk)
			r := start(t, tc.pol, p, clk)
			clk.NextTimer(t)
			if tc.whilePong {
				clk.Advance(time.Second)
				p.nextPing(t)
				clk.NextTimer(t)
			}
			if err := r.stop(t); err != nil {
				t.Fatalf("Run = %v", err)
			}
			if n := clk.Pending(); n != 0 {
				t.Fatalf("%d timers left running", n)
			}
		})
	}
}

func TestPongOfAnOlderPingIsIgnored(t *testing.T) {
	// Zero timeout: pings go out every interval unanswered; a late pong
	// of an older ping is not the latency of the last one.
	clk := fakeclock.New(epoch)
	p := newPinger(clk)
	r := start(t, keepalive.Policy{Interval: 20 * time.Second}, p, clk)
	wantTimer(t, clk, 20*time.Second)
	clk.Advance(20 * time.Second)
	first := p.nextPing(t)
	wantTimer(t, clk, 20*time.Second)
	clk.Advance(20 * time.Second)
	second := p.nextPing(t)
	wantTimer(t, clk, 20*time.Second)
	first.pong(time.Second)
	second.pong(2 * time.Second)
	if got := <-r.observed; got != 2*time.Second {
		t.Fatalf("observed %v, want the latency of the last ping", got)
	}
	select {
	case l := <-r.observed:
		t.Fatalf("observed %v from the older ping", l)
	default:
	}
}

func TestPongBeforeTheWaitStartsIsNotMissed(t *testing.T) {
	// The Pinger answers inside SendPing, before Run arms the pong
	// timeout: Run still sees the pong.
	clk := fakeclock.New(epoch)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	observed := make(chan time.Duration, 10)
	errc := make(chan error, 1)
	go func() {
		errc <- keepalive.Run(ctx, keepalive.Policy{Interval: time.Second, Timeout: time.Minute},
			instantPinger{latency: time.Millisecond}, clk, func(l time.Duration) { observed <- l })
	}()
	wantTimer(t, clk, time.Second)
	clk.Advance(time.Second)
	if l := <-observed; l != time.Millisecond {
		t.Fatalf("observed %v", l)
	}
	wantTimer(t, clk, time.Minute)                  // the pong wait, armed after the pong
	wantTimer(t, clk, time.Second-time.Millisecond) // and the next sleep
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("Run = %v", err)
	}
}

type instantPinger struct{ latency time.Duration }

func (p instantPinger) SendPing(pong func(time.Duration)) error { pong(p.latency); return nil }
func (instantPinger) SendPong() error                           { return nil }

func TestSendErrorEndsRun(t *testing.T) {
	boom := errors.New("boom")
	for _, pong := range []bool{false, true} {
		clk := fakeclock.New(epoch)
		p := newPinger(clk)
		p.err = boom
		r := start(t, keepalive.Policy{Interval: time.Second, Pong: pong}, p, clk)
		clk.NextTimer(t)
		clk.Advance(time.Second)
		if err := r.result(t); !errors.Is(err, boom) {
			t.Fatalf("pong=%v: Run = %v", pong, err)
		}
	}
}

func TestNilClockMeansRealTime(t *testing.T) {
	p := &fakePinger{clk: fakeclock.New(epoch), pings: make(chan ping, 100)}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		errc <- keepalive.Run(ctx, keepalive.Policy{Interval: time.Millisecond, Timeout: time.Hour}, p, nil, nil)
	}()
	pg := p.nextPing(t)
	pg.pong(time.Microsecond)
	p.nextPing(t)
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("Run = %v", err)
	}
}

func TestLoopStopEndsRunAndItsTimer(t *testing.T) {
	clk := fakeclock.New(epoch)
	p := newPinger(clk)
	l := keepalive.NewLoop(keepalive.Policy{Interval: time.Second, Timeout: time.Second}, p, clk, nil)
	errc := make(chan error, 1)
	go func() { errc <- l.Run() }()
	wantTimer(t, clk, time.Second)
	l.Stop()
	l.Stop() // twice is fine
	if err := <-errc; err != nil {
		t.Fatalf("Run = %v after Stop", err)
	}
	if n := clk.Pending(); n != 0 {
		t.Fatalf("%d timers left running", n)
	}
}

func TestLoopStoppedBeforeRunReturnsAtOnce(t *testing.T) {
	clk := fakeclock.New(epoch)
	p := newPinger(clk)
	l := keepalive.NewLoop(keepalive.Policy{Interval: time.Second}, p, clk, nil)
	l.Stop()
	if err := l.Run(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	p.noPing(t)
}
