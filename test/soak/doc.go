// Package soak is tether's load test: it drives thousands of pipelining
// client connections against a tether Server with an echo handler, checks
// every echo, and reports what a load of this size costs and breaks.
//
// A run has four phases. Connect: the clients dial (bounded concurrency,
// several loopback source addresses) and wait until all are open.
// Steady: each client sends Config.Messages sequence-numbered messages,
// keeping up to Config.Window in flight, and checks each echo against
// what it sent: lost, duplicated, reordered and corrupted messages, echo
// latency, close codes and errors by kind. Pipelining: every client
// keeps sending without a limit. Shutdown: while they do, the server
// calls Server.Shutdown; each client's received stream must still be a
// prefix of what it sent (no holes), and the report counts the clients
// that received the server's 1001 close frame and how long Shutdown took.
//
// The server runs in a child process (the same executable, started with
// the ServerEnv environment variable set), for two reasons: its cost is
// then its own (CPU time from getrusage, peak RSS from VmHWM in
// /proc/self/status, not shared with the clients), and each process
// needs only one file descriptor per connection, so 10,000 connections
// fit under a hard RLIMIT_NOFILE of 20,000. The driver talks to the child
// over its standard input and output, one JSON object per line.
//
// A run fails (Report.Pass is false) when a message was lost, duplicated,
// reordered or corrupted, when a connection ended with 1011 before
// Shutdown, when fewer connections opened than asked for, or when the
// steady phase did not finish within Config.Duration.
package soak
