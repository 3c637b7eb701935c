package tether

import "github.com/tetherws/tether/runtime"

// Observer receives the events of connections, for metrics: set it in
// Options.Observer. Every hook is optional. The modules
// github.com/tetherws/tether/metrics/tetherprom (Prometheus) and
// github.com/tetherws/tether/metrics/tetherotel (OpenTelemetry) build
// one.
type Observer = runtime.Observer

// MessageEvent describes a message sent or received (Observer.Sent,
// Observer.Received): its type, size before and after compression, and
// the queue behind it.
type MessageEvent = runtime.MessageEvent

// CloseEvent describes how a connection ended (Observer.Closed): the
// close frames, who started the closing handshake, how long it was open.
type CloseEvent = runtime.CloseEvent

// RejectEvent describes an opening handshake answered with an HTTP
// status instead of a connection (Observer.Rejected).
type RejectEvent = runtime.RejectEvent

// Initiator says which end started the closing handshake.
type Initiator = runtime.Initiator

// The ends that may start a closing handshake.
const (
	InitiatorNone  = runtime.InitiatorNone
	InitiatorLocal = runtime.InitiatorLocal
	InitiatorPeer  = runtime.InitiatorPeer
)

// ConnStats is a snapshot of one connection's counters (Conn.Stats).
type ConnStats = runtime.ConnStats

// ServerStats is a snapshot of a Server's counters (Server.Stats);
// Server.StatsVar publishes them with expvar.
type ServerStats = runtime.ServerStats

// SkipReason names why a broadcast skipped a connection (the error the
// Observer.Skipped hook gets) as a metric label value: "not_open",
// "fragmented", "slow" or "error".
func SkipReason(err error) string { return runtime.SkipReason(err) }
