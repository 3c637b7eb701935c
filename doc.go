// Package tether is WebSockets for Go, as channels and contexts: received
// messages arrive on a channel you range over or select on, every call
// that blocks takes a context.Context, and a connection that ends says
// how it ended.
//
// This package is the front door: the names a program needs, in one
// import. The packages behind it are named at the end of this tour.
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
// # A server
//
// A Server runs a Handler per connection; the handler's ctx is cancelled
// when its connection ends. Server is also an http.Handler, and Accept
// upgrades a request inside any net/http handler.
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
// # Messages, backpressure and ending
//
// Messages() is buffered to Options.MaxQueue messages. When the
// application stops reading, the connection stops reading its socket and
// TCP pushes back on the peer; a peer that keeps sending while nothing
// reads eventually misses its keepalive pongs, and the connection fails
// with 1011. Send blocks, honouring its ctx, while more than
// Options.WriteLimit bytes wait to be written. Cancelling a call abandons
// that call, never the connection: a frame is always written whole.
//
// When a connection ends, Messages() is closed, Done() is closed once its
// goroutines have returned, and Err() says how it ended: nil for a clean
// closing handshake, otherwise a *CloseError (errors.As) that carries the
// close frames sent and received and the cause.
//
// # What runs per connection
//
// Each connection runs a reader, a writer and a keepalive goroutine under
// one errgroup. The reader parses frames and delivers messages; a sender
// that finds the socket writable writes its frame itself, and what would
// block is finished by the writer, coalesced into one vectored write; the
// keepalive pings every Options.PingInterval and fails the connection when
// the pong does not come within Options.PingTimeout. An idle connection
// holds no read or write buffer.
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
//   - runtime: the concurrent runtime that this package re-exports
//     (connections, Dial, Accept, Server, Broadcast, Router).
//   - ws: the protocol with no I/O: frames, masking, UTF-8, close codes,
//     the opening handshake, the connection state machine. Every protocol
//     rule lives there.
//   - compress: permessage-deflate (RFC 7692), its presets and tuning.
//   - keepalive: the ping/pong heartbeat policy.
//   - reconnect: a supervisor that keeps a client connected across server
//     restarts, with one Messages() channel for the life of the program.
//   - runtime/proxy: HTTP, HTTPS and SOCKS proxies, from the environment
//     or by URL.
//   - runtime/auth: Basic and Digest authentication hooks for servers.
//   - runtime/hub: topics and fan-out for servers.
//
// WebSockets over HTTP/2 (RFC 8441) work on both sides: Accept and
// Server.ServeHTTP take extended CONNECT requests, and DialOptions.HTTP2
// opens one.
package tether
