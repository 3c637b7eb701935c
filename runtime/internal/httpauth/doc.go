// Package httpauth holds the HTTP authentication mechanics that tether's
// client and server share: the parser of WWW-Authenticate challenges and
// Authorization credentials (auth-param lists, on the token grammar of
// package ws), quoting, the decoding of Basic credentials (RFC 7617; the
// encoder is ws.BasicAuthorization, which the handshake uses), and the
// Digest computations of RFC 7616 (MD5, SHA-256 and SHA-512-256, each
// also as -sess): the response hash, the choice of a challenge a client
// can answer, and the Authorization value that answers it.
//
// It holds no policy: which schemes to offer, how nonces are issued and
// checked, and when a client retries belong to its callers.
package httpauth
