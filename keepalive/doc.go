// Package keepalive is the heartbeat policy of a WebSocket connection: send
// a ping every interval, measure the latency from the matching pong, and
// report a dead peer when no pong comes back within the timeout.
//
// The policy is independent of any connection type: Run drives a Pinger
// (runtime.Conn is one) with a Clock, so that tests can replace time.
//
// The schedule follows Python websockets: the first ping goes out one full
// interval after Run starts; each later one goes out interval minus the last
// measured latency after the previous pong (at once when the latency was
// longer than the interval). Incoming traffic does not delay pings.
package keepalive
