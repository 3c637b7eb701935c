// Command bot is a long-lived WebSocket client: it subscribes to a topic
// on every connection, prints what it receives, and survives the server
// going away, reconnecting with the backoff of Python websockets.
//
//	go run ./cmd/examples/bot/feedserver -addr localhost:9001 &
//	go run ./cmd/examples/bot -url ws://localhost:9001/ -topic ticks
//
// Kill the feed server and start it again: the bot reports the lost
// connection, retries, resubscribes and keeps printing. It stops on
// Ctrl-C, or with an error when the server refuses it for good (HTTP 401,
// 403, …).
package main
