package reconnect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tetherws/tether/keepalive"
	"github.com/tetherws/tether/runtime"
	"github.com/tetherws/tether/ws"
)

// Clock is the time source of the backoff waits; tests inject a fake one.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) keepalive.Timer
}

type realClock struct{}

func (realClock) Now() time.Time                           { return time.Now() }
func (realClock) NewTimer(d time.Duration) keepalive.Timer { return keepalive.RealClock.NewTimer(d) }

var discardLogger = slog.New(slog.DiscardHandler)

// engine dials with retries; Supervisor and Connections share it.
type engine struct {
	url       string
	redacted  string
	dial      runtime.DialOptions
	onConnect func(context.Context, *runtime.Conn) error
	onEvent   func(Event)
	backoff   Backoff
	stable    time.Duration // Options.StableAfter, resolved
	retryable func(error) bool
	clock     Clock
	log       *slog.Logger
}

func newEngine(rawURL string, o *Options) (*engine, error) {
	if o == nil {
		o = &Options{}
	}
	u, err := ws.ParseURI(rawURL)
	if err != nil {
		return nil, err
	}
	if o.Dial.NetConn != nil {
		return nil, errors.New("reconnect: DialOptions.NetConn cannot be redialed; use DialContext")
	}
	e := &engine{
		url:       rawURL,
		redacted:  u.Redacted(),
		dial:      o.Dial,
		onConnect: o.OnConnect,
		onEvent:   o.OnEvent,
		backoff:   o.Backoff,
		retryable: o.Retryable,
		clock:     o.Clock,
		log:       o.Logger,
	}
	if e.backoff == nil {
		e.backoff = NewBackoff()
	}
	switch e.stable = o.StableAfter; {
	case e.stable == 0:
		e.stable = DefaultStableAfter
	case e.stable < 0:
		e.stable = 0
	}
	if e.retryable == nil {
		e.retryable = IsRetryable
	}
	if e.clock == nil {
		e.clock = realClock{}
	}
	if e.log == nil {
		e.log = discardLogger
	}
	e.log = e.log.With("url", e.redacted)
	return e, nil
}

// emit logs ev and passes it to OnEvent. Each log line says what
// happened and why in its message, never with an empty cause.
func (e *engine) emit(ev Event) {
	switch ev.Kind {
	case Connected:
		e.log.Info("connected", "conn", ev.Conn.ID())
	case Disconnected:
		what := "connection lost: "
		if ev.closing {
			what = "connection closed: "
		}
		if ev.Close != nil {
			what += describeClose(ev.Close)
		} else if ev.Err != nil {
			what += ev.Err.Error()
		}
		e.log.Info(what, "conn", ev.Conn.ID(), "uptime", ev.Uptime)
	case Retrying:
		var msg string
		if ev.afterLoss() {
			msg = fmt.Sprintf("connection lost within %v of opening; reconnecting in %.1f seconds", e.stable, ev.Delay.Seconds())
		} else {
			msg = fmt.Sprintf("connect failed: %v; reconnecting in %.1f seconds", ev.Err, ev.Delay.Seconds())
		}
		e.log.Info(msg, "attempt", ev.Attempt)
	case Stopped:
		if ev.Err != nil {
			e.log.Error("stopped: " + ev.Err.Error())
		} else {
			e.log.Info("stopped")
		}
	}
	if e.onEvent != nil {
		e.onEvent(ev)
	}
}

// giveUp wraps a fatal error.
func (e *engine) giveUp(err error) error {
	return fmt.Errorf("reconnect: giving up on %s: %w", e.redacted, err)
}

// redial returns the next connection after one that was open for uptime
// and ended with ce: dialed at once, the backoff starting over, when it
// lasted StableAfter; else, as after a failed attempt, after the next
// backoff delay.
func (e *engine) redial(ctx context.Context, ce *ws.CloseError, uptime time.Duration) (*runtime.Conn, error) {
	if uptime >= e.stable {
		e.backoff.Reset()
		return e.connect(ctx, nil)
	}
	return e.connect(ctx, ce)
}

// connect returns a connection on which OnConnect succeeded, dialing again
// after retryable failures, each after the next backoff delay. With a
// cause (the close status of a connection lost too soon), it waits a
// delay before the first dial too. It returns (nil, nil) when ctx ends
// and (nil, err) for a fatal error.
func (e *engine) connect(ctx context.Context, cause error) (*runtime.Conn, error) {
	wait := cause != nil
	attempt := 0
	for {
		if wait {
			attempt++
			d := e.backoff.Next()
			if ra := retryAfter(cause, e.clock.Now()); ra > d {
				d = ra
			}
			e.emit(Event{Kind: Retrying, Err: cause, Delay: d, Attempt: attempt})
			if !sleep(ctx, e.clock, d) {
				return nil, nil
			}
		}
		wait = true
		c, err := e.open(ctx)
		if err == nil {
			return c, nil
		}
		if ctx.Err() != nil {
			return nil, nil
		}
		if !e.retryable(err) {
			return nil, e.giveUp(err)
		}
		cause = err
	}
}

// open dials once and runs OnConnect.
func (e *engine) open(ctx context.Context) (*runtime.Conn, error) {
	c, _, err := runtime.Dial(ctx, e.url, &e.dial)
	if err != nil {
		return nil, err
	}
	if e.onConnect == nil {
		return c, nil
	}
	octx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(c.Context(), cancel)
	err = e.onConnect(octx, c)
	stop()
	cancel()
	if err == nil {
		return c, nil
	}
	lost := c.Context().Err() != nil // the connection ended under OnConnect
	closeAndDrain(c)
	switch {
	case errors.Is(err, ws.ErrClosed):
		return nil, fmt.Errorf("reconnect: connection lost during OnConnect: %w", err)
	case lost:
		// A lost connection, whatever OnConnect made of it (typically
		// context.Canceled or "no answer").
		return nil, fmt.Errorf("reconnect: connection lost during OnConnect (%v): %w", err, c.CloseStatus())
	}
	return nil, fmt.Errorf("reconnect: OnConnect: %w", err)
}

// closeAndDrain closes c with 1000, discarding the messages nobody will
// read (so that a reader blocked on a full Messages channel cannot hold
// the closing handshake up), and waits until it has ended.
func closeAndDrain(c *runtime.Conn) {
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		for m := range c.Messages() {
			m.Release()
		}
	}()
	_ = c.Close(ws.CloseNormal, "")
	<-drained
}

// sleep waits d on clock, or until ctx ends (false).
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
