package runtime

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/tetherws/tether/ws"
)

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

	// TLSConfig is used for wss:// URLs. ServerName defaults to the host.
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
	// socks4a; see ParseProxyURL), or nil to connect directly. nil means
	// ProxyFromEnvironment. ProxyURL gives a fixed proxy and NoProxy turns
	// proxies off. Ignored with NetConn or UnixSocket.
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

// Dial opens a WebSocket connection to url (ws:// or wss://) and returns
// it with the handshake response. OpenTimeout bounds the whole of it: the
// TCP connection, TLS and the handshake. When the server answers with
// another status than 101, the error is a *ws.StatusError carrying the
// response and (up to Limits.MaxBodySize of) its body.
//
// url may be an IRI: a non-ASCII host is IDNA-encoded, and the path and
// query are percent-encoded as UTF-8. Dial connects through the proxy
// that DialOptions.Proxy chooses, follows redirects (see dialFollow in
// redirect.go: MaxRedirects, no wss:// to ws://, credentials dropped
// cross-origin), and answers a Digest challenge once (see Credentials);
// OpenTimeout covers all of the attempts.
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

func (o *DialOptions) connect(ctx context.Context, u *url.URL) (net.Conn, error) {
	var nc net.Conn
	var err error
	switch {
	case o.NetConn != nil:
		nc = o.NetConn
	case o.UnixSocket != "":
		var d net.Dialer
		nc, err = d.DialContext(ctx, "unix", o.UnixSocket)
	default:
		addr := u.Host
		if u.Port() == "" {
			port := "80"
			if u.Scheme == "wss" {
				port = "443"
			}
			addr = net.JoinHostPort(u.Hostname(), port)
		}
		nc, err = o.dialTCP(ctx, u, addr)
	}
	if err != nil {
		return nil, err
	}
	if u.Scheme == "wss" {
		cfg := o.TLSConfig.Clone()
		if cfg == nil {
			cfg = &tls.Config{}
		}
		if cfg.ServerName == "" {
			cfg.ServerName = u.Hostname()
		}
		if len(cfg.NextProtos) == 0 {
			cfg.NextProtos = []string{"http/1.1"}
			if o.HTTP2 {
				cfg.NextProtos = []string{"h2"}
			}
		}
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = nc.Close()
			return nil, err
		}
		nc = tc
	}
	return nc, nil
}

// withDeadline makes the socket honour ctx while the handshake runs.
func withDeadline(ctx context.Context, nc net.Conn) (stop func()) {
	if d, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(d)
	}
	after := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	return func() {
		after()
		_ = nc.SetDeadline(time.Time{})
	}
}

func handshakeClient(ctx context.Context, nc net.Conn, u *url.URL, o *DialOptions, opts resolved) (*Conn, *http.Response, error) {
	if o.HTTP2 {
		return handshakeClientH2(ctx, nc, u, o, opts) // h2client.go
	}
	stop := withDeadline(ctx, nc)
	defer stop()
	exts, err := clientExtensions(o)
	if err != nil {
		return nil, nil, err
	}
	hs := ws.ClientHandshake{
		Origin:        o.Origin,
		Subprotocols:  o.Subprotocols,
		Extensions:    exts,
		Header:        o.Header,
		UserAgent:     o.UserAgent,
		OmitUserAgent: o.OmitUserAgent,
	}
	req, key, err := hs.Request(u)
	if err != nil {
		return nil, nil, err
	}
	out, err := ws.AppendRequest(nil, req)
	if err != nil {
		return nil, nil, err
	}
	if _, err := nc.Write(out); err != nil {
		return nil, nil, err
	}
	resp, rest, err := readHead(nc, opts.Limits, func(b []byte) (*http.Response, int, error) {
		return ws.ParseResponse(b, opts.Limits, false)
	})
	if err != nil {
		return nil, nil, err
	}
	resp.Request = req
	neg, err := hs.Check(resp, key)
	if err != nil {
		var se *ws.StatusError
		if errors.As(err, &se) {
			body, berr := ws.ReadResponseBody(&prefixReader{rest, nc}, resp, opts.Limits)
			if berr == nil {
				se.Body = body
			}
		}
		return nil, resp, err
	}
	stop()
	c := newConn(connParams{
		nc: nc, side: ws.Client, opts: opts, negotiated: neg,
		request: req, response: resp, leftover: rest,
	})
	c.log.Debug("= connection open")
	return c, resp, nil
}
