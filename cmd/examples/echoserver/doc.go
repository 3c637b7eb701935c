// Command echoserver is a WebSocket echo server: it sends every message
// it receives back to its sender, text as text and binary as binary.
//
//	go run ./cmd/examples/echoserver -addr 127.0.0.1:9001
//
// It is the smallest complete server program on tether; tether serve
// --echo (cmd/tether) is the same service as a tool.
//
// It serves with tether.Server and shuts down gracefully on SIGINT or
// SIGTERM: new connections are refused, every open connection gets a 1001
// (going away) close frame, and the handlers are waited for.
//
// Its counters (Server.Stats: connections, handshakes, messages and bytes
// each way, before and after compression) are published with expvar
// under "tether" and served on http://127.0.0.1:9002/debug/vars (-vars
// to move or, with "", drop it):
//
//	curl -s 127.0.0.1:9002/debug/vars | jq .tether
//
// -v logs connections; -debug logs each handshake and every frame.
// Without either, warnings and errors go to slog's default logger.
package main
