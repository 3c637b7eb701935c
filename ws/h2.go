package ws

import (
	"net/http"
	"net/url"
	"strings"
)

// The opening handshake over HTTP/2 (RFC 8441): the client sends an
// extended CONNECT request whose :protocol pseudo-header is "websocket",
// the server answers 200, and the stream's DATA frames then carry the
// WebSocket frames both ways. There is no Sec-WebSocket-Key nor
// Sec-WebSocket-Accept, and no Connection or Upgrade header (HTTP/2
// forbids them); version, Origin, subprotocol and extension negotiation
// are those of RFC 6455. RFC 9220 uses the same rules over HTTP/3.

// ProtocolPseudoHeader is the key under which net/http (server and
// client) carries the :protocol pseudo-header of an extended CONNECT
// request in Request.Header.
const ProtocolPseudoHeader = ":protocol"

// IsExtendedConnect reports whether r is an RFC 8441 extended CONNECT
// request: HTTP/2 or later, method CONNECT, and a :protocol pseudo-header
// (whatever its value). ServerHandshake.AcceptH2 is the handshake for
// such requests.
func IsExtendedConnect(r *http.Request) bool {
	return r.ProtoMajor >= 2 && r.Method == http.MethodConnect && len(r.Header[ProtocolPseudoHeader]) > 0
}

// AcceptH2 validates an RFC 8441 opening handshake: an HTTP/2 extended
// CONNECT request with :protocol websocket, as net/http's HTTP/2 server
// hands it to a handler. It checks the method (405), the :protocol value
// (400 when missing, 501 for another protocol), the authority (Host
// check, 400), Sec-WebSocket-Version 13 (400 with the supported version
// otherwise) and the Origin (403), then negotiates extensions and the
// subprotocol exactly as Accept does. It returns the headers of the 200
// response (without Date and Server). Errors are those of Accept; a
// request that is not HTTP/2 or later gets 505.
func (s *ServerHandshake) AcceptH2(r *http.Request) (http.Header, Negotiated, error) {
	var n Negotiated
	if r.ProtoMajor < 2 {
		return nil, n, reject(http.StatusHTTPVersionNotSupported, ErrInvalidProtocol, "unsupported protocol; expected HTTP/2 or later; got "+r.Proto)
	}
	if r.Method != http.MethodConnect {
		e := reject(http.StatusMethodNotAllowed, ErrInvalidMethod, "invalid HTTP method; expected CONNECT (RFC 8441); got "+quoteForError(r.Method))
		e.Header = http.Header{"Allow": {http.MethodConnect}}
		return nil, n, e
	}
	protos := r.Header[ProtocolPseudoHeader]
	switch {
	case len(protos) == 0:
		return nil, n, reject(http.StatusBadRequest, ErrInvalidUpgrade, "missing :protocol pseudo-header; expected websocket")
	case len(protos) > 1:
		return nil, n, reject(http.StatusBadRequest, ErrInvalidUpgrade, "more than one :protocol pseudo-header")
	case !strings.EqualFold(protos[0], "websocket"):
		return nil, n, reject(http.StatusNotImplemented, ErrInvalidUpgrade, "unsupported :protocol "+quoteForError(protos[0])+"; expected websocket")
	}
	if r.Host == "" {
		return nil, n, reject(http.StatusBadRequest, ErrInvalidHost, "missing :authority pseudo-header")
	}
	if err := s.checkHost(r); err != nil {
		return nil, n, err
	}
	// Not 426 for another version as over HTTP/1.1: 426 needs an Upgrade
	// header, which HTTP/2 forbids.
	if err := checkVersion(r, http.StatusBadRequest); err != nil {
		return nil, n, err
	}
	if err := s.checkOrigin(r); err != nil {
		return nil, n, err
	}
	return s.negotiate(r, make(http.Header))
}

// RequestH2 builds the RFC 8441 handshake request for u (ws:// or wss://):
// method CONNECT, Header[":protocol"] = websocket, a URL with scheme http
// or https (the :scheme of RFC 8441 §5), Host from u (the :authority), and
// the Sec-WebSocket-Version, Origin, Sec-WebSocket-Protocol,
// Sec-WebSocket-Extensions and User-Agent headers of Request, without
// Sec-WebSocket-Key, Connection and Upgrade. User info in u becomes a
// Basic Authorization header. The body is left for the caller: it is the
// stream the client writes its frames to. net/http's HTTP/2 transports
// send Header[":protocol"] as the pseudo-header.
func (c *ClientHandshake) RequestH2(u *url.URL) (*http.Request, error) {
	h := make(http.Header)
	h[ProtocolPseudoHeader] = []string{"websocket"}
	if err := c.addHeaders(u, h, true); err != nil {
		return nil, err
	}
	reqURL := *u
	reqURL.User = nil
	reqURL.Scheme = "http"
	if u.Scheme == "wss" {
		reqURL.Scheme = "https"
	}
	if reqURL.Path == "" && reqURL.RawPath == "" {
		reqURL.Path = "/"
	}
	return &http.Request{
		Method:     http.MethodConnect,
		URL:        &reqURL,
		Proto:      "HTTP/2.0",
		ProtoMajor: 2,
		Header:     h,
		Host:       HostHeader(u),
		Body:       http.NoBody,
	}, nil
}

// CheckH2 validates the server's response to a RequestH2 request: a 2xx
// status (else a *StatusError; RFC 8441 servers answer 200), and the
// negotiated extensions and subprotocol, as Check does.
func (c *ClientHandshake) CheckH2(resp *http.Response) (Negotiated, error) {
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return Negotiated{}, &StatusError{Response: resp}
	}
	return c.negotiated(resp.Header)
}
