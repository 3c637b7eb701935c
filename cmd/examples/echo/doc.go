// Command echo is a WebSocket echo server: it sends every message it
// receives back to its sender, text as text and binary as binary.
//
//	go run ./cmd/examples/echo -addr 127.0.0.1:9001
//
// It serves with tether.Server and shuts down gracefully on SIGINT or
// SIGTERM: new connections are refused, every open connection gets a 1001
// (going away) close frame, and the handlers are waited for.
package main
