package reconnect

import (
	"context"
	"iter"

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
// left unread are discarded) and the next one is dialed at once, as in
// Python; failed attempts are retried with Backoff, as Retryable decides.
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
		for {
			c, err := e.connect(ctx, false, nil)
			if err != nil {
				yield(nil, err)
				return
			}
			if c == nil {
				return
			}
			e.emit(Event{Kind: Connected, Conn: c})
			more := func() bool {
				defer func() {
					closeAndDrain(c)
					e.emit(Event{Kind: Disconnected, Conn: c, Err: c.Err(), Close: c.CloseStatus()})
				}()
				return yield(c, nil)
			}()
			if !more || ctx.Err() != nil {
				return
			}
		}
	}
}
