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
package main
