// Command tether is a WebSocket client, server and load generator in one
// binary, built on the tether library:
//
//	go install github.com/tetherws/tether/cmd/tether@latest
//
// Quick try, in two terminals or with the server in the background:
//
//	tether serve :9001 &
//	tether connect ws://localhost:9001
//
// # SYNOPSIS
//
//	tether connect [options] URL
//	tether serve [options] [ADDR]
//	tether bench [options] URL
//	tether version
//	tether help [COMMAND]
//
// Each command prints its full manual with -h (tether connect -h).
//
// # tether connect
//
// Opens a WebSocket connection to URL (ws://, wss://) and exchanges
// messages with the server until either side closes.
//
// When standard input and output are a terminal, the session is
// interactive: a "> " prompt with line editing and history (arrow keys,
// Ctrl-A, Ctrl-E, Ctrl-W, Ctrl-U). Each line is sent as a text message.
// Received text prints as "< text", binary as "< (binary) N bytes: " and a
// hex preview; messages print above the line being typed, which stays
// intact. Lines starting with "/" are commands:
//
//	/ping [payload]          send a ping and print the round trip time
//	/close [code] [reason]   close with code (default 1000) and reason
//	/binary HEX              send the bytes as a binary message
//	/quit                    close with 1000 and exit (as Ctrl-D)
//	/help                    list the commands
//	//text                   send "/text"
//
// Ctrl-D on an empty line, Ctrl-C and /quit close with 1000, wait for the
// closing handshake and print the close status.
//
// Otherwise tether connect is a filter: each line of standard input is a
// text message (with --binary, each chunk read is a binary message), and
// each message received is written to standard output, text followed by a
// newline, binary in hex (with --binary, as it is). After the input ends
// it keeps receiving until the server closes or --wait (default 1s) passes
// without a message, then closes with 1000. Status lines go to standard
// error.
//
// Options: -H, --header 'Name: value' (repeatable); --subprotocol a,b;
// --origin URL; --proxy URL or --no-proxy (default: the proxy
// environment variables); -k, --insecure (skip TLS verification);
// --no-compression (do not offer permessage-deflate); --open-timeout D;
// --ping D (ping every D and print the round trip); --binary; --json (one
// JSON object per event: open, message, pong, notice, error, close);
// --wait D.
//
// Exit status: 0 after a clean close (1000, 1001 or 1005 both ways, or the
// code asked for with /close), 1 when the connection failed or did not
// close cleanly (on a rejected handshake the server's status and response
// body are printed), 2 for a bad command line.
//
// # tether serve
//
// Listens on ADDR (default :9001) and serves WebSocket connections on
// every path:
//
//   - --echo (the default) sends every message back;
//   - --broadcast sends every message to every client, framed and
//     compressed once;
//   - --exec CMD runs CMD with /bin/sh -c per connection, as websocketd
//     does: each line of its standard output is a message to the client
//     (text, or binary when not UTF-8), each message from the client a
//     line of its standard input. The connection closes with 1000 when the
//     program exits 0 and 1011 ("exit status N") otherwise; the program's
//     process group gets SIGTERM, then SIGKILL, when the connection ends
//     first. TETHER_REMOTE_ADDR, TETHER_REQUEST_URI and TETHER_ORIGIN
//     describe the connection to it.
//
// Options: --tls-cert FILE and --tls-key FILE (serve wss://); --origin
// ORIGIN (repeatable; "*" matches within a host name) and
// --allow-no-origin; --no-compression; --max-size N; --shutdown-timeout D;
// -v, --verbose (log connections). SIGINT or SIGTERM shuts down
// gracefully: every connection is closed with 1001 (going away).
//
// # tether bench
//
// Loads an echo server (such as tether serve --echo) with many
// connections and checks every reply byte for byte. The connections are
// all opened first, then each sends generated messages, or the files of a
// corpus, in a closed loop or at a fixed rate, for a duration or until a
// count of replies. A progress line is redrawn on a terminal (plain lines
// otherwise); the result gives messages per second, megabytes per second,
// latency percentiles (p50, p90, p99, p99.9, max) from a bounded-memory
// histogram, errors by kind and close codes. Exit status 1 when any error
// occurred.
//
// Options: -c, --conns N; --size N (bytes, default 64); --corpus DIR;
// --text (text messages; default binary); --rate R (messages per second
// per connection; default a closed loop); --inflight K (messages on the
// way per connection in a closed loop); -d, --duration D (default 10s);
// -n, --count N (replies per connection, instead of a duration);
// --dial-concurrency N (handshakes at once); --local-addr LIST (source
// addresses, such as 127.0.0.1-127.0.0.40); --timeout D (a reply later
// than this ends its connection's run); --progress D; --json (the result
// as one JSON object); and the client options of tether connect.
//
// # tether version
//
// Prints the version (the module version that go install recorded), the
// Go release and the platform; tether --version does the same.
package main
