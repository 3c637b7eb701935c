// Command chat is a chat room in the browser: one binary serves the page
// on / and the WebSocket on /ws. Open it in several tabs, pick a nickname
// in each, and talk.
//
//	cd cmd/examples/chat && go run . -addr 127.0.0.1:8765
//
// Every connection joins a Hub, whose single goroutine fans each
// event out to a bounded queue per client; a client too slow to keep its
// queue from filling up is closed with 1008 instead of stalling the room.
// WebSocket connections are accepted from the page's own origin only, as
// every tether.Server does by default (clients that send no Origin header,
// which browsers always send, are let in too). Ctrl-C shuts down gracefully: every tab gets a 1001 (going
// away) close frame.
//
// /metrics serves Prometheus metrics of the WebSocket connections
// (package tetherprom: connections, handshakes rejected, messages and
// bytes each way, close codes, ping round trips, queues):
//
//	curl -s 127.0.0.1:8765/metrics | grep ^tether_
//
// The example is a module of its own (run it from its directory: go run
// .), so that tether's module does not depend on Prometheus.
package main
