package reconnect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/tetherws/tether/runtime"
	"github.com/tetherws/tether/ws"
)

// Options configure a Supervisor and Connections. The zero value (or nil)
// gives the defaults.
type Options struct {
	// Dial configures each connection (timeouts, keepalive, headers, TLS,
	// MaxQueue, …). NetConn must be nil: a socket cannot be redialed; use
	// DialContext to control how connections are made.
	Dial runtime.DialOptions

	// OnConnect runs on each new connection before it becomes current:
	// before Conn returns it, before Sends waiting for a connection go out
	// and before its messages are delivered on Messages. Use it to
	// authenticate and resubscribe. It may read c.Messages() itself (for
	// example to wait for an acknowledgement); what it leaves is delivered
	// on Messages afterwards. ctx is cancelled when the supervisor stops or
	// the connection ends. An error closes the connection and is
	// classified like a dial error (see Retryable); if the connection ended
	// under OnConnect, it counts as a lost connection and is retried.
	OnConnect func(ctx context.Context, c *runtime.Conn) error

	// OnEvent, if set, is told of every Connected, Disconnected, Retrying
	// and Stopped event, synchronously and in order, on the supervisor's
	// goroutine: it must return quickly and must not call Close or Wait
	// (cancelling the supervisor's context is fine).
	OnEvent func(Event)

	// Backoff gives the delays between attempts. Default: NewBackoff(),
	// the backoff of Python websockets. A Backoff must not be shared
	// between supervisors.
	Backoff Backoff

	// StableAfter is how long a connection must stay open to count as a
	// success. When a connection that lasted that long is lost, the next
	// one is dialed at once and the backoff starts over; one lost sooner
	// counts as a failed attempt, so the next dial waits for the next
	// backoff delay (a server that accepts and drops at once is not
	// hammered, and its clients back off further each time). Default
	// DefaultStableAfter; negative: every lost connection is redialed at
	// once, as in Python websockets.
	StableAfter time.Duration

	// Retryable decides whether to try again after an error: a failed dial
	// or OnConnect, or, for a Supervisor, a lost connection (then err is
	// the *ws.CloseError of runtime.Conn.CloseStatus, even for a clean
	// close). Returning false stops the supervisor with that error.
	// Default: IsRetryable. A hook that extends the defaults calls it:
	//
	//	Retryable: func(err error) bool {
	//		var ce *ws.CloseError
	//		if errors.As(err, &ce) && ce.Code() == 4001 { // "banned"
	//			return false
	//		}
	//		return reconnect.IsRetryable(err)
	//	},
	Retryable func(err error) bool

	// Clock times the backoff waits. Default: real time.
	Clock Clock

	// Logger receives the supervisor's logs at Info level ("connected",
	// "connection lost: <how>", "connect failed: <why>; reconnecting in
	// N seconds", "stopped"). Default: discard.
	Logger *slog.Logger
}

// Errors of Send.
var (
	// ErrNotConnected is returned by TrySend when there is no live
	// connection.
	ErrNotConnected = errors.New("reconnect: not connected")
	// ErrStopped is returned by Send once the supervisor has stopped. When
	// it stopped on a fatal error, the error returned wraps both.
	ErrStopped = errors.New("reconnect: supervisor stopped")
)

// Supervisor keeps a client connected: it dials, runs OnConnect, hands the
// connection over, and when the connection is lost dials again with
// backoff, until its context is cancelled, Close is called or an error is
// fatal. Its methods are safe for concurrent use.
type Supervisor struct {
	e      *engine
	ctx    context.Context
	cancel context.CancelFunc

	msgs    chan runtime.Message
	stopped chan struct{} // closed when the supervisor has stopped dialing
	done    chan struct{} // closed after Messages
	fwd     sync.WaitGroup

	mu      sync.Mutex
	conn    *runtime.Conn
	changed chan struct{} // closed and replaced when conn changes
	err     error         // the fatal error, set before stopped is closed
}

// New starts a supervisor for url (ws:// or wss://). It returns at once,
// with an error only for an invalid URL or options; the first connection
// is made in the background. The supervisor runs until ctx is cancelled,
// Close is called or an error is fatal.
func New(ctx context.Context, url string, opts *Options) (*Supervisor, error) {
	e, err := newEngine(url, opts)
	if err != nil {
		return nil, err
	}
	queue := e.dial.MaxQueue // as a connection's: 0 the default, negative none
	switch {
	case queue == 0:
		queue = runtime.DefaultMaxQueue
	case queue < 0:
		queue = 0
	}
	s := &Supervisor{
		e:       e,
		msgs:    make(chan runtime.Message, queue),
		stopped: make(chan struct{}),
		done:    make(chan struct{}),
		changed: make(chan struct{}),
	}
	s.ctx, s.cancel = context.WithCancel(ctx)
	go s.run()
	return s, nil
}

// Messages returns the channel of the messages received on every
// connection, in order: all the messages of one connection, including
// those received just before it was lost, come before those of the next,
// and none is delivered twice. It is closed when the supervisor has
// stopped: after a fatal error, once the messages already received have
// been delivered; after Close or cancellation, at once, dropping those not
// read yet. Range over it for
// the life of the client; a client that does not read it stalls its
// connections (backpressure), keepalive included.
func (s *Supervisor) Messages() <-chan runtime.Message { return s.msgs }

// Conn returns the current connection, or nil between connections.
func (s *Supervisor) Conn() *runtime.Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conn
}

// Send sends a message on the current connection, waiting for one if there
// is none, until ctx ends. If the connection is lost before the message
// is queued, Send waits for the next one: a message is never sent twice,
// but one queued just before the connection was lost may be lost with it
// (at most once). It returns ErrStopped once the supervisor has stopped.
func (s *Supervisor) Send(ctx context.Context, typ ws.Opcode, data []byte) error {
	return s.send(ctx, typ, data, false)
}

// SendText sends a text message as Send does.
func (s *Supervisor) SendText(ctx context.Context, text string) error {
	return s.send(ctx, ws.OpText, []byte(text), false)
}

// TrySend is Send that fails fast with ErrNotConnected instead of waiting
// when there is no live connection. It still waits, as runtime.Conn.Send
// does, while the connection's write queue is full.
func (s *Supervisor) TrySend(ctx context.Context, typ ws.Opcode, data []byte) error {
	return s.send(ctx, typ, data, true)
}

func (s *Supervisor) send(ctx context.Context, typ ws.Opcode, data []byte, fast bool) error {
	var dead *runtime.Conn
	for {
		s.mu.Lock()
		c, changed := s.conn, s.changed
		s.mu.Unlock()
		if c == nil || c == dead {
			select {
			case <-s.stopped:
				return s.stoppedErr()
			default:
			}
			if fast {
				return ErrNotConnected
			}
			select {
			case <-changed:
				continue
			case <-ctx.Done():
				return ctx.Err()
			case <-s.stopped:
				return s.stoppedErr()
			}
		}
		err := c.Send(ctx, typ, data)
		if err == nil || !errors.Is(err, ws.ErrClosed) || ctx.Err() != nil {
			return err
		}
		// The connection is closing: nothing was queued. Wait for the
		// next one.
		dead = c
	}
}

func (s *Supervisor) stoppedErr() error {
	if err := s.fatal(); err != nil {
		return fmt.Errorf("%w: %w", ErrStopped, err)
	}
	return ErrStopped
}

func (s *Supervisor) fatal() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Done is closed when the supervisor has stopped and Messages is closed.
func (s *Supervisor) Done() <-chan struct{} { return s.done }

// Err returns the fatal error that stopped the supervisor, once it has
// stopped (it is set before Messages is closed); nil before, and after a
// stop by Close or cancellation.
func (s *Supervisor) Err() error {
	select {
	case <-s.stopped:
		return s.fatal()
	default:
		return nil
	}
}

// Wait waits until the supervisor has stopped and returns Err.
func (s *Supervisor) Wait() error {
	<-s.done
	return s.fatal()
}

// Close stops the supervisor: it abandons a dial or backoff wait in
// progress, closes the current connection with 1000 (bounded by the
// connection's CloseTimeout) and waits until Done. Messages not yet read
// are dropped. It returns nil; Err reports a fatal error.
func (s *Supervisor) Close() error {
	s.cancel()
	<-s.done
	return nil
}

func (s *Supervisor) setConn(c *runtime.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conn = c
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Supervisor) run() {
	prev := make(chan struct{})
	close(prev)
	c, err := s.e.connect(s.ctx, nil)
	for c != nil {
		opened := s.e.clock.Now()
		s.setConn(c)
		s.e.emit(Event{Kind: Connected, Conn: c})
		prev = s.forward(c, prev)
		select {
		case <-prev:
			// Every message is forwarded: answer the close the peer
			// may be owed now (Err sends it and waits for the end)
			// rather than after the connection's quiet period.
			_ = c.Err()
		case <-c.Done():
		case <-s.ctx.Done():
			_ = c.Close(ws.CloseNormal, "")
		}
		s.setConn(nil)
		ce := c.CloseStatus()
		uptime := s.e.clock.Now().Sub(opened)
		s.e.emit(Event{Kind: Disconnected, Conn: c, Err: c.Err(), Close: ce, Uptime: uptime, closing: s.ctx.Err() != nil})
		if s.ctx.Err() != nil {
			c, err = nil, nil
			break
		}
		if !s.e.retryable(ce) {
			c, err = nil, s.e.giveUp(ce)
			break
		}
		c, err = s.e.redial(s.ctx, ce, uptime)
	}
	fatal := err
	s.mu.Lock()
	s.err = fatal
	s.mu.Unlock()
	close(s.stopped)
	s.e.emit(Event{Kind: Stopped, Err: fatal})
	s.fwd.Wait()
	if s.ctx.Err() != nil {
		// Stopped by Close or cancellation: drop what was not read.
		for drained := false; !drained; {
			select {
			case m := <-s.msgs:
				m.Release()
			default:
				drained = true
			}
		}
	}
	s.cancel()
	close(s.msgs)
	close(s.done)
}

// forward delivers c's messages on s.msgs once the previous connection's
// are delivered; it returns a channel closed when it is done.
func (s *Supervisor) forward(c *runtime.Conn, prev <-chan struct{}) chan struct{} {
	done := make(chan struct{})
	s.fwd.Add(1)
	go func() {
		defer s.fwd.Done()
		defer close(done)
		select {
		case <-prev:
		case <-s.ctx.Done():
		}
		for m := range c.Messages() {
			if s.ctx.Err() == nil {
				select {
				case s.msgs <- m:
					continue
				case <-s.ctx.Done():
				}
			}
			m.Release()
		}
	}()
	return done
}
