// Package h2stream carries a WebSocket over one HTTP/2 stream, as RFC 8441
// defines it, and presents that stream as a net.Conn to the runtime.
//
// The client's end, Client, runs an HTTP/2 connection of its own for its
// one stream. Go 1.26's net/http client cannot send an extended CONNECT:
// http.Transport and http.ClientConn reject the ":protocol" header before
// the request reaches their HTTP/2 code ("invalid header field name"), and
// golang.org/x/net/http2.Transport, which still can, is deprecated in
// favour of them. So Client speaks the little HTTP/2 it needs itself, with
// the frame codec and HPACK of golang.org/x/net/http2: the preface and
// SETTINGS, the CONNECT request, flow control, PING and GOAWAY.
//
// The server's end runs on net/http's HTTP/2 server, which hands an
// extended CONNECT request to its handler like any other request: the
// request body is what the client sends, the response body what the
// server sends.
package h2stream
