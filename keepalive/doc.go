// Package keepalive is the heartbeat policy of a WebSocket connection: send
// a ping every interval, measure the latency from the matching pong, and
// report a dead peer when no pong comes back within the timeout.
//
// The policy is independent of any connection type: Run drives a Pinger
// (runtime.Conn is one; it sends pings with a fresh random 4-byte payload)
// with a Clock, so that tests replace time and assert schedules exactly.
//
// The schedule follows Python websockets: the first ping goes out one full
// interval after Run starts; each later one goes out interval minus the last
// measured latency after the previous pong (at once when the latency was
// longer than the interval). Incoming traffic does not delay pings. When
// no pong arrives within the timeout, Run returns ErrTimeout and the
// connection fails with 1011 "keepalive ping timeout". A zero timeout keeps
// pinging every interval without ever failing, and still reports the
// latency of the pongs that come back. Policy.Pong sends unsolicited pongs
// instead: a one-way heartbeat for peers that expect one.
//
// Run stops when its context ends; Loop is the same policy stopped by its
// owner (runtime.Conn runs one on each connection's keepalive goroutine).
// While it waits, the policy is parked on a single channel receive (timer
// callbacks, pongs and the stop all post to it), so that an idle
// connection's keepalive goroutine keeps Go's smallest stack.
package keepalive
