package tether

import "github.com/tetherws/tether/runtime/auth"

// BasicAuth is HTTP Basic authentication (RFC 7617) for a server: set
// ServerOptions.ProcessRequest to its ProcessRequest method. A request
// without valid credentials gets 401 before the handshake; on success
// Conn.Username returns the user name. Use it over TLS: Basic sends the
// password in clear.
type BasicAuth = auth.BasicAuth

// DigestAuth is HTTP Digest authentication (RFC 7616) for a server, used
// as BasicAuth is; the password never crosses the network. Use one
// *DigestAuth for every request: it keeps state.
type DigestAuth = auth.DigestAuth
