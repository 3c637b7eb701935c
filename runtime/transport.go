package runtime

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"

	"github.com/tetherws/tether/runtime/internal/h2stream"
	"github.com/tetherws/tether/runtime/internal/netctx"
	"github.com/tetherws/tether/runtime/proxy"
	"github.com/tetherws/tether/ws"
)

// The client's mechanism: one connection attempt is connect (a socket:
// the given one, a Unix socket, or TCP directly or through a proxy; then
// TLS for wss://) and handshake (HTTP/1.1, or RFC 8441 over HTTP/2).

// ErrHTTP2Unsupported is the cause of a Dial with DialOptions.HTTP2 that
// reached a server that does not do WebSockets over HTTP/2: it did not
// select "h2" with TLS ALPN, answered the cleartext (h2c) preface in
// HTTP/1.1, or did not advertise SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC
// 8441 §3). It comes wrapped in a *ws.HandshakeError.
var ErrHTTP2Unsupported = h2stream.ErrUnsupported

// connect opens the connection that u's handshake runs on: o.NetConn as
// it is, a Unix socket, or TCP (see dialTCP); then TLS for wss://, with
// ALPN http/1.1, or h2 for HTTP2.
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
		nc, err = o.dialTCP(ctx, u)
	}
	if err != nil {
		return nil, err
	}
	if u.Scheme != "wss" {
		return nc, nil
	}
	alpn := "http/1.1"
	if o.HTTP2 {
		alpn = "h2"
	}
	tc, err := netctx.TLSClient(ctx, nc, o.TLSConfig, u.Hostname(), alpn)
	if err != nil {
		return nil, err
	}
	return tc, nil
}

// dialTCP connects to u's host and port: directly, or through the proxy
// that o.Proxy (by default proxy.FromEnvironment) chooses for u.
func (o *DialOptions) dialTCP(ctx context.Context, u *url.URL) (net.Conn, error) {
	choose := o.Proxy
	if choose == nil {
		choose = proxy.FromEnvironment
	}
	p, err := choose(u)
	if err != nil {
		var pe *proxy.Error
		if errors.As(err, &pe) {
			return nil, err
		}
		return nil, &proxy.Error{Kind: proxy.ErrInvalidURL, Msg: "choosing a proxy", Err: err}
	}
	if p != nil {
		d := proxy.Dialer{DialContext: o.DialContext, TLSConfig: o.ProxyTLSConfig, UserAgent: o.userAgent(), Limits: o.Limits}
		return d.Dial(ctx, p, u)
	}
	dial := o.DialContext
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	return dial(ctx, "tcp", net.JoinHostPort(u.Hostname(), ws.Port(u)))
}

// userAgent is the User-Agent the handshake sends, which an HTTP proxy
// gets too ("" for none).
func (o *DialOptions) userAgent() string {
	switch {
	case o.Header.Get("User-Agent") != "":
		return o.Header.Get("User-Agent")
	case o.OmitUserAgent:
		return ""
	case o.UserAgent != "":
		return o.UserAgent
	}
	return ws.DefaultUserAgent
}

// handshake runs the opening handshake on nc, the HTTP/1.1 upgrade or,
// with o.HTTP2, RFC 8441's extended CONNECT on a new HTTP/2 connection,
// and starts the Conn. A rejection returns the response, and a
// *ws.StatusError carrying (up to Limits.MaxBodySize of) its body.
func (o *DialOptions) handshake(ctx context.Context, nc net.Conn, u *url.URL, opts resolved) (*Conn, *http.Response, error) {
	release := netctx.Bind(ctx, nc)
	defer release()
	exts, err := clientExtensions(o)
	if err != nil {
		return nil, nil, err
	}
	hs := &ws.ClientHandshake{
		Origin:        o.Origin,
		Subprotocols:  o.Subprotocols,
		Extensions:    exts,
		Header:        o.Header,
		UserAgent:     o.UserAgent,
		OmitUserAgent: o.OmitUserAgent,
	}
	var p connParams
	if o.HTTP2 {
		p, err = handshakeHTTP2(nc, u, hs, opts)
	} else {
		p, err = handshakeHTTP1(nc, u, hs, opts)
	}
	p.id = newID()
	logClientHandshake(opts.Logger, p.id, remoteString(nc), p)
	if err != nil {
		var se *ws.StatusError
		if errors.As(err, &se) {
			observeRejected(opts.Observer, RejectEvent{Side: ws.Client, Status: se.StatusCode(), Err: err, Request: p.request, Remote: remoteString(nc)})
		}
		return nil, p.response, err
	}
	release()
	return newConn(p), p.response, nil
}

// handshakeHTTP1 sends the upgrade request and checks the response. Bytes
// that followed the response head go to the Conn.
func handshakeHTTP1(nc net.Conn, u *url.URL, hs *ws.ClientHandshake, opts resolved) (connParams, error) {
	req, key, err := hs.Request(u)
	if err != nil {
		return connParams{}, err
	}
	out, err := ws.AppendRequest(nil, req)
	if err != nil {
		return connParams{}, err
	}
	if _, err := nc.Write(out); err != nil {
		return connParams{}, err
	}
	hr := ws.NewResponseReader(opts.Limits, false)
	rest, err := readHead(nc, hr)
	if err != nil {
		return connParams{}, err
	}
	resp, err := hr.Response()
	if err != nil {
		return connParams{}, err
	}
	resp.Request = req
	neg, err := hs.Check(resp, key)
	if err != nil {
		return connParams{request: req, response: resp}, withBody(err, io.MultiReader(bytes.NewReader(rest), nc), resp, opts.Limits)
	}
	return connParams{
		nc: nc, side: ws.Client, opts: opts, negotiated: neg,
		request: req, response: resp, leftover: rest,
	}, nil
}

// handshakeHTTP2 opens an HTTP/2 connection on nc and sends the extended
// CONNECT request; the Conn runs on that one stream.
func handshakeHTTP2(nc net.Conn, u *url.URL, hs *ws.ClientHandshake, opts resolved) (connParams, error) {
	req, err := hs.RequestH2(u)
	if err != nil {
		return connParams{}, err
	}
	stream := h2stream.NewClient(nc, opts.Limits)
	resp, err := stream.RoundTrip(req)
	if err != nil {
		_ = stream.Close()
		return connParams{}, err
	}
	resp.Request = req
	neg, err := hs.CheckH2(resp)
	if err != nil {
		err = withBody(err, stream, resp, opts.Limits)
		_ = stream.Close()
		return connParams{request: req, response: resp}, err
	}
	return connParams{
		nc: stream, side: ws.Client, opts: opts, negotiated: neg,
		request: req, response: resp,
	}, nil
}

// withBody returns err, having given a *ws.StatusError in it (a
// rejection) the response's body, read from r: whole, or cut at the body
// limit (Truncated).
func withBody(err error, r io.Reader, resp *http.Response, lim ws.Limits) error {
	var se *ws.StatusError
	if errors.As(err, &se) {
		body, berr := ws.ReadResponseBody(r, resp, lim)
		switch {
		case berr == nil:
			se.Body = body
		case errors.Is(berr, ws.ErrSecurityLimit):
			se.Body, se.Truncated = body, true
		}
	}
	return err
}
