package ws

import (
	"errors"
	"net/http"
	"regexp"
	"strings"
)

// ServerHandshake configures the server side of the opening handshake.
// The zero value accepts any origin (set SameOrigin, or list the
// origins, to check it), no subprotocol and no extension.
type ServerHandshake struct {
	// Subprotocols the server supports, in its order of preference.
	Subprotocols []string
	// SelectSubprotocol, if set, replaces the default selection rule. It
	// gets the subprotocols the client offered and returns the one chosen,
	// "" for none, or an error: a *NegotiationError rejects the handshake
	// with 400, any other error with 500.
	SelectSubprotocol func(r *http.Request, offered []string) (string, error)
	// Extensions the server supports, in its order of preference.
	Extensions []ServerExtensionFactory

	// Origins, OriginPatterns and AllowMissingOrigin form the Origin check,
	// which is on when either list is not empty: the Origin header must
	// equal an entry of Origins (ignoring case) or fully match a pattern.
	// A request without Origin passes only if AllowMissingOrigin is set.
	// A rejected Origin gets 403.
	Origins            []string
	OriginPatterns     []*regexp.Regexp
	AllowMissingOrigin bool
	// CheckOrigin, if set, replaces the Origin check. It returns nil to
	// accept the request.
	CheckOrigin func(r *http.Request) error
	// SameOrigin, when neither list nor CheckOrigin is set, accepts an
	// Origin header only if it names the request's own origin (see
	// IsSameOrigin); a request without Origin, which no browser sends,
	// passes. A cross-origin request gets 403. It stops a page of another
	// site from opening a WebSocket with the user's cookies (cross-site
	// WebSocket hijacking). The runtime's Accept and Server set it unless
	// told that skipping the check is wanted.
	SameOrigin bool

	// Hosts, HostPatterns and CheckHost form the Host check (DNS
	// rebinding, virtual hosts), which is on when any is set; Python
	// websockets has none (its known limitation #1246). A missing or
	// disallowed Host gets 400.
	Hosts        []string
	HostPatterns []*regexp.Regexp
	// CheckHost, if set, replaces the Host check. It returns nil to accept
	// the request.
	CheckHost func(r *http.Request) error
}

func reject(status int, err error, msg string) *HandshakeError {
	return &HandshakeError{Status: status, Msg: msg, Err: err}
}

// Accept validates an opening handshake request and negotiates extensions
// and the subprotocol. It returns the headers of the 101 response (without
// Date and Server, which the runtime adds). On failure it returns a
// *HandshakeError carrying the status to answer with, or a
// *NegotiationError (400); RejectResponse turns either into a response.
func (s *ServerHandshake) Accept(r *http.Request) (http.Header, Negotiated, error) {
	var n Negotiated
	if r.Method != http.MethodGet {
		e := reject(http.StatusMethodNotAllowed, ErrInvalidMethod, "invalid HTTP method; expected GET; got "+quoteForError(r.Method))
		e.Header = http.Header{"Allow": {"GET"}}
		return nil, n, e
	}
	if r.ProtoMajor != 1 || r.ProtoMinor != 1 {
		return nil, n, reject(http.StatusHTTPVersionNotSupported, ErrInvalidProtocol, "unsupported protocol; expected HTTP/1.1; got "+r.Proto)
	}
	if r.Host == "" {
		return nil, n, reject(http.StatusBadRequest, ErrInvalidHost, "missing Host header")
	}
	if err := s.checkHost(r); err != nil {
		return nil, n, err
	}
	upgradeRequired := func(msg string) error {
		e := reject(http.StatusUpgradeRequired, ErrInvalidUpgrade, msg)
		e.Header = http.Header{"Upgrade": {"websocket"}}
		return e
	}
	if ok, err := hasToken(r.Header, "Connection", "upgrade"); err != nil || !ok {
		return nil, n, upgradeRequired("invalid Connection header: " + quoteForError(strings.Join(r.Header.Values("Connection"), ", ")))
	}
	up, err := ParseTokenList(r.Header.Values("Upgrade"))
	if err != nil || len(up) != 1 || !strings.EqualFold(up[0], "websocket") {
		return nil, n, upgradeRequired("invalid Upgrade header: " + quoteForError(strings.Join(r.Header.Values("Upgrade"), ", ")))
	}
	keys := headerValues(r.Header, "Sec-WebSocket-Key")
	switch {
	case len(keys) == 0:
		return nil, n, reject(http.StatusBadRequest, ErrInvalidHeader, "missing Sec-WebSocket-Key header")
	case len(keys) > 1:
		return nil, n, reject(http.StatusBadRequest, ErrInvalidHeader, "more than one Sec-WebSocket-Key header")
	case !validKey(keys[0]):
		return nil, n, reject(http.StatusBadRequest, ErrInvalidHeader, "invalid Sec-WebSocket-Key header "+quoteForError(keys[0]))
	}
	if err := checkVersion(r, http.StatusUpgradeRequired); err != nil {
		return nil, n, err
	}
	if err := s.checkOrigin(r); err != nil {
		return nil, n, err
	}
	h := make(http.Header)
	h.Set("Upgrade", "websocket")
	h.Set("Connection", "Upgrade")
	h.Set("Sec-WebSocket-Accept", AcceptKey(keys[0]))
	return s.negotiate(r, h)
}

// checkVersion checks Sec-WebSocket-Version: present once and "13". A
// different version gets mismatch (426 over HTTP/1.1, 400 over HTTP/2)
// with a Sec-WebSocket-Version header naming the one supported.
func checkVersion(r *http.Request, mismatch int) error {
	versions := headerValues(r.Header, "Sec-WebSocket-Version")
	switch {
	case len(versions) == 0:
		return reject(http.StatusBadRequest, ErrInvalidHeader, "missing Sec-WebSocket-Version header")
	case len(versions) > 1:
		return reject(http.StatusBadRequest, ErrInvalidHeader, "more than one Sec-WebSocket-Version header")
	case versions[0] != "13":
		e := reject(mismatch, ErrInvalidHeader, "unsupported Sec-WebSocket-Version "+quoteForError(versions[0]))
		e.Header = http.Header{"Sec-Websocket-Version": {"13"}}
		return e
	}
	return nil
}

// negotiate agrees on extensions and the subprotocol and adds them to the
// response headers h.
func (s *ServerHandshake) negotiate(r *http.Request, h http.Header) (http.Header, Negotiated, error) {
	var n Negotiated
	exts, resp, err := s.negotiateExtensions(r)
	if err != nil {
		return nil, n, err
	}
	proto, err := s.selectSubprotocol(r)
	if err != nil {
		closeExtensions(exts)
		return nil, n, err
	}
	if len(resp) > 0 {
		h.Set("Sec-WebSocket-Extensions", FormatExtensions(resp))
	}
	if proto != "" {
		h.Set("Sec-WebSocket-Protocol", proto)
	}
	n.Extensions, n.Subprotocol = exts, proto
	return h, n, nil
}

func (s *ServerHandshake) negotiateExtensions(r *http.Request) ([]Extension, []ExtensionOffer, error) {
	offers, err := ParseExtensions(r.Header.Values("Sec-WebSocket-Extensions"))
	if err != nil || len(offers) == 0 || len(s.Extensions) == 0 {
		return nil, nil, err
	}
	var exts []Extension
	var resp []ExtensionOffer
	for _, o := range offers {
		for _, f := range s.Extensions {
			if f.Name() != o.Name || containsExtension(exts, o.Name) {
				continue
			}
			params, ext, err := f.Negotiate(o.Params, exts)
			if err != nil {
				continue // declined; a later offer may be accepted
			}
			exts = append(exts, ext)
			resp = append(resp, ExtensionOffer{Name: ext.Name(), Params: params})
			break
		}
	}
	return exts, resp, nil
}

func containsExtension(exts []Extension, name string) bool {
	for _, e := range exts {
		if e.Name() == name {
			return true
		}
	}
	return false
}

func (s *ServerHandshake) selectSubprotocol(r *http.Request) (string, error) {
	offered, err := ParseTokenList(r.Header.Values("Sec-WebSocket-Protocol"))
	if err != nil {
		return "", err
	}
	if s.SelectSubprotocol != nil {
		proto, err := s.SelectSubprotocol(r, offered)
		if err != nil {
			var ne *NegotiationError
			if errors.As(err, &ne) {
				return "", err
			}
			return "", &HandshakeError{Status: http.StatusInternalServerError, Msg: "subprotocol selection failed: " + err.Error(), Err: err}
		}
		if proto != "" && !contains(offered, proto) {
			return "", &HandshakeError{Status: http.StatusInternalServerError,
				Msg: "selected subprotocol " + quoteForError(proto) + " was not offered", Err: ErrNegotiation}
		}
		return proto, nil
	}
	if len(s.Subprotocols) == 0 {
		return "", nil
	}
	if len(offered) == 0 {
		return "", &NegotiationError{Msg: "missing subprotocol"}
	}
	for _, p := range s.Subprotocols {
		if contains(offered, p) {
			return p, nil
		}
	}
	return "", &NegotiationError{Msg: "invalid subprotocol; expected one of " + strings.Join(s.Subprotocols, ", ")}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// browserNote is added to 426 bodies: people reach WebSocket servers with
// a browser and wonder why they get an error.
const browserNote = "You cannot access a WebSocket server directly with a browser. You need a WebSocket client.\n"

// RejectResponse returns the status, headers and plain-text body to answer
// a failed handshake with. Errors that are not a *HandshakeError with a
// status give 400 for negotiation failures and 500 otherwise.
func RejectResponse(err error) (int, http.Header, []byte) {
	status := http.StatusInternalServerError
	h := make(http.Header)
	var he *HandshakeError
	var ne *NegotiationError
	switch {
	case errors.As(err, &he) && he.Status != 0:
		status = he.Status
		for k, v := range he.Header {
			h[k] = append(h[k], v...)
		}
	case errors.As(err, &ne):
		status = http.StatusBadRequest
	}
	var body string
	if status == http.StatusInternalServerError {
		body = "Failed to open a WebSocket connection.\nSee server log for more information.\n"
	} else {
		msg := strings.TrimPrefix(err.Error(), "ws: ")
		body = "Failed to open a WebSocket connection: " + msg + ".\n"
		if status == http.StatusUpgradeRequired && h.Get("Upgrade") != "" {
			body += "\n" + browserNote
		}
	}
	h.Set("Connection", "close")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	return status, h, []byte(body)
}
