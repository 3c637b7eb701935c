package runtime

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/tetherws/tether/runtime/internal/httpauth"
	"github.com/tetherws/tether/runtime/internal/iri"
	"github.com/tetherws/tether/runtime/internal/netctx"
	"github.com/tetherws/tether/ws"
)

// The client's policy: Dial checks the URL and the options, then follows
// redirects (dialFollow), each one a connection attempt (dialAttempt) that
// answers a Digest challenge once. The mechanism of one attempt (sockets,
// TLS, proxies, the HTTP/1.1 and RFC 8441 handshakes) is DialOptions'
// connect and handshake.

// DialOptions configure Dial.
type DialOptions struct {
	Options

	// Origin is sent as the Origin header when set.
	Origin string
	// Subprotocols are offered in this order of preference.
	Subprotocols []string
	// Extensions are offered in this order. Compression, when not
	// disabled, is offered after these.
	Extensions []ws.ClientExtensionFactory
	// Header holds extra request headers; a User-Agent here replaces the
	// default one.
	Header http.Header
	// UserAgent replaces the default User-Agent ("tether/… Go/…").
	UserAgent string
	// OmitUserAgent sends no User-Agent header.
	OmitUserAgent bool

	// TLSConfig is used for wss:// URLs. ServerName defaults to the host,
	// NextProtos to http/1.1 (h2 with HTTP2).
	TLSConfig *tls.Config
	// NetConn, if set, is a connected socket to run the handshake on
	// instead of dialing (TLS is still layered on it for wss://).
	NetConn net.Conn
	// UnixSocket, if set, is the path of a Unix socket to connect to; the
	// URL still gives the Host header and request path.
	UnixSocket string
	// DialContext, if set, replaces the dialer for TCP connections (to
	// the server, or to the proxy).
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)

	// Proxy chooses the proxy for each connection attempt's URL: it
	// returns the proxy's URL (http, https, socks5, socks5h, socks4,
	// socks4a; see proxy.Parse), or nil to connect directly. nil means
	// proxy.FromEnvironment; proxy.URL gives a fixed proxy and
	// proxy.Direct turns proxies off. Ignored with NetConn or UnixSocket.
	// An error the function returns fails the Dial with a *proxy.Error
	// matching proxy.ErrInvalidURL.
	Proxy func(target *url.URL) (*url.URL, error)
	// ProxyTLSConfig is used for the TLS connection to an https:// proxy.
	// ServerName defaults to the proxy's host.
	ProxyTLSConfig *tls.Config

	// Auth, if set, authenticates the handshake with HTTP Basic or Digest
	// credentials instead of the user info of the URL.
	Auth *Credentials
	// MaxRedirects bounds the redirects followed (300, 301, 302, 303, 307,
	// 308 with Location). 0 means DefaultMaxRedirects; negative: none.
	MaxRedirects int

	// HTTP2 opens the connection over HTTP/2 (RFC 8441): an extended
	// CONNECT request on a new HTTP/2 connection, over TLS with ALPN "h2"
	// for wss:// (TLSConfig.NextProtos, if set, must offer h2), and with
	// prior knowledge (h2c) for ws://. The WebSocket then runs on that
	// one stream. The server must advertise SETTINGS_ENABLE_CONNECT_PROTOCOL
	// (a Go net/http server: see package runtime/xconnect); if it does
	// not, Dial fails with an error matching ErrHTTP2Unsupported, and does
	// not fall back to HTTP/1.1. A Digest challenge is answered on a new
	// HTTP/2 connection, signing the CONNECT method.
	HTTP2 bool
}

// Credentials authenticate the client's opening handshake with HTTP Basic
// or Digest authentication (RFC 7617, RFC 7616).
type Credentials struct {
	Username, Password string
	// DigestOnly never sends the password in Basic credentials: the first
	// request carries none, and only a Digest challenge is answered.
	// Without it, Basic credentials go with the first request (as Python
	// websockets does with user info in the URL), and a 401 Digest
	// challenge is still answered.
	DigestOnly bool
}

// DefaultMaxRedirects is the number of redirects Dial follows by default:
// with the first, at most 10 connection attempts, as in Python websockets.
const DefaultMaxRedirects = 9

// Redirect errors, to branch on with errors.Is; a *RedirectError matches
// one of them and ws.ErrInvalidHandshake.
var (
	// ErrTooManyRedirects: the redirect limit was reached.
	ErrTooManyRedirects = errors.New("tether: too many redirects")
	// ErrInsecureRedirect: a wss:// URL redirected to ws://, a TLS
	// downgrade.
	ErrInsecureRedirect = errors.New("tether: redirect from wss:// to ws://")
	// ErrRedirectRefused: a redirect that the connection can't follow:
	// any redirect over DialOptions.NetConn, a cross-origin one over
	// DialOptions.UnixSocket.
	ErrRedirectRefused = errors.New("tether: redirect refused")
)

// RedirectError is a redirect Dial did not follow. Err is the reason:
// ErrTooManyRedirects, ErrInsecureRedirect or ErrRedirectRefused.
type RedirectError struct {
	// StatusCode and Location are the redirect's (Location resolved
	// against the URL that answered, password redacted).
	StatusCode int
	Location   string
	Err        error
}

func (e *RedirectError) Error() string {
	return e.Err.Error() + " (HTTP " + strconv.Itoa(e.StatusCode) + " to " + e.Location + ")"
}

// Unwrap returns Err.
func (e *RedirectError) Unwrap() error { return e.Err }

// Is matches ws.ErrInvalidHandshake.
func (e *RedirectError) Is(target error) bool { return target == ws.ErrInvalidHandshake }

// Dial opens a WebSocket connection to url (ws:// or wss://) and returns
// it with the handshake response. OpenTimeout bounds the whole of it: the
// TCP connection, TLS and the handshake. When the server answers with
// another status than 101, the error is a *ws.StatusError carrying the
// response and its body, cut at Limits.MaxBodySize (Truncated says so).
//
// url may be an IRI: a non-ASCII host is IDNA-encoded, and the path and
// query are percent-encoded as UTF-8. Dial connects through the proxy
// that DialOptions.Proxy chooses; follows redirects (up to MaxRedirects,
// never from wss:// to ws://, dropping the credentials on a cross-origin
// one: the Authorization, Cookie and Proxy-Authorization headers,
// DialOptions.Auth and the URL's user info); and answers a Digest
// challenge once (see Credentials). OpenTimeout covers all of the
// attempts; when it cuts them, the error matches both
// context.DeadlineExceeded and os.ErrDeadlineExceeded. When ctx is
// cancelled, the error matches context.Canceled.
func Dial(ctx context.Context, rawURL string, o *DialOptions) (*Conn, *http.Response, error) {
	if o == nil {
		o = &DialOptions{}
	}
	opts := o.Options.resolve()
	u, err := parseIRI(rawURL)
	if err != nil {
		return nil, nil, err
	}
	if _, err := clientExtensions(o); err != nil {
		return nil, nil, err // bad options fail before connecting
	}
	if opts.OpenTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.OpenTimeout)
		defer cancel()
	}
	return o.dialFollow(ctx, u, opts)
}

// parseIRI turns an IRI into a URI and checks it with ws.ParseURI.
func parseIRI(raw string) (*url.URL, error) {
	s, err := iri.ToURI(raw)
	if err != nil {
		return nil, &ws.HandshakeError{Msg: "invalid URI " + strconv.Quote(raw) + ": " + err.Error(), Err: ws.ErrInvalidURI}
	}
	return ws.ParseURI(s)
}

// ------------------------------------------------------------- redirects

// credentialHeaders are dropped from DialOptions.Header on a cross-origin
// redirect.
var credentialHeaders = []string{"Authorization", "Cookie", "Proxy-Authorization"}

// dialFollow dials u and follows redirects (300, 301, 302, 303, 307, 308
// with a Location), each on a new connection, all under ctx (one
// OpenTimeout). A cross-origin redirect drops the credentials: the
// Authorization, Cookie and Proxy-Authorization headers, o.Auth, and the
// user info of the previous URL.
func (o *DialOptions) dialFollow(ctx context.Context, u *url.URL, opts resolved) (*Conn, *http.Response, error) {
	limit := o.MaxRedirects
	switch {
	case limit == 0:
		limit = DefaultMaxRedirects
	case limit < 0:
		limit = 0
	}
	hdr, cred := canonicalHeader(o.Header), o.Auth
	for redirects := 0; ; redirects++ {
		c, resp, err := o.dialAttempt(ctx, u, hdr, cred, opts)
		var se *ws.StatusError
		if err == nil || o.MaxRedirects < 0 || !errors.As(err, &se) || !isRedirect(resp.StatusCode) || resp.Header.Get("Location") == "" {
			return c, resp, err
		}
		loc := resp.Header.Get("Location")
		next, perr := resolveLocation(u, loc)
		if perr != nil {
			return nil, resp, perr
		}
		refuse := func(why error) (*Conn, *http.Response, error) {
			return nil, resp, &RedirectError{StatusCode: resp.StatusCode, Location: next.Redacted(), Err: why}
		}
		switch {
		case redirects >= limit:
			return refuse(fmt.Errorf("%w: more than %d", ErrTooManyRedirects, limit))
		case u.Scheme == "wss" && next.Scheme == "ws":
			return refuse(ErrInsecureRedirect)
		case o.NetConn != nil:
			return refuse(fmt.Errorf("%w: the connection was given (NetConn)", ErrRedirectRefused))
		}
		if !sameOrigin(u, next) {
			if o.UnixSocket != "" {
				return refuse(fmt.Errorf("%w: cross-origin redirect over a Unix socket", ErrRedirectRefused))
			}
			hdr = hdr.Clone()
			for _, k := range credentialHeaders {
				hdr.Del(k)
			}
			cred = nil
		}
		if ctx.Err() != nil {
			return nil, resp, openError(ctx, ctx.Err())
		}
		opts.Logger.Debug("following redirect", "status", resp.StatusCode, "location", next.Redacted())
		u = next
	}
}

// canonicalHeader returns a copy of h whose keys are canonical, values of
// keys that differ only in case merged in order, so that the redirect rule
// and the headers Dial sets find a header however the caller spelled it
// (net/http's Header methods canonicalize; a map literal need not).
func canonicalHeader(h http.Header) http.Header {
	if h == nil {
		return nil
	}
	out := make(http.Header, len(h))
	for k, vs := range h {
		ck := http.CanonicalHeaderKey(k)
		out[ck] = append(out[ck], vs...)
	}
	return out
}

// isRedirect reports the statuses Dial follows when Location is present.
func isRedirect(status int) bool {
	switch status {
	case http.StatusMultipleChoices, http.StatusMovedPermanently, http.StatusFound,
		http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

// sameOrigin reports whether a and b have the same scheme, host and port.
func sameOrigin(a, b *url.URL) bool {
	return a.Scheme == b.Scheme && a.Hostname() == b.Hostname() && ws.Port(a) == ws.Port(b)
}

// resolveLocation resolves a Location header against u and checks the
// result like Dial's URL: a ws:// or wss:// URI (an IRI is converted).
func resolveLocation(u *url.URL, loc string) (*url.URL, error) {
	conv, err := iri.ToURI(loc)
	if err != nil {
		return nil, &ws.HandshakeError{Msg: "invalid redirect Location " + strconv.Quote(loc) + ": " + err.Error(), Err: ws.ErrInvalidURI}
	}
	ref, err := url.Parse(conv)
	if err != nil {
		return nil, &ws.HandshakeError{Msg: "invalid redirect Location " + strconv.Quote(loc) + ": " + err.Error(), Err: ws.ErrInvalidURI}
	}
	// A relative reference keeps the user info of u; one with a host
	// does not inherit it.
	return ws.ParseURI(u.ResolveReference(ref).String())
}

// ------------------------------------------------------- one attempt

// dialAttempt makes one connection attempt to u: connect, then the
// handshake. With credentials (cred, else the user info of u), it sends
// Basic credentials unless cred.DigestOnly, and answers a 401 Digest
// challenge once: on the same connection when the server keeps it open,
// else on a fresh one.
func (o *DialOptions) dialAttempt(ctx context.Context, u *url.URL, hdr http.Header, cred *Credentials, opts resolved) (*Conn, *http.Response, error) {
	oc := *o
	oc.Header = hdr
	if cred == nil && u.User != nil {
		pw, _ := u.User.Password()
		cred = &Credentials{Username: u.User.Username(), Password: pw}
	}
	if cred != nil {
		bare := *u
		bare.User = nil
		u = &bare
		if !cred.DigestOnly {
			oc.Header = withHeader(hdr, "Authorization", ws.BasicAuthorization(cred.Username, cred.Password))
		}
	}
	nc, err := oc.connect(ctx, u)
	if err != nil {
		return nil, nil, openError(ctx, fmt.Errorf("tether: dial %s: %w", u.Redacted(), err))
	}
	c, resp, err := oc.handshake(ctx, nc, u, opts)
	if err == nil {
		return c, resp, nil
	}
	var ch *httpauth.DigestChallenge
	if cred != nil && resp != nil && resp.StatusCode == http.StatusUnauthorized && ctx.Err() == nil {
		ch = httpauth.PickDigestChallenge(resp.Header.Values("Www-Authenticate"))
	}
	if ch == nil {
		_ = nc.Close()
		return nil, resp, openError(ctx, err)
	}
	method := http.MethodGet
	if o.HTTP2 {
		method = http.MethodConnect // RFC 8441: the handshake is a CONNECT
	}
	authz, aerr := ch.Authorization(cred.Username, cred.Password, method, u.RequestURI(), httpauth.NewCnonce(), 1)
	if aerr != nil {
		_ = nc.Close()
		return nil, resp, fmt.Errorf("%w (digest: %w)", err, aerr)
	}
	opts.Logger.Debug("answering a Digest challenge", "algorithm", ch.Algorithm)
	oc.Header = withHeader(hdr, "Authorization", authz)
	if keepsAlive(resp) && !o.HTTP2 { // an HTTP/2 retry needs a new session
		c, resp2, err2 := oc.handshake(ctx, nc, u, opts)
		if err2 == nil {
			return c, resp2, nil
		}
		_ = nc.Close()
		if resp2 != nil || ctx.Err() != nil || o.NetConn != nil {
			return nil, resp2, openError(ctx, err2)
		}
		// The server closed the connection after all: use a fresh one.
	} else {
		_ = nc.Close()
		if o.NetConn != nil {
			return nil, resp, err
		}
	}
	if nc, err = oc.connect(ctx, u); err != nil {
		return nil, nil, openError(ctx, fmt.Errorf("tether: dial %s: %w", u.Redacted(), err))
	}
	if c, resp, err = oc.handshake(ctx, nc, u, opts); err != nil {
		_ = nc.Close()
		return nil, resp, openError(ctx, err)
	}
	return c, resp, nil
}

// withHeader returns a copy of h with key set to value.
func withHeader(h http.Header, key, value string) http.Header {
	h = h.Clone()
	if h == nil {
		h = make(http.Header)
	}
	h.Set(key, value)
	return h
}

// keepsAlive reports whether the connection that carried resp, whose body
// has been read, may carry another request: HTTP/1.1, no "Connection:
// close", and a body delimited by Content-Length or chunked encoding.
func keepsAlive(resp *http.Response) bool {
	if resp.ProtoMajor != 1 || resp.ProtoMinor != 1 {
		return false
	}
	for _, v := range resp.Header.Values("Connection") {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), "close") {
				return false
			}
		}
	}
	if resp.Header.Get("Content-Length") != "" {
		return true
	}
	te := resp.Header.Values("Transfer-Encoding")
	return len(te) > 0 && strings.EqualFold(strings.TrimSpace(te[len(te)-1]), "chunked")
}

// openError says that a failure was caused by the open timeout (the
// context's deadline, or a socket deadline) or by the cancellation of the
// context. A read cut by the deadline is also a *ws.HandshakeError
// ("connection closed in the HTTP head"), and the deadline, which comes
// from the context, may pass a moment before ctx.Err() says so: label it
// all the same. A cancelled context sets the socket's deadline too (see
// netctx.Bind), so ctx.Err() tells a cancellation from a timeout.
func openError(ctx context.Context, err error) error {
	if !netctx.IsTimeout(err) && (ctx.Err() == nil || errors.Is(err, ws.ErrInvalidHandshake)) {
		return err
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("tether: opening handshake canceled (%w): %w", context.Canceled, err)
	}
	return &openTimeoutError{err}
}

// openTimeoutError is the error of an opening handshake cut by the open
// timeout, whichever phase it cut: it matches both context.DeadlineExceeded
// and os.ErrDeadlineExceeded, and is a net.Error whose Timeout is true.
type openTimeoutError struct{ err error }

func (e *openTimeoutError) Error() string {
	return "tether: timed out during opening handshake: " + e.err.Error()
}
func (e *openTimeoutError) Unwrap() error { return e.err }
func (e *openTimeoutError) Is(target error) bool {
	return target == context.DeadlineExceeded || target == os.ErrDeadlineExceeded
}
func (e *openTimeoutError) Timeout() bool   { return true }
func (e *openTimeoutError) Temporary() bool { return true }
