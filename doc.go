// Package tether is WebSockets for Go, as channels and contexts: received
// messages arrive on a channel you range over or select on, every call
// that blocks takes a context.Context, and a connection that ends says
// how it ended.
//
// This package is the front door: the names a program needs, in one
// import. The packages behind it are named at the end of this tour, with
// when to reach for each.
//
// # A client
//
//	conn, _, err := tether.Dial(ctx, "ws://localhost:9001/", nil)
//	if err != nil {
//		return err
//	}
//	defer conn.Close(tether.CloseNormal, "")
//	if err := conn.SendText(ctx, "hello"); err != nil {
//		return err
//	}
//	for msg := range conn.Messages() { // closed when the connection ends
//		fmt.Printf("%s\n", msg.Data)
//	}
//	return conn.Err() // nil after a clean closing handshake
//
// Put conn.Messages() in a select next to timers and other channels when
// a loop has more than one thing to wait for.
//
// # A server
//
// A Server runs a Handler per connection; the handler's ctx is cancelled
// when its connection ends. Server is also an http.Handler, and Accept
// upgrades a request inside any net/http handler. A Router sends each
// connection to the Handler registered for its path.
//
//	srv := &tether.Server{
//		Handler: func(ctx context.Context, c *tether.Conn) error {
//			for msg := range c.Messages() {
//				if err := c.SendMessage(ctx, msg); err != nil {
//					return err
//				}
//			}
//			return nil // closed with 1000
//		},
//	}
//	log.Fatal(srv.ListenAndServe("127.0.0.1:9001"))
//
// A server refuses, with 403, a handshake from a browser page of another
// origin, which would otherwise talk to it with the user's cookies
// (cross-site WebSocket hijacking): the Origin header, when present, must
// name the server as the browser reached it. Clients that send no Origin
// are accepted. ServerOptions.Handshake.Origins and OriginPatterns list
// other origins to allow; ServerOptions.InsecureSkipOriginCheck turns the
// check off.
//
// Broadcast sends one message to many connections, framing it once and
// skipping those that are closing or too slow, without waiting for any.
//
// # Messages, backpressure and ending
//
// Messages() is buffered to Options.MaxQueue messages. When the
// application stops reading, the connection stops reading its socket and
// TCP pushes back on the peer; a peer that pings while nothing reads
// misses its pongs, and fails the connection with 1011. A connection that
// only sends calls Conn.CloseRead: received messages are then dropped,
// and pings are still answered. Send blocks, honouring its ctx, while more than
// Options.WriteLimit bytes wait to be written. Cancelling a call abandons
// that call, never the connection: a frame is always written whole.
//
// Messages() is closed as soon as the peer has sent its last frame (its
// close frame, or one that breaks the protocol), after the last message it
// sent: answer those messages and they go out before the close frame the
// peer is owed, which follows when you Close, your handler returns, you
// call Err, or Messages() has stayed drained for a moment. So an echo of
// "message, bad frame" is "echo, close 1002", whatever the chop.
//
// When a connection ends, Messages() is closed, Done() is closed once its
// goroutines have returned, and Err() says how it ended: nil for a clean
// closing handshake, otherwise a *CloseError (errors.As) that carries the
// close frames sent and received and the cause. Every error of a closed
// connection matches ErrClosed; a Dial that the server refused is a
// *StatusError, and every failed handshake matches ErrInvalidHandshake.
//
// # JSON, streams and net.Conn
//
// SendJSON and ReceiveJSON send and receive a JSON message in one call;
// JSON[T] ranges over decoded messages and takes a JSONCodec of your own.
// Conn.NextReader returns the next message as an io.Reader while its
// frames arrive, sharing one ordered stream with Messages;
// Conn.NewBufferedWriter writes one message as an io.WriteCloser framed
// every 64 KiB. NewNetConn turns a connection into a net.Conn with
// deadlines, for protocols such as HTTP or SSH over a WebSocket. A Server
// serves on any net.Listener: Unix sockets, or SO_REUSEPORT listeners
// sharing a port (see the examples of Server.Serve).
//
// # Authentication and proxies
//
// A server checks credentials before the handshake with a hook in
// ServerOptions.ProcessRequest: the ProcessRequest method of a BasicAuth
// or a DigestAuth (ChainProcessRequest runs several hooks, for example a
// Router's first). The handler then finds the user on Conn.Username. A
// client gives its credentials in DialOptions.Auth or in the URL, and
// answers Basic and Digest challenges.
//
// Dial takes its proxy from the environment (ProxyFromEnvironment) unless
// DialOptions.Proxy says otherwise: ProxyURL for a fixed HTTP, HTTPS or
// SOCKS proxy, ProxyDirect for none, or a function that chooses per URL.
//
// # WebSockets over HTTP/2
//
// RFC 8441 works on both sides: Accept and Server.ServeHTTP take extended
// CONNECT requests from net/http's HTTP/2 server (which needs package
// runtime/xconnect imported, or GODEBUG=http2xconnect=1), and
// DialOptions.HTTP2 makes Dial open one.
//
// # What runs per connection
//
// Each connection runs a reader, a writer and a keepalive goroutine. The
// reader parses frames and delivers messages; a sender that finds the
// socket writable writes its frame itself, and what would block is
// finished by the writer, coalesced into one vectored write; the keepalive
// pings every Options.PingInterval and fails the connection when the pong
// does not come within Options.PingTimeout. An idle connection holds no
// read or write buffer.
//
// # Logs and metrics
//
// Connections log with log/slog through Options.Logger. Left nil, what an
// operator must see goes to slog.Default(): a handler's error or panic
// (with its stack) at Error, a keepalive timeout or a failed TLS
// handshake at Warn; slog.New(slog.DiscardHandler) silences it all. At
// Debug a connection logs its handshake, every frame ("> TEXT 'hello'
// [5 bytes]") and its state changes, each record with the connection's
// id and remote address.
//
// Conn.Stats and Server.Stats are snapshots of counters: messages and
// bytes each way (before and after compression), queues, and for a
// Server, connections and rejected handshakes; Server.StatsVar publishes
// them with expvar. For metrics, Options.Observer takes hooks called on
// each event (a connection opened or closed with its close codes, a
// handshake rejected, a message received or sent, a ping's round trip, a
// broadcast skip); the modules metrics/tetherprom and metrics/tetherotel
// build one for Prometheus and for OpenTelemetry.
//
// # Defaults
//
// The limits and timeouts are those of Python's websockets: 1 MiB
// messages, a queue of 16, a 32 KiB write limit, 10 s open and close
// timeouts, a ping every 20 s. permessage-deflate is negotiated by default
// (Options.Compression, Options.DisableCompression).
//
// # The packages behind this one
//
// The types of this package are aliases: a Conn is a runtime.Conn, a
// CloseError a ws.CloseError, a BasicAuth an auth.BasicAuth. Their
// methods and fields are documented with the package that defines them
// (go doc github.com/tetherws/tether/runtime.Conn). A program imports
// those packages only for what this one does not re-export:
//
//   - runtime: where the connection, the client and the server are
//     defined. This package re-exports every name of it, so a program
//     need not import it (and its name would clash with Go's runtime).
//   - ws: the protocol with no I/O: frames, masking, UTF-8, close codes,
//     the opening handshake, the connection state machine. Every protocol
//     rule lives there. Reach for it to speak WebSocket over a transport
//     of your own, or to write an extension.
//   - compress: permessage-deflate (RFC 7692). Reach for it to tune
//     compression: Options.Compression takes a *compress.Options, such as
//     its presets Fast, SmallMemory and BestRatio.
//   - keepalive: the ping/pong heartbeat policy that Options.PingInterval
//     and Options.PingTimeout configure; tests replace its Clock.
//   - reconnect: for a client that must stay connected (a bot, a feed): a
//     Supervisor dials again with backoff when the connection is lost, and
//     delivers every connection's messages on one channel.
//   - runtime/hub: for a server with topics (rooms, channels): subscribe
//     connections, publish to a topic, drop clients that can't keep up;
//     across server instances through a Broker.
//   - runtime/hub/natsbroker: a hub Broker over NATS. It is a module of
//     its own (go get github.com/tetherws/tether/runtime/hub/natsbroker),
//     so that programs without NATS do not build against it.
//   - runtime/proxy: where the proxy choosers come from; reach for it to
//     branch on why a proxy failed (ErrAuth, ErrRefused) or to open an
//     HTTP CONNECT or SOCKS tunnel for another TCP client (Dialer).
//   - runtime/auth: where BasicAuth and DigestAuth are defined.
//   - runtime/xconnect: import it for its side effect in a server that
//     takes WebSockets over HTTP/2 on net/http's HTTP/2 server.
//   - metrics/tetherprom and metrics/tetherotel: an Observer that feeds
//     Prometheus metrics, and one that records OpenTelemetry metrics.
//     Each is a module of its own (go get
//     github.com/tetherws/tether/metrics/tetherprom), so that programs
//     that use neither do not build against their client libraries.
package tether
