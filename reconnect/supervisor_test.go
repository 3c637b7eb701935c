package reconnect_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tetherws/tether/internal/fakeclock"
	"github.com/tetherws/tether/reconnect"
	"github.com/tetherws/tether/runtime"
	"github.com/tetherws/tether/ws"
)

// pythonBackoff is the default backoff with a first delay of exactly 2.5 s.
func pythonBackoff() *reconnect.Exponential {
	b := reconnect.NewBackoff()
	b.Rand = half
	return b
}

// subscribe is an OnConnect hook: it subscribes and waits for the ack.
func subscribe(ctx context.Context, c *runtime.Conn) error {
	if err := c.SendText(ctx, "subscribe ticks"); err != nil {
		return err
	}
	select {
	case m, ok := <-c.Messages():
		if !ok {
			return errors.New("connection closed before the subscription was acknowledged")
		}
		if m.Text() != "subscribed ticks" {
			return fmt.Errorf("unexpected answer %q", m.Text())
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func start(t *testing.T, url string, o *reconnect.Options) *reconnect.Supervisor {
	t.Helper()
	sup, err := reconnect.New(context.Background(), url, o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { sup.Close() })
	return sup
}

func wantTimer(t *testing.T, clk *fakeclock.Clock, want time.Duration) {
	t.Helper()
	if got := clk.NextTimer(t); got != want {
		t.Fatalf("timer of %v, want %v", got, want)
	}
}

// retry checks the next Retrying event and lets its wait pass.
func retry(t *testing.T, ev events, clk *fakeclock.Clock, delay time.Duration, attempt int) reconnect.Event {
	t.Helper()
	e := ev.next(t, reconnect.Retrying)
	if e.Delay != delay || e.Attempt != attempt {
		t.Fatalf("retrying in %v (attempt %d), want %v (attempt %d): %v", e.Delay, e.Attempt, delay, attempt, e.Err)
	}
	wantTimer(t, clk, delay)
	clk.Advance(delay)
	return e
}

func TestBackoffScheduleIsExactAgainstARefusingServer(t *testing.T) {
	url := refusedURL(t)
	clk := fakeclock.New(epoch)
	ev := newEvents()
	start(t, url, &reconnect.Options{OnEvent: ev.on, Backoff: pythonBackoff(), Clock: clk})
	srv := newStoppedServer(t, strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), "/"), nil)
	want := append([]time.Duration{2500 * time.Millisecond}, pythonDelays...)
	for i, d := range want {
		e := ev.next(t, reconnect.Retrying)
		if e.Delay != d || e.Attempt != i+1 || !errors.Is(e.Err, syscall.ECONNREFUSED) {
			t.Fatalf("retry %d: %v, want %v after connection refused", i+1, e, d)
		}
		wantTimer(t, clk, d)
		if i == len(want)-1 {
			srv.start() // the server comes up during the last wait
		}
		clk.Advance(d)
	}
	// The next attempt connects. Once it has lasted StableAfter and is
	// lost, it is redialed at once (refused: the server is down), and the
	// sequence restarts from the random delay.
	ev.next(t, reconnect.Connected)
	clk.Advance(reconnect.DefaultStableAfter)
	srv.kill()
	ev.next(t, reconnect.Disconnected)
	retry(t, ev, clk, 2500*time.Millisecond, 1)
	retry(t, ev, clk, 3100*time.Millisecond, 2)
}

func TestTransientFailuresAreRetriedWithBackoff(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(*testServer)
		check func(error) bool
		n     int
	}{
		{"closed mid-handshake", func(s *testServer) { s.hangUp(3) }, func(err error) bool {
			return errors.Is(err, ws.ErrInvalidMessage)
		}, 3},
		{"503 500 502 504 429", func(s *testServer) {
			s.reject(status(503), status(500), status(502), status(504), status(429))
		}, func(err error) bool { return errors.Is(err, ws.ErrInvalidStatus) }, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newTestServer(t, nil)
			tc.setup(srv)
			clk := fakeclock.New(epoch)
			ev := newEvents()
			sup := start(t, srv.url(), &reconnect.Options{OnEvent: ev.on, Backoff: pythonBackoff(), Clock: clk, OnConnect: subscribe})
			want := append([]time.Duration{2500 * time.Millisecond}, pythonDelays...)
			for i := range tc.n {
				if e := retry(t, ev, clk, want[i], i+1); !tc.check(e.Err) {
					t.Fatalf("retry %d after %v", i+1, e.Err)
				}
			}
			c := ev.next(t, reconnect.Connected).Conn
			if sup.Conn() != c {
				t.Fatal("Conn() is not the connection of the Connected event")
			}
		})
	}
}

func TestRetryAfterLengthensTheWait(t *testing.T) {
	srv := newTestServer(t, nil)
	clk := fakeclock.New(epoch)
	srv.reject(
		status(503, "Retry-After", "120"), // longer than 2.5 s: 120 s
		status(429, "Retry-After", epoch.Add(120*time.Second+200*time.Second).Format(http.TimeFormat)), // an HTTP date 200 s after the retry
		status(503, "Retry-After", "1"),   // shorter than the backoff's 5.0158 s
		status(500, "Retry-After", "600"), // only 429 and 503 count
	)
	ev := newEvents()
	start(t, srv.url(), &reconnect.Options{OnEvent: ev.on, Backoff: pythonBackoff(), Clock: clk})
	retry(t, ev, clk, 120*time.Second, 1)
	retry(t, ev, clk, 200*time.Second, 2)
	retry(t, ev, clk, 5015800000, 3)
	retry(t, ev, clk, 8115564400, 4)
	ev.next(t, reconnect.Connected)
}

// A Retry-After of 31 years, or an HTTP date in the year 9999, waits an
// hour at most.
func TestRetryAfterIsCapped(t *testing.T) {
	const limit = reconnect.MaxRetryAfter
	if limit != time.Hour {
		t.Fatalf("MaxRetryAfter = %v, documented as an hour", limit)
	}
	srv := newTestServer(t, nil)
	clk := fakeclock.New(epoch)
	srv.reject(
		status(429, "Retry-After", "999999999"),
		status(503, "Retry-After", "Fri, 31 Dec 9999 23:59:59 GMT"),
		status(503, "Retry-After", "3599"), // under the cap: as asked
	)
	ev := newEvents()
	start(t, srv.url(), &reconnect.Options{OnEvent: ev.on, Backoff: pythonBackoff(), Clock: clk})
	retry(t, ev, clk, limit, 1)
	retry(t, ev, clk, limit, 2)
	retry(t, ev, clk, 3599*time.Second, 3)
	ev.next(t, reconnect.Connected)
}

func TestFatalStatusStopsWithAClearError(t *testing.T) {
	srv := newTestServer(t, nil)
	srv.reject(status(401))
	ev := newEvents()
	sup := start(t, srv.url(), &reconnect.Options{OnEvent: ev.on})
	err := sup.Wait()
	var se *ws.StatusError
	if !errors.As(err, &se) || se.StatusCode() != 401 {
		t.Fatalf("Wait = %v, want the 401 StatusError", err)
	}
	if want := "reconnect: giving up on " + srv.url() + ": ws: server rejected WebSocket connection: HTTP 401"; err.Error() != want {
		t.Fatalf("error %q, want %q", err, want)
	}
	if e := ev.next(t, reconnect.Stopped); e.Err != err {
		t.Fatalf("Stopped event %v", e)
	}
	if _, ok := <-sup.Messages(); ok {
		t.Fatal("Messages not closed")
	}
	if err := sup.SendText(context.Background(), "x"); !errors.Is(err, reconnect.ErrStopped) || !errors.Is(err, ws.ErrInvalidStatus) {
		t.Fatalf("Send after a fatal error = %v", err)
	}
	if sup.Err() != err {
		t.Fatalf("Err = %v", sup.Err())
	}
}

func TestInvalidOptionsFailAtNew(t *testing.T) {
	if _, err := reconnect.New(context.Background(), "http://example.com/", nil); !errors.Is(err, ws.ErrInvalidURI) {
		t.Fatalf("New with an http URL = %v", err)
	}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	o := &reconnect.Options{}
	o.Dial.NetConn = a
	if _, err := reconnect.New(context.Background(), "ws://example.com/", o); err == nil {
		t.Fatal("New with NetConn succeeded")
	}
	for c, err := range reconnect.Connections(context.Background(), "ws://", nil) {
		if c != nil || !errors.Is(err, ws.ErrInvalidURI) {
			t.Fatalf("Connections yielded %v, %v", c, err)
		}
	}
}

func TestRetryableHookOverridesTheDefaults(t *testing.T) {
	t.Run("retry a 401", func(t *testing.T) {
		srv := newTestServer(t, nil)
		srv.reject(status(401), status(401))
		clk := fakeclock.New(epoch)
		ev := newEvents()
		start(t, srv.url(), &reconnect.Options{OnEvent: ev.on, Backoff: reconnect.Constant(time.Second), Clock: clk,
			Retryable: func(err error) bool {
				var se *ws.StatusError
				return errors.As(err, &se) && se.StatusCode() == 401 || reconnect.IsRetryable(err)
			}})
		retry(t, ev, clk, time.Second, 1)
		retry(t, ev, clk, time.Second, 2)
		ev.next(t, reconnect.Connected)
	})
	t.Run("stop on close code 4001", func(t *testing.T) {
		srv := newTestServer(t, func(ctx context.Context, c *runtime.Conn) error {
			return c.Close(4001, "banned")
		})
		sup := start(t, srv.url(), &reconnect.Options{Retryable: func(err error) bool {
			var ce *ws.CloseError
			if errors.As(err, &ce) && ce.Code() == 4001 {
				return false
			}
			return reconnect.IsRetryable(err)
		}})
		err := sup.Wait()
		var ce *ws.CloseError
		if !errors.As(err, &ce) || ce.Code() != 4001 || ce.Reason() != "banned" {
			t.Fatalf("Wait = %v", err)
		}
	})
}

func TestOnConnectErrorIsFatalUnlessTheConnectionWasLost(t *testing.T) {
	t.Run("fatal", func(t *testing.T) {
		srv := newTestServer(t, nil)
		refused := errors.New("auth refused")
		sup := start(t, srv.url(), &reconnect.Options{OnConnect: func(ctx context.Context, c *runtime.Conn) error { return refused }})
		if err := sup.Wait(); !errors.Is(err, refused) || !strings.Contains(err.Error(), "OnConnect: auth refused") {
			t.Fatalf("Wait = %v", err)
		}
	})
	t.Run("lost", func(t *testing.T) {
		var n atomic.Int32
		srv := newTestServer(t, nil)
		pubsub := srv.handler
		srv.handler = func(ctx context.Context, c *runtime.Conn) error {
			if n.Add(1) == 1 {
				c.CloseNow() // drop the first connection before the ack
				return nil
			}
			return pubsub(ctx, c)
		}
		srv.kill()
		srv.start()
		clk := fakeclock.New(epoch)
		ev := newEvents()
		start(t, srv.url(), &reconnect.Options{OnConnect: subscribe, OnEvent: ev.on, Backoff: pythonBackoff(), Clock: clk})
		e := retry(t, ev, clk, 2500*time.Millisecond, 1)
		if !errors.Is(e.Err, ws.ErrClosed) || !strings.Contains(e.Err.Error(), "connection lost during OnConnect") {
			t.Fatalf("retrying after %v", e.Err)
		}
		ev.next(t, reconnect.Connected)
	})
}

// TestBotSurvivesServerRestarts is the life of a bot: the server is killed
// and restarted three times mid-stream; each time the supervisor
// reconnects, resubscribes before anything else is sent, delivers the
// messages received before the drop, and keeps receiving.
func TestBotSurvivesServerRestarts(t *testing.T) {
	ctx := testCtx(t)
	srv := newTestServer(t, nil)
	clk := fakeclock.New(epoch)
	ev := newEvents()
	sup := start(t, srv.url(), &reconnect.Options{OnConnect: subscribe, OnEvent: ev.on, Backoff: pythonBackoff(), Clock: clk})
	queued := make(chan error, 1)
	var all []string
	for round := range 4 {
		c := ev.next(t, reconnect.Connected).Conn
		if sup.Conn() != c {
			t.Fatal("Conn() is not the new connection")
		}
		sc := <-srv.subs
		var want []string
		if round > 0 {
			// The Send made while the server was down went out on the
			// new connection, after the subscription.
			if got := <-srv.got; got != fmt.Sprintf("queued %d", round) {
				t.Fatalf("server got %q first", got)
			}
			if err := <-queued; err != nil {
				t.Fatalf("queued Send: %v", err)
			}
			want = append(want, fmt.Sprintf("echo: queued %d", round))
		}
		if err := sup.SendText(ctx, fmt.Sprintf("hello %d", round)); err != nil {
			t.Fatal(err)
		}
		if got := <-srv.got; got != fmt.Sprintf("hello %d", round) {
			t.Fatalf("server got %q", got)
		}
		want = append(want, fmt.Sprintf("echo: hello %d", round))
		for i := 1; i <= 3; i++ {
			tick := fmt.Sprintf("tick %d.%d", round, i)
			if err := sc.SendText(ctx, tick); err != nil {
				t.Fatal(err)
			}
			want = append(want, tick)
		}
		if _, err := sc.Ping(ctx, nil); err != nil { // the client has read the ticks
			t.Fatal(err)
		}
		clk.Advance(reconnect.DefaultStableAfter) // a stable connection
		if round == 3 {
			for _, w := range want {
				if got := recvText(t, sup.Messages()); got != w {
					t.Fatalf("round %d: got %q, want %q", round, got, w)
				}
				all = append(all, w)
			}
			break
		}
		srv.kill()
		d := ev.next(t, reconnect.Disconnected)
		if d.Err == nil || d.Close.Code() != ws.CloseAbnormal || d.Conn != c {
			t.Fatalf("Disconnected %v", d)
		}
		// Messages received before the drop are delivered while there is
		// no connection.
		for _, w := range want {
			if got := recvText(t, sup.Messages()); got != w {
				t.Fatalf("round %d: got %q, want %q", round, got, w)
			}
			all = append(all, w)
		}
		if err := sup.TrySend(ctx, ws.OpText, []byte("x")); !errors.Is(err, reconnect.ErrNotConnected) {
			t.Fatalf("TrySend while down = %v", err)
		}
		go func() { queued <- sup.SendText(ctx, fmt.Sprintf("queued %d", round+1)) }()
		ev.next(t, reconnect.Retrying)
		srv.start()
		wantTimer(t, clk, 2500*time.Millisecond) // reset after each connection
		clk.Advance(2500 * time.Millisecond)
	}
	if len(all) != 4*4+3 {
		t.Fatalf("%d messages: %q", len(all), all)
	}
	if err := sup.Close(); err != nil {
		t.Fatal(err)
	}
	d := ev.next(t, reconnect.Disconnected)
	if d.Err != nil || d.Close.Sent == nil || d.Close.Sent.Code != ws.CloseNormal {
		t.Fatalf("Disconnected on Close: %v", d)
	}
	if e := ev.next(t, reconnect.Stopped); e.Err != nil {
		t.Fatalf("Stopped: %v", e.Err)
	}
	if _, ok := <-sup.Messages(); ok {
		t.Fatal("a message after Close")
	}
	if sup.Err() != nil || sup.Conn() != nil {
		t.Fatalf("Err %v, Conn %v after Close", sup.Err(), sup.Conn())
	}
}

func TestSendWaitsBoundedByItsContext(t *testing.T) {
	sup := start(t, refusedURL(t), &reconnect.Options{Clock: fakeclock.New(epoch)})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- sup.SendText(ctx, "x") }()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Send = %v", err)
	}
	if err := sup.TrySend(context.Background(), ws.OpText, []byte("x")); !errors.Is(err, reconnect.ErrNotConnected) {
		t.Fatalf("TrySend = %v", err)
	}
	go func() { errc <- sup.SendText(context.Background(), "x") }()
	sup.Close()
	if err := <-errc; !errors.Is(err, reconnect.ErrStopped) {
		t.Fatalf("Send across Close = %v", err)
	}
}

// TestCloseIsPrompt stops supervisors in each state; the fake clock never
// moves, so a Close that waited for a backoff delay would never return.
func TestCloseIsPrompt(t *testing.T) {
	t.Run("waiting 90s", func(t *testing.T) {
		clk := fakeclock.New(epoch)
		ev := newEvents()
		sup := start(t, refusedURL(t), &reconnect.Options{OnEvent: ev.on, Backoff: reconnect.Constant(90 * time.Second), Clock: clk})
		ev.next(t, reconnect.Retrying)
		clk.NextTimer(t)
		sup.Close()
		if clk.Pending() != 0 {
			t.Fatal("backoff timer left running")
		}
	})
	t.Run("in OnConnect", func(t *testing.T) {
		srv := newTestServer(t, nil)
		entered := make(chan struct{})
		sup := start(t, srv.url(), &reconnect.Options{OnConnect: func(ctx context.Context, c *runtime.Conn) error {
			close(entered)
			<-ctx.Done()
			return ctx.Err()
		}})
		<-entered
		sup.Close()
		if err := sup.Err(); err != nil {
			t.Fatalf("Err = %v", err)
		}
	})
	t.Run("connected with unread messages", func(t *testing.T) {
		srv := newTestServer(t, func(ctx context.Context, c *runtime.Conn) error {
			for i := 0; ctx.Err() == nil; i++ {
				if err := c.SendText(ctx, strconv.Itoa(i)); err != nil {
					return nil
				}
			}
			return nil
		})
		sup := start(t, srv.url(), nil)
		recvText(t, sup.Messages()) // connected, and the queues are filling up
		sup.Close()
	})
}

// TestThousandReconnectsLeakNothing reconnects to a server that sends one
// message and closes, 1,000 times: every message is delivered once, in
// order, and no goroutine is left behind.
func TestThousandReconnectsLeakNothing(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	var seq atomic.Int64
	srv := newTestServer(t, func(ctx context.Context, c *runtime.Conn) error {
		return c.SendText(ctx, strconv.FormatInt(seq.Add(1), 10))
	})
	var connected atomic.Int64
	sup := start(t, srv.url(), &reconnect.Options{
		Backoff: reconnect.Constant(0),
		OnEvent: func(e reconnect.Event) {
			if e.Kind == reconnect.Connected {
				connected.Add(1)
			}
		},
	})
	for i := int64(1); i <= 1000; i++ {
		if got := recvText(t, sup.Messages()); got != strconv.FormatInt(i, 10) {
			t.Fatalf("message %d is %q", i, got)
		}
	}
	sup.Close()
	srv.stop()
	if n := connected.Load(); n < 1000 {
		t.Fatalf("%d connections for 1000 messages", n)
	}
	goleak.VerifyNone(t, ignore)
}
