// Command selectloop is a WebSocket client built around one select loop:
// it prints every message it receives, sends a message on every tick of a
// timer, and on Ctrl-C closes the connection with 1000 and prints how it
// ended.
//
//	go run ./cmd/examples/echoserver &
//	go run ./cmd/examples/selectloop -url ws://127.0.0.1:9001/ -every 1s
//
// Messages() is closed when the connection ends, so the loop also stops
// when the server goes away; conn.Err() then says why (nil for a clean
// closing handshake).
package main
