// Package corpus generates a realistic, reproducible stream of JSON
// WebSocket messages for compression tests, benchmarks and tuning: chat
// messages, price ticks, presence updates, notifications and the odd large
// state snapshot, from about 60 bytes to a few KiB.
package corpus
