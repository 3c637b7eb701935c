package proxy

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"

	"github.com/tetherws/tether/runtime/internal/netctx"
	"github.com/tetherws/tether/ws"
)

// Dialer opens tunnels through proxies. The zero Dialer is ready to use.
type Dialer struct {
	// DialContext, if set, replaces the net.Dialer that connects to the
	// proxy.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// TLSConfig is used for the TLS connection to an https:// proxy.
	// ServerName defaults to the proxy's host, NextProtos to http/1.1.
	TLSConfig *tls.Config
	// UserAgent is sent with an HTTP CONNECT request; empty sends none.
	UserAgent string
	// Limits bound the head of an HTTP proxy's reply (the zero value:
	// ws's defaults).
	Limits ws.Limits
}

// Dial connects to the proxy at proxyURL (checked with Parse) and asks it
// for a tunnel to target, and returns the tunnel: a connection on which
// the caller talks to target (and runs TLS first for wss:// or https://).
// target is a ws, wss, http or https URL: the tunnel goes to its host and
// port (by default the scheme's), and an HTTP CONNECT request carries its
// Host header. socks5 and socks4 resolve target's host here; socks5h and
// socks4a let the proxy resolve it. ctx bounds the whole of it.
//
// The errors are an *Error for an invalid proxy URL, a refusal or an
// invalid reply; else the network error, wrapped with the proxy's URL
// (password redacted).
func (d *Dialer) Dial(ctx context.Context, proxyURL, target *url.URL) (net.Conn, error) {
	p, err := Parse(proxyURL.String())
	if err != nil {
		return nil, err
	}
	addr := hostPort(target)
	if _, port, _ := net.SplitHostPort(addr); port == "" {
		return nil, fmt.Errorf("proxy: no port for %s", target.Redacted())
	}
	netErr := func(what string, err error) error {
		return fmt.Errorf("proxy: %s proxy %s: %w", what, p.Redacted(), err)
	}
	dial := d.DialContext
	if dial == nil {
		var nd net.Dialer
		dial = nd.DialContext
	}
	nc, err := dial(ctx, "tcp", hostPort(p))
	if err != nil {
		return nil, netErr("connecting to", err)
	}
	if p.Scheme == "https" {
		tc, err := netctx.TLSClient(ctx, nc, d.TLSConfig, p.Hostname(), "http/1.1")
		if err != nil {
			return nil, netErr("TLS handshake with", err)
		}
		nc = tc
	}
	var tunnel net.Conn
	switch p.Scheme {
	case "http", "https":
		tunnel, err = d.connect(ctx, nc, p, target, addr)
	case "socks5", "socks5h":
		tunnel, err = socks5(ctx, nc, p, addr)
	case "socks4", "socks4a":
		tunnel, err = socks4(ctx, nc, p, addr)
	}
	if err != nil {
		_ = nc.Close()
		var pe *Error
		if errors.As(err, &pe) && ctx.Err() == nil && !netctx.IsTimeout(err) {
			pe.Proxy = p.Redacted()
			return nil, pe
		}
		return nil, netErr("tunnelling through", err)
	}
	return tunnel, nil
}

// connect asks an HTTP proxy for a tunnel to addr with CONNECT.
func (d *Dialer) connect(ctx context.Context, nc net.Conn, p, target *url.URL, addr string) (net.Conn, error) {
	release := netctx.Bind(ctx, nc)
	defer release()
	h := http.Header{}
	if d.UserAgent != "" {
		h.Set("User-Agent", d.UserAgent)
	}
	if p.User != nil {
		pw, _ := p.User.Password()
		h.Set("Proxy-Authorization", ws.BasicAuthorization(p.User.Username(), pw))
	}
	// The request-target of an opaque URL is written as is: host:port.
	req := &http.Request{Method: http.MethodConnect, URL: &url.URL{Opaque: addr}, Host: ws.HostHeader(target), Header: h}
	out, err := ws.AppendRequest(nil, req)
	if err != nil {
		return nil, err
	}
	if _, err := nc.Write(out); err != nil {
		return nil, err
	}
	resp, rest, err := readReply(nc, d.Limits)
	if err != nil {
		if ctx.Err() != nil || netctx.IsTimeout(err) {
			return nil, err
		}
		return nil, &Error{Kind: ErrInvalidReply, Msg: "did not receive a valid HTTP response from proxy", Err: err}
	}
	if resp.StatusCode/100 != 2 {
		kind := ErrRefused
		if resp.StatusCode == http.StatusProxyAuthRequired {
			kind = ErrAuth
		}
		return nil, &Error{Kind: kind, StatusCode: resp.StatusCode, Response: resp,
			Msg: "proxy rejected connection: HTTP " + strconv.Itoa(resp.StatusCode)}
	}
	if len(rest) > 0 {
		return &prefixConn{Conn: nc, prefix: rest}, nil
	}
	return nc, nil
}

// readReply reads the head of an HTTP proxy's reply to CONNECT, within
// lim's limits, and returns it with the bytes read past it. A
// ws.HeadReader looks at each byte a bounded number of times however the
// proxy chops its reply.
func readReply(nc net.Conn, lim ws.Limits) (*http.Response, []byte, error) {
	hr := ws.NewResponseReader(lim, true)
	if err := hr.Fill(nc); err != nil {
		return nil, nil, err
	}
	resp, err := hr.Response()
	if err != nil {
		return nil, nil, err
	}
	return resp, bytes.Clone(hr.Rest()), nil
}

// prefixConn replays bytes read past a proxy's reply.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixConn) Read(b []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(b, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(b)
}
