// Package netctx runs the opening exchanges of a connection (a TLS
// handshake, an HTTP or SOCKS request to a proxy, a WebSocket handshake)
// under a context: it binds a net.Conn's deadline to the context, runs
// the TLS client handshake with tether's one set of client defaults, and
// tells a timeout from other failures. The runtime's client and server
// and the proxy package share it.
package netctx
