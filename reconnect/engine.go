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

func (e *engine) emit(ev Event) {
	switch ev.Kind {
	case Connected:
		e.log.Info("connected", "conn", ev.Conn.ID())
	case Disconnected:
		e.log.Info("connection lost", "conn", ev.Conn.ID(), "close", ev.Close.Error(), "err", ev.Err)
	case Retrying:
		e.log.Info(fmt.Sprintf("connect failed; reconnecting in %.1f seconds", ev.Delay.Seconds()), "err", ev.Err, "attempt", ev.Attempt)
	case Stopped:
		e.log.Info("stopped", "err", ev.Err)
	}
	if e.onEvent != nil {
		e.onEvent(ev)
	}
}

// giveUp wraps a fatal error.
func (e *engine) giveUp(err error) error {
	return fmt.Errorf("reconnect: giving up on %s: %w", e.redacted, err)
}

// connect returns a connection on which OnConnect succeeded, dialing again
// after retryable failures. With wait, it sleeps a backoff delay first
// (after a lost connection; cause is how it ended). It returns (nil, nil)
// when ctx ends and (nil, err) for a fatal error.
func (e *engine) connect(ctx context.Context, wait bool, cause error) (*runtime.Conn, error) {
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
			e.backoff.Reset()
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
