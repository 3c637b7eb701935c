// Package auth authenticates the opening handshake of a tether server
// with HTTP Basic (RFC 7617) and Digest (RFC 7616) authentication, as
// hooks for runtime.ServerOptions.ProcessRequest:
//
//	a := &auth.DigestAuth{Realm: "chat", Credentials: passwords}
//	srv := &runtime.Server{
//		Handler: serve,
//		Options: runtime.ServerOptions{ProcessRequest: a.ProcessRequest},
//	}
//
// A request without valid credentials is answered with 401 and a
// challenge before the handshake; on success the handshake goes on and
// runtime.Conn.Username returns the authenticated user name.
// runtime.ChainProcessRequest runs several hooks in turn, e.g. a
// runtime.Router's, then authentication.
//
// The client side (answering these challenges) is runtime.DialOptions.Auth.
package auth
