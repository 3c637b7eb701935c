// Package tetherotel records tether's connection metrics with
// OpenTelemetry.
//
// New returns the Observer to set in the options of the connections to
// count, a Server's or a client's; it records with the instruments of a
// Meter from the MeterProvider given (otel.GetMeterProvider() for the
// global one):
//
//	obs, err := tetherotel.New(otel.GetMeterProvider())
//	if err != nil { ... }
//	srv := &tether.Server{Handler: h, Options: tether.ServerOptions{
//		Options: tether.Options{Observer: obs},
//	}}
//
// The instruments, with their attributes:
//
//	tether.connections.opened     counter     side
//	tether.connections.open       up-down     side
//	tether.connections.closed     counter     side, initiator, close.code.sent, close.code.received
//	tether.connection.duration    histogram   side (s)
//	tether.handshakes.rejected    counter     side, http.response.status_code
//	tether.messages               counter     direction, type
//	tether.message.bytes          counter     direction (By, payloads, uncompressed)
//	tether.wire.bytes             counter     direction (By, on the transport)
//	tether.ping.rtt               histogram   (s)
//	tether.broadcast.skipped      counter     reason
//	tether.send.queue             histogram   (By queued behind each message sent)
//	tether.receive.backlog        histogram   (messages waiting ahead of each one received)
//
// side is "client" or "server", direction "received" or "sent", type
// "text" or "binary", initiator "local", "peer" or "none", the close
// codes their number or "none", reason "not_open", "fragmented", "slow"
// or "error".
//
// This package is a module of its own, so that programs that do not use
// OpenTelemetry do not build against it.
package tetherotel
