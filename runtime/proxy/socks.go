package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"

	xproxy "golang.org/x/net/proxy"

	"github.com/tetherws/tether/runtime/internal/netctx"
)

// socks5 runs SOCKS5 (RFC 1928, with RFC 1929 user/password) over nc with
// golang.org/x/net/proxy. socks5h sends the host name; socks5 resolves it
// here first.
func socks5(ctx context.Context, nc net.Conn, p *url.URL, addr string) (net.Conn, error) {
	host, port, _ := net.SplitHostPort(addr)
	if p.Scheme == "socks5" {
		ip, err := resolve(ctx, host, false)
		if err != nil {
			return nil, err
		}
		addr = net.JoinHostPort(ip.String(), port)
	}
	var auth *xproxy.Auth
	if p.User != nil {
		pw, _ := p.User.Password()
		auth = &xproxy.Auth{User: p.User.Username(), Password: pw}
	}
	d, err := xproxy.SOCKS5("tcp", hostPort(p), auth, nil)
	if err != nil {
		return nil, err
	}
	dwc, ok := d.(interface {
		DialWithConn(ctx context.Context, c net.Conn, network, address string) (net.Addr, error)
	})
	if !ok {
		return nil, errors.New("proxy: the SOCKS5 dialer of golang.org/x/net/proxy has no DialWithConn")
	}
	if _, err := dwc.DialWithConn(ctx, nc, "tcp", addr); err != nil {
		if ctx.Err() != nil || netctx.IsTimeout(err) {
			return nil, err
		}
		return nil, classifySOCKS5(err)
	}
	return nc, nil
}

// classifySOCKS5 turns an error of golang.org/x/net/internal/socks, which
// has no typed errors, into an *Error of the right kind.
func classifySOCKS5(err error) error {
	inner := err
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		inner = oe.Err
	}
	var ne net.Error
	msg := inner.Error()
	switch {
	case errors.As(inner, &ne):
		return err // a network failure
	case strings.Contains(msg, "authentication") || strings.Contains(msg, "username/password"):
		return &Error{Kind: ErrAuth, Msg: "SOCKS5 authentication failed", Err: err}
	case strings.HasPrefix(msg, "unknown error "):
		return &Error{Kind: ErrRefused, Msg: "SOCKS5 proxy refused: " + strings.TrimPrefix(msg, "unknown error "), Err: err}
	case errors.Is(inner, io.EOF) || errors.Is(inner, io.ErrUnexpectedEOF):
		return &Error{Kind: ErrInvalidReply, Msg: "SOCKS5 proxy closed the connection", Err: err}
	case strings.Contains(msg, "unexpected protocol version") || strings.Contains(msg, "address type") || strings.Contains(msg, "reserved field"):
		return &Error{Kind: ErrInvalidReply, Msg: "invalid SOCKS5 reply", Err: err}
	}
	return &Error{Msg: "failed to connect to SOCKS proxy", Err: err}
}

// socks4 runs SOCKS4 (socks4: the address is resolved here) or SOCKS4a
// (socks4a: the proxy resolves the host name). The user name of the proxy
// URL is the user id.
func socks4(ctx context.Context, nc net.Conn, p *url.URL, addr string) (net.Conn, error) {
	release := netctx.Bind(ctx, nc)
	defer release()
	host, portStr, _ := net.SplitHostPort(addr)
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, err
	}
	b := []byte{4, 1, byte(port >> 8), byte(port)}
	ip := net.ParseIP(host).To4()
	remote := p.Scheme == "socks4a" && ip == nil
	switch {
	case remote:
		b = append(b, 0, 0, 0, 1) // 0.0.0.x: the host name follows
	case ip != nil:
		b = append(b, ip...)
	default:
		rip, err := resolve(ctx, host, true)
		if err != nil {
			return nil, err
		}
		b = append(b, rip.To4()...)
	}
	if p.User != nil {
		b = append(b, p.User.Username()...)
	}
	b = append(b, 0)
	if remote {
		b = append(b, host...)
		b = append(b, 0)
	}
	if _, err := nc.Write(b); err != nil {
		return nil, err
	}
	var r [8]byte
	if _, err := io.ReadFull(nc, r[:]); err != nil {
		if ctx.Err() != nil || netctx.IsTimeout(err) {
			return nil, err
		}
		return nil, &Error{Kind: ErrInvalidReply, Msg: "SOCKS4 proxy closed the connection", Err: err}
	}
	if r[0] != 0 {
		return nil, &Error{Kind: ErrInvalidReply, Msg: fmt.Sprintf("invalid SOCKS4 reply version %d", r[0])}
	}
	switch r[1] {
	case 90:
		return nc, nil
	case 91:
		return nil, &Error{Kind: ErrRefused, Msg: "SOCKS4 proxy refused the request"}
	case 92, 93:
		return nil, &Error{Kind: ErrAuth, Msg: fmt.Sprintf("SOCKS4 proxy refused the user id (code %d)", r[1])}
	}
	return nil, &Error{Kind: ErrInvalidReply, Msg: fmt.Sprintf("invalid SOCKS4 reply code %d", r[1])}
}

// resolve resolves host here, for socks5:// and socks4:// proxies,
// preferring IPv4 (SOCKS4 has nothing else).
func resolve(ctx context.Context, host string, v4only bool) (net.IP, error) {
	if ip := net.ParseIP(host); ip != nil {
		if v4only && ip.To4() == nil {
			return nil, fmt.Errorf("proxy: SOCKS4 can't reach the IPv6 address %s", host)
		}
		return ip, nil
	}
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return nil, err
	}
	for _, a := range addrs {
		if a.IP.To4() != nil {
			return a.IP, nil
		}
	}
	if v4only || len(addrs) == 0 {
		return nil, fmt.Errorf("proxy: no IPv4 address for %s", host)
	}
	return addrs[0].IP, nil
}
