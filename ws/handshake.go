package ws

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"net/http"
	"net/url"
	"runtime"
	"strings"
)

// acceptGUID is the fixed GUID of RFC 6455 §1.3.
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// AcceptKey returns the Sec-WebSocket-Accept value for a Sec-WebSocket-Key.
func AcceptKey(key string) string {
	h := sha1.Sum([]byte(key + acceptGUID))
	return base64.StdEncoding.EncodeToString(h[:])
}

// NewKey returns a fresh Sec-WebSocket-Key: 16 random bytes in base64.
func NewKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

// validKey reports whether key is the base64 encoding of 16 bytes.
func validKey(key string) bool {
	if len(key) != 24 {
		return false
	}
	b, err := base64.StdEncoding.Strict().DecodeString(key)
	return err == nil && len(b) == 16
}

// Version is this module's version, used in the default User-Agent and
// Server headers.
const Version = "0.1.0"

// DefaultUserAgent is the User-Agent and Server header value unless
// configured otherwise, e.g. "tether/0.1.0 Go/1.26".
var DefaultUserAgent = "tether/" + Version + " Go/" + goVersion()

func goVersion() string {
	v := strings.TrimPrefix(runtime.Version(), "go")
	if major, rest, ok := strings.Cut(v, "."); ok {
		minor, _, _ := strings.Cut(rest, ".")
		return major + "." + minor
	}
	return v
}

// Negotiated is the outcome of an opening handshake.
type Negotiated struct {
	Subprotocol string
	Extensions  []Extension
}

// headerValues returns the values of a header, or nil.
func headerValues(h http.Header, key string) []string { return h[http.CanonicalHeaderKey(key)] }

// hasToken reports whether a comma-list header contains token, ignoring case.
func hasToken(h http.Header, key, token string) (bool, error) {
	list, err := ParseTokenList(headerValues(h, key))
	if err != nil {
		return false, err
	}
	for _, t := range list {
		if strings.EqualFold(t, token) {
			return true, nil
		}
	}
	return false, nil
}

// ------------------------------------------------------------------- client

// ClientHandshake configures the client side of the opening handshake.
type ClientHandshake struct {
	// Origin, if set, is sent as the Origin header.
	Origin string
	// Subprotocols are offered in this order of preference.
	Subprotocols []string
	// Extensions are offered in this order.
	Extensions []ClientExtensionFactory
	// Header holds extra headers, added after the handshake headers. A
	// User-Agent here replaces the default.
	Header http.Header
	// UserAgent is the User-Agent header; empty means DefaultUserAgent.
	UserAgent string
	// OmitUserAgent sends no User-Agent header at all.
	OmitUserAgent bool
}

// ParseURI checks a ws:// or wss:// URI: a host is required, no fragment,
// and a user name needs a password. The host is lower-cased.
func ParseURI(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, &HandshakeError{Msg: "invalid URI " + quoteForError(raw) + ": " + err.Error(), Err: ErrInvalidURI}
	}
	bad := func(why string) error {
		return &HandshakeError{Msg: "invalid URI " + quoteForError(raw) + ": " + why, Err: ErrInvalidURI}
	}
	switch u.Scheme {
	case "ws", "wss":
	default:
		return nil, bad("scheme isn't ws or wss")
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, bad("missing host")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return nil, bad("fragment isn't allowed")
	}
	if u.User != nil {
		if _, ok := u.User.Password(); !ok {
			return nil, bad("username provided without password")
		}
	}
	if p := u.Port(); p != "" {
		for _, c := range p {
			if c < '0' || c > '9' {
				return nil, bad("invalid port")
			}
		}
	}
	u.Host = strings.ToLower(u.Host)
	return u, nil
}

// DefaultPort returns the port a URL of this scheme (lower case) means
// when it names none: "80" for ws and http, "443" for wss and https, ""
// for another scheme.
func DefaultPort(scheme string) string {
	switch scheme {
	case "ws", "http":
		return "80"
	case "wss", "https":
		return "443"
	}
	return ""
}

// Port returns u's port, or its scheme's default (see DefaultPort) when
// it names none.
func Port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	return DefaultPort(u.Scheme)
}

// HostHeader returns the Host header value for u: the port is omitted when
// it is the scheme's default (see DefaultPort).
func HostHeader(u *url.URL) string {
	host, port := u.Hostname(), u.Port()
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port == "" || port == DefaultPort(u.Scheme) {
		return host
	}
	return host + ":" + port
}

// BasicAuthorization returns the Authorization (or Proxy-Authorization)
// value of HTTP Basic credentials (RFC 7617): "Basic " and the base64 of
// user ":" password.
func BasicAuthorization(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// Request builds the handshake request for u and returns it with the key
// that the response must acknowledge. User info in u becomes a Basic
// Authorization header (percent-decoded).
func (c *ClientHandshake) Request(u *url.URL) (*http.Request, string, error) {
	key := NewKey()
	h := make(http.Header)
	h.Set("Upgrade", "websocket")
	h.Set("Connection", "Upgrade")
	h.Set("Sec-WebSocket-Key", key)
	if err := c.addHeaders(u, h, false); err != nil {
		return nil, "", err
	}
	reqURL := *u
	reqURL.User = nil
	req := &http.Request{
		Method:     http.MethodGet,
		URL:        &reqURL,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     h,
		Host:       HostHeader(u),
		Body:       http.NoBody,
	}
	return req, key, nil
}

// addHeaders adds the headers both handshakes send: Basic authorization
// from u's user info, Origin, Sec-WebSocket-Version, the extension and
// subprotocol offers, the caller's extra headers (without the ones HTTP/2
// forbids when h2) and User-Agent.
func (c *ClientHandshake) addHeaders(u *url.URL, h http.Header, h2 bool) error {
	if u.User != nil {
		pw, _ := u.User.Password()
		h.Set("Authorization", BasicAuthorization(u.User.Username(), pw))
	}
	if c.Origin != "" {
		h.Set("Origin", c.Origin)
	}
	h.Set("Sec-WebSocket-Version", "13")
	if len(c.Extensions) > 0 {
		offers := make([]ExtensionOffer, len(c.Extensions))
		for i, f := range c.Extensions {
			offers[i] = ExtensionOffer{Name: f.Name(), Params: f.Offer()}
		}
		h.Set("Sec-WebSocket-Extensions", FormatExtensions(offers))
	}
	if len(c.Subprotocols) > 0 {
		for _, s := range c.Subprotocols {
			if !IsToken(s) {
				return &HandshakeError{Msg: "invalid subprotocol " + quoteForError(s), Err: ErrInvalidHeader}
			}
		}
		h.Set("Sec-WebSocket-Protocol", strings.Join(c.Subprotocols, ", "))
	}
	for k, vs := range c.Header {
		ck := http.CanonicalHeaderKey(k)
		if h2 {
			switch ck {
			case "Connection", "Upgrade", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Sec-Websocket-Key":
				continue // connection-specific or HTTP/1.1-only: not valid in HTTP/2
			}
		}
		h[ck] = append(h[ck], vs...)
	}
	if !c.OmitUserAgent && h.Get("User-Agent") == "" {
		ua := c.UserAgent
		if ua == "" {
			ua = DefaultUserAgent
		}
		h.Set("User-Agent", ua)
	}
	return nil
}

// Check validates the server's response to a request made with key: status
// 101 (else a *StatusError), the Upgrade and Connection headers, the accept
// key, and the negotiated extensions and subprotocol.
func (c *ClientHandshake) Check(resp *http.Response, key string) (Negotiated, error) {
	var n Negotiated
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return n, &StatusError{Response: resp}
	}
	bad := func(err error, msg string) error { return &HandshakeError{Msg: msg, Err: err} }
	if ok, err := hasToken(resp.Header, "Connection", "upgrade"); err != nil || !ok {
		return n, bad(ErrInvalidUpgrade, "invalid Connection header: "+quoteForError(strings.Join(resp.Header.Values("Connection"), ", ")))
	}
	up, err := ParseTokenList(resp.Header.Values("Upgrade"))
	if err != nil || len(up) != 1 || !strings.EqualFold(up[0], "websocket") {
		return n, bad(ErrInvalidUpgrade, "invalid Upgrade header: "+quoteForError(strings.Join(resp.Header.Values("Upgrade"), ", ")))
	}
	acc := resp.Header.Values("Sec-WebSocket-Accept")
	switch {
	case len(acc) == 0:
		return n, bad(ErrInvalidHeader, "missing Sec-WebSocket-Accept header")
	case len(acc) > 1:
		return n, bad(ErrInvalidHeader, "more than one Sec-WebSocket-Accept header")
	case acc[0] != AcceptKey(key):
		return n, bad(ErrInvalidHeader, "invalid Sec-WebSocket-Accept header "+quoteForError(acc[0]))
	}
	return c.negotiated(resp.Header)
}

// negotiated returns what the server's response headers h select among
// the client's offers: the extensions, then the subprotocol. On failure
// no extension stays open.
func (c *ClientHandshake) negotiated(h http.Header) (Negotiated, error) {
	var n Negotiated
	var err error
	if n.Extensions, err = c.acceptExtensions(h.Values("Sec-WebSocket-Extensions")); err != nil {
		return Negotiated{}, err
	}
	if n.Subprotocol, err = c.acceptSubprotocol(h.Values("Sec-WebSocket-Protocol")); err != nil {
		closeExtensions(n.Extensions)
		return Negotiated{}, err
	}
	return n, nil
}

func (c *ClientHandshake) acceptExtensions(values []string) ([]Extension, error) {
	offers, err := ParseExtensions(values)
	if err != nil {
		return nil, err
	}
	if len(offers) == 0 {
		return nil, nil
	}
	if len(c.Extensions) == 0 {
		return nil, &NegotiationError{Msg: "no extensions supported"}
	}
	var accepted []Extension
	for _, o := range offers {
		var ext Extension
		var lastErr error
		for _, f := range c.Extensions {
			if f.Name() != o.Name {
				continue
			}
			e, err := f.Accept(o.Params, accepted)
			if err != nil {
				lastErr = err
				continue
			}
			ext = e
			break
		}
		if ext == nil {
			closeExtensions(accepted)
			if lastErr != nil {
				return nil, lastErr
			}
			return nil, &NegotiationError{Msg: "unsupported extension: " + FormatExtensions([]ExtensionOffer{o})}
		}
		accepted = append(accepted, ext)
	}
	return accepted, nil
}

func (c *ClientHandshake) acceptSubprotocol(values []string) (string, error) {
	list, err := ParseTokenList(values)
	if err != nil {
		return "", err
	}
	switch {
	case len(list) == 0:
		return "", nil
	case len(c.Subprotocols) == 0:
		return "", &NegotiationError{Msg: "no subprotocols supported"}
	case len(list) > 1:
		return "", &HandshakeError{Msg: "multiple subprotocols: " + strings.Join(list, ", "), Err: ErrInvalidHeader}
	}
	for _, s := range c.Subprotocols {
		if s == list[0] {
			return s, nil
		}
	}
	return "", &NegotiationError{Msg: "unsupported subprotocol: " + list[0]}
}

// closeExtensions releases extensions that hold resources.
func closeExtensions(exts []Extension) {
	for _, e := range exts {
		if c, ok := e.(ExtensionCloser); ok {
			c.Close()
		}
	}
}

// CloseExtensions releases the resources of extensions that hold some; a
// runtime calls it when a connection ends.
func CloseExtensions(exts []Extension) { closeExtensions(exts) }
