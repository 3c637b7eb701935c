package reconnect

import (
	"context"
	"iter"
	"time"

	"github.com/tetherws/tether/runtime"
)

// Connections is the reconnect loop of Python websockets (async for ws in
// connect(...)), for programs that want each connection:
//
//	for conn, err := range reconnect.Connections(ctx, url, nil) {
//		if err != nil {
//			return err // fatal: the loop is over
//		}
//		for msg := range conn.Messages() {
//			...
//		}
//		// the connection was lost: continue with the next one
//	}
//
// Each iteration yields a connection that opened (and passed OnConnect).
// When the body continues, the connection is closed with 1000 (messages
// left unread are discarded) and the next one is dialed: at once, as in
// Python, when the body ran for Options.StableAfter; else after the next
// backoff delay, as after a failed attempt, so that a server that drops
// every connection at once is not dialed in a hot loop. Failed attempts
// are retried with Backoff, as Retryable decides.
// A fatal error is yielded once, with a nil connection, and ends the loop;
// so does breaking out of it. The loop ends silently when ctx is
// cancelled. Connected, Disconnected and Retrying events go to OnEvent.
func Connections(ctx context.Context, url string, opts *Options) iter.Seq2[*runtime.Conn, error] {
	return func(yield func(*runtime.Conn, error) bool) {
		e, err := newEngine(url, opts)
		if err != nil {
			yield(nil, err)
			return
		}
		c, err := e.connect(ctx, nil)
		for {
			if err != nil {
				yield(nil, err)
				return
			}
			if c == nil {
				return
			}
			opened := e.clock.Now()
			e.emit(Event{Kind: Connected, Conn: c})
			var uptime time.Duration
			more := func() (more bool) {
				defer func() {
					uptime = e.clock.Now().Sub(opened)
					closeAndDrain(c)
					e.emit(Event{Kind: Disconnected, Conn: c, Err: c.Err(), Close: c.CloseStatus(), Uptime: uptime, closing: !more || ctx.Err() != nil})
				}()
				return yield(c, nil)
			}()
			if !more || ctx.Err() != nil {
				return
			}
			c, err = e.redial(ctx, c.CloseStatus(), uptime)
		}
	}
}
