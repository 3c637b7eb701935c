// Package reconnect keeps WebSocket clients connected: a Supervisor dials,
// hands each connection over and, when it is lost, dials again with
// backoff, behind one message channel that outlives every connection.
//
// A long-lived client ranges over Messages once for its whole life:
//
//	sup, err := reconnect.New(ctx, "wss://example.com/feed", &reconnect.Options{
//		OnConnect: func(ctx context.Context, c *runtime.Conn) error {
//			return c.SendText(ctx, `{"subscribe":"ticks"}`) // runs on every connection
//		},
//		OnEvent: func(ev reconnect.Event) { log.Print(ev) },
//	})
//	if err != nil { ... } // an invalid URL
//	for msg := range sup.Messages() {
//		fmt.Printf("%s\n", msg.Data)
//	}
//	if err := sup.Err(); err != nil { ... } // a fatal error, e.g. HTTP 401
//
// Messages received on a connection before it was lost are delivered, in
// order and once, before those of the next connection. Send waits for a
// live connection (bounded by its ctx); TrySend fails fast with
// ErrNotConnected. OnConnect (authenticate, resubscribe) runs on each new
// connection before Send, Conn and Messages see it. OnEvent reports
// Connected, Disconnected (with the close frames and cause) and Retrying
// (with the delay) events.
//
// # Retries and backoff
//
// As in Python websockets, a lost connection is redialed at once, and the
// supervisor backs off only between failed attempts: after each one it
// waits for the next delay of its Backoff, by default Python's, a first
// delay uniform in [0, 5 s) (RFC 6455 §7.2.3: clients cut off together
// must not come back together), then 3.1 s growing by 1.618 up to 90 s.
// Unlike Python, a connection lost within Options.StableAfter (10 s by
// default) of opening counts as a failed attempt: a server that accepts
// and drops at once is retried with growing delays, not in a hot loop.
// The sequence restarts when a connection that lasted StableAfter is
// lost. A 429 or 503 answer with a Retry-After header waits at least
// that long, up to MaxRetryAfter (an hour).
//
// The Logger says what happened with its cause in each line: "connection
// lost: received 1001 (going away) …", "connect failed: dial tcp …:
// connection refused; reconnecting in 3.1 seconds".
//
// Network errors, timeouts, a server hanging up during the handshake and
// HTTP 429/500/502/503/504 are retried; other HTTP statuses, invalid URLs,
// refused redirects, negotiation failures and TLS certificate errors stop
// the supervisor with an error wrapping the cause (see IsRetryable for the
// exact rules and why certificate errors are fatal). Options.Retryable
// overrides the decision, for failed attempts and lost connections alike.
//
// # One connection at a time
//
// Connections is the reconnect loop of Python websockets, an iterator
// over successive connections for programs that handle each connection
// themselves.
//
// Time is injectable (Options.Clock) so that tests assert backoff
// schedules exactly, without sleeping.
package reconnect
