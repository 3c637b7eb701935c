// Package runtime runs WebSocket connections: it is where tether's Conn,
// client (Dial) and server (Server, Accept) are defined. Programs import
// the root package, github.com/tetherws/tether, which re-exports every
// name of this one under the same name; this documentation holds the
// methods and fields of those names.
//
// The package has three parts:
//
//   - the connection core: Conn and its goroutines, receiving (Message,
//     Messages), sending (Send and its variants, MessageWriter, Broadcast),
//     Ping, closing (Close, CloseNow, Err, CloseStatus), and the Options
//     that bound them; around it, the everyday tools: JSON messages (JSON,
//     SendJSON, ReceiveJSON), one message as a stream each way
//     (NextReader, NewBufferedWriter) and a net.Conn over a connection
//     (NewNetConn);
//   - the client: Dial's policy (connection attempts, redirects, the retry
//     that answers an authentication challenge) over its mechanism (TCP,
//     Unix sockets or a given net.Conn, TLS, proxies through package
//     runtime/proxy, and the HTTP/1.1 and RFC 8441 opening handshakes);
//   - the server: Server's lifecycle and graceful Shutdown, Accept inside
//     a net/http handler, Router, and the ProcessRequest and
//     ProcessResponse hooks, for which package runtime/auth has Basic and
//     Digest authentication.
//
// # What runs per connection
//
// Each connection runs three goroutines under one errgroup: a reader that
// parses frames with the sans-I/O protocol of package ws and delivers
// messages to Messages(); a writer that owns every write that could
// block; and a keepalive that pings every Options.PingInterval and fails
// the connection (1011) when the peer stops answering. The first error in
// the group cancels the connection's context; the reader's end stops the
// others; Done is closed when all three have returned, and Err then says
// how the connection ended.
//
// Writes are serialised by a write token. On TCP and Unix sockets a
// sender (Send, Broadcast, Ping, Close, or the reader answering a ping or
// a close frame) that finds nothing queued takes the token and writes its
// frame itself, without blocking (one non-blocking write system call):
// the common case costs no goroutine switch. What the socket does not
// take right away is queued and the writer is woken to finish it with
// blocking writes, coalescing queued frames into one vectored write.
// Other transports (TLS, HTTP/2 streams) send every frame through the
// writer.
//
// An idle connection holds no read or write buffer (the reader waits for
// the socket to be readable before it borrows a pooled read buffer), and
// its writer and keepalive goroutines are each parked on a single channel
// receive, which keeps them at Go's smallest stack (2 KiB).
//
// Every blocking call takes a context.Context. Cancelling it abandons that
// call and never the connection: a cancelled Send queues nothing, and a
// frame that was queued or written in part is always written whole.
//
// Backpressure: Messages() is buffered to Options.MaxQueue messages; when
// the application stops reading, the reader stops reading the socket and
// TCP pushes back on the peer. Send blocks while more than
// Options.WriteLimit bytes wait to be written.
//
// # Logs, counters and the Observer
//
// Options.Logger (log/slog) gets the connections' records, each with the
// connection's id ("conn") and remote address ("remote"); left nil,
// records at Warn and above go to slog.Default() and the rest are
// dropped. At Debug the handshake, every frame and the state changes are
// logged as Python's websockets logs them; with Debug off, each such
// event costs one Enabled check. Conn.Stats and Server.Stats read atomic
// counters. Options.Observer's hooks are called on each event, outside
// the connection's locks; none of this allocates per message.
//
// # WebSockets over HTTP/2 (RFC 8441)
//
// Accept and Server.ServeHTTP also take HTTP/2 requests: an extended
// CONNECT with :protocol websocket gets 200 and the connection runs on
// that stream (its DATA frames carry the WebSocket frames), next to the
// other streams of the HTTP/2 connection; HTTP/1.1 upgrades keep working
// on the same server. Over HTTP/2 the stream lasts as long as the
// handler, so a handler calling Accept must not return before the
// connection has ended (see Accept). Server.Serve on a raw listener
// speaks HTTP/1.1 only: mount the Server on a net/http server for HTTP/2.
//
// Go 1.26's net/http HTTP/2 server accepts extended CONNECT only when the
// GODEBUG environment variable holds http2xconnect=1 at start-up, and has
// no setting for it in http.HTTP2Config. Importing package
// github.com/tetherws/tether/runtime/xconnect sets it for the process;
// without it, the server never advertises SETTINGS_ENABLE_CONNECT_PROTOCOL
// and such requests never reach a handler.
//
// DialOptions.HTTP2 makes Dial open the connection over HTTP/2: TLS with
// ALPN h2 for wss://, prior knowledge (h2c) for ws://, one HTTP/2
// connection per WebSocket. Go 1.26's net/http client cannot send the
// :protocol pseudo-header (http.Transport rejects it as an invalid header
// name), so Dial frames that one stream itself with golang.org/x/net/http2.
package runtime
