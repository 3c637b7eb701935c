// Package tetherprom exports tether's connection metrics to Prometheus.
//
// New returns the metrics: register them (they are a
// prometheus.Collector) and set their Observer in the options of the
// connections to count, a Server's or a client's:
//
//	m := tetherprom.New(tetherprom.Options{})
//	prometheus.MustRegister(m)
//	srv := &tether.Server{Handler: h, Options: tether.ServerOptions{
//		Options: tether.Options{Observer: m.Observer()},
//	}}
//	http.Handle("/metrics", promhttp.Handler())
//
// The metrics, under the namespace "tether" by default:
//
//	connections_opened_total{side}                 connections opened
//	connections_open{side}                         connections open now
//	connections_closed_total{side,initiator,code_sent,code_received}
//	                                               connections ended, by who started the
//	                                               closing handshake and the close codes
//	                                               ("none" for a frame not exchanged)
//	connection_duration_seconds{side}              how long connections stayed open
//	handshakes_rejected_total{side,status}         handshakes answered with an HTTP status
//	messages_total{direction,type}                 messages received and sent
//	message_bytes_total{direction}                 their payload bytes, uncompressed
//	wire_bytes_total{direction}                    bytes read and written on the transport
//	ping_rtt_seconds                               round-trip time of answered pings
//	broadcast_skipped_total{reason}                connections a broadcast skipped
//	send_queue_bytes                               bytes queued behind each message sent
//	receive_backlog_messages                       messages waiting ahead of each one received
//
// side is "client" or "server", direction "received" or "sent", type
// "text" or "binary", initiator "local", "peer" or "none", reason
// "not_open", "fragmented", "slow" or "error". The ratio of
// message_bytes_total to wire_bytes_total is what compression saves.
//
// This package is a module of its own, so that programs that do not use
// Prometheus do not build against its client library.
package tetherprom
