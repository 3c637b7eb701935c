// Command feedserver is the peer of the bot example: it answers
// "subscribe <topic>" with "subscribed <topic>", then sends
// "<topic> #<n> from server <pid>" to the subscriber every interval.
//
//	go run ./cmd/examples/bot/feedserver -addr localhost:9001 -interval 1s
//
// Kill it (kill -9) and start it again to watch the bot reconnect; a
// SIGINT or SIGTERM shuts it down gracefully, closing connections with
// 1001 (going away).
package main
