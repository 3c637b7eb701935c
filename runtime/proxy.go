package runtime

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/net/proxy"

	"github.com/tetherws/tether/runtime/internal/iri"
	"github.com/tetherws/tether/ws"
)

// Proxy errors, to branch on with errors.Is. Every *ProxyError matches
// ErrProxy, and also the one of the others that says what went wrong.
var (
	// ErrProxy matches every failure to connect through a proxy.
	ErrProxy = errors.New("ws: proxy failed")
	// ErrInvalidProxy: the proxy URL is not valid.
	ErrInvalidProxy = errors.New("ws: invalid proxy URL")
	// ErrProxyAuth: the proxy wants credentials or refused them (HTTP 407,
	// a failed SOCKS5 authentication, a SOCKS4 identd failure).
	ErrProxyAuth = errors.New("ws: proxy authentication failed")
	// ErrProxyRefused: the proxy would not open the tunnel (an HTTP status
	// other than 2xx and 407, a SOCKS reply other than success).
	ErrProxyRefused = errors.New("ws: proxy refused the connection")
	// ErrProxyMessage: the proxy's reply is not valid HTTP or SOCKS, or
	// the proxy closed the connection instead of replying.
	ErrProxyMessage = errors.New("ws: invalid reply from proxy")
)

// ProxyError is a proxy's refusal or an invalid proxy. It matches ErrProxy
// and Kind (ErrInvalidProxy, ErrProxyAuth, ErrProxyRefused,
// ErrProxyMessage; nil for another SOCKS failure), and unwraps to Err, the
// cause when there is one. Network failures (the proxy can't be reached,
// the connection breaks) and timeouts are not ProxyErrors: they come as
// the network error, wrapped with the proxy's URL, so that a caller can
// retry them as any other network error.
type ProxyError struct {
	// Proxy is the proxy's URL, with the password redacted.
	Proxy string
	// StatusCode is the status of an HTTP proxy's refused CONNECT (407:
	// proxy authentication required), else 0.
	StatusCode int
	// Response is an HTTP proxy's refusal (its head only), else nil.
	Response *http.Response
	Kind     error
	Msg      string
	Err      error
}

func (e *ProxyError) Error() string {
	s := "ws: proxy " + e.Proxy + ": " + e.Msg
	if e.Proxy == "" {
		s = "ws: proxy: " + e.Msg
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Is matches ErrProxy.
func (e *ProxyError) Is(target error) bool { return target == ErrProxy }

// Unwrap returns Kind and Err.
func (e *ProxyError) Unwrap() []error {
	var errs []error
	for _, err := range []error{e.Kind, e.Err} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// ProxyURL returns a DialOptions.Proxy function that always uses the proxy
// at raw (see ParseProxyURL); an invalid URL fails the Dial with
// ErrInvalidProxy.
func ProxyURL(raw string) func(target *url.URL) (*url.URL, error) {
	p, err := ParseProxyURL(raw)
	return func(*url.URL) (*url.URL, error) { return p, err }
}

// NoProxy is a DialOptions.Proxy function that always connects directly,
// whatever the environment says.
func NoProxy(*url.URL) (*url.URL, error) { return nil, nil }

// proxyDefaultPorts are the ports used when a proxy URL has none. Python
// websockets uses 80 for SOCKS too; 1080 is the port SOCKS proxies listen
// on.
var proxyDefaultPorts = map[string]string{
	"http": "80", "https": "443",
	"socks5": "1080", "socks5h": "1080", "socks4": "1080", "socks4a": "1080",
}

// ParseProxyURL checks a proxy URL: the scheme is http, https, socks5,
// socks5h (the proxy resolves the host name), socks4 or socks4a (the proxy
// resolves); a host is required; the path is empty or "/", with no query
// or fragment; a user name needs a password (except for SOCKS4, which has
// only a user id). A non-ASCII host is IDNA-encoded. Errors match
// ErrInvalidProxy.
func ParseProxyURL(raw string) (*url.URL, error) {
	bad := func(why string, err error) error {
		return &ProxyError{Proxy: redactProxy(raw), Kind: ErrInvalidProxy, Msg: why, Err: err}
	}
	conv, err := iri.ToURI(raw)
	if err != nil {
		return nil, bad("invalid URL", err)
	}
	u, err := url.Parse(conv)
	if err != nil {
		return nil, bad("invalid URL", err)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if _, ok := proxyDefaultPorts[u.Scheme]; !ok {
		return nil, bad("unsupported scheme "+strconv.Quote(u.Scheme), nil)
	}
	if u.Hostname() == "" {
		return nil, bad("missing host", nil)
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.Opaque != "" {
		return nil, bad("a proxy URL has no path, query or fragment", nil)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n <= 0 || n > 65535 {
			return nil, bad("invalid port", nil)
		}
	}
	if u.User != nil && !strings.HasPrefix(u.Scheme, "socks4") {
		if _, ok := u.User.Password(); !ok {
			return nil, bad("username provided without password", nil)
		}
	}
	u.Host = strings.ToLower(u.Host)
	return u, nil
}

// redactProxy hides the password of a proxy URL that may not parse.
func redactProxy(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	if i := strings.LastIndex(raw, "@"); i >= 0 {
		if j := strings.Index(raw, "://"); j >= 0 && j < i {
			return raw[:j+3] + "xxxxx" + raw[i:]
		}
		return "xxxxx" + raw[i:]
	}
	return raw
}

// proxyAddr returns host:port of a proxy URL, with the default port.
func proxyAddr(p *url.URL) string {
	port := p.Port()
	if port == "" {
		port = proxyDefaultPorts[p.Scheme]
	}
	return net.JoinHostPort(p.Hostname(), port)
}

// dialTCP opens a connection to addr, the TCP destination of u: directly,
// or through the proxy that o.Proxy (by default ProxyFromEnvironment)
// chooses for u. TLS to the server, for wss://, is the caller's job.
func (o *DialOptions) dialTCP(ctx context.Context, u *url.URL, addr string) (net.Conn, error) {
	dial := o.DialContext
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	choose := o.Proxy
	if choose == nil {
		choose = ProxyFromEnvironment
	}
	p, err := choose(u)
	if err != nil {
		var pe *ProxyError
		if errors.As(err, &pe) {
			return nil, err
		}
		return nil, &ProxyError{Kind: ErrInvalidProxy, Msg: "choosing a proxy", Err: err}
	}
	if p == nil {
		return dial(ctx, "tcp", addr)
	}
	if p, err = ParseProxyURL(p.String()); err != nil {
		return nil, err
	}
	return o.dialProxy(ctx, p, u, addr, dial)
}

// dialProxy connects to the proxy p and asks it for a tunnel to addr.
func (o *DialOptions) dialProxy(ctx context.Context, p, u *url.URL, addr string, dial func(context.Context, string, string) (net.Conn, error)) (net.Conn, error) {
	netErr := func(what string, err error) error {
		return fmt.Errorf("%s proxy %s: %w", what, p.Redacted(), err)
	}
	nc, err := dial(ctx, "tcp", proxyAddr(p))
	if err != nil {
		return nil, netErr("connecting to", err)
	}
	var tunnel net.Conn
	switch p.Scheme {
	case "http", "https":
		if p.Scheme == "https" {
			cfg := o.ProxyTLSConfig.Clone()
			if cfg == nil {
				cfg = &tls.Config{}
			}
			if cfg.ServerName == "" {
				cfg.ServerName = p.Hostname()
			}
			if len(cfg.NextProtos) == 0 {
				cfg.NextProtos = []string{"http/1.1"}
			}
			tc := tls.Client(nc, cfg)
			if err := tc.HandshakeContext(ctx); err != nil {
				_ = nc.Close()
				return nil, netErr("TLS handshake with", err)
			}
			nc = tc
		}
		tunnel, err = o.httpConnect(ctx, nc, p, u, addr)
	case "socks5", "socks5h":
		tunnel, err = socks5Connect(ctx, nc, p, addr)
	case "socks4", "socks4a":
		tunnel, err = socks4Connect(ctx, nc, p, addr)
	}
	if err != nil {
		_ = nc.Close()
		var pe *ProxyError
		if errors.As(err, &pe) && ctx.Err() == nil && !isTimeout(err) {
			pe.Proxy = p.Redacted()
			return nil, pe
		}
		return nil, netErr("tunnelling through", err)
	}
	return tunnel, nil
}

// proxyUserAgent is the User-Agent sent to an HTTP proxy: the same as the
// handshake's.
func (o *DialOptions) proxyUserAgent() string {
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

// httpConnect asks an HTTP proxy for a tunnel with CONNECT.
func (o *DialOptions) httpConnect(ctx context.Context, nc net.Conn, p, u *url.URL, addr string) (net.Conn, error) {
	stop := withDeadline(ctx, nc)
	defer stop()
	h := http.Header{"Host": {ws.HostHeader(u)}}
	if ua := o.proxyUserAgent(); ua != "" {
		h.Set("User-Agent", ua)
	}
	if p.User != nil {
		pw, _ := p.User.Password()
		h.Set("Proxy-Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(p.User.Username()+":"+pw)))
	}
	// The request-target of an opaque URL is written as is: host:port.
	req := &http.Request{Method: http.MethodConnect, URL: &url.URL{Opaque: addr}, Host: ws.HostHeader(u), Header: h}
	out, err := ws.AppendRequest(nil, req)
	if err != nil {
		return nil, err
	}
	if _, err := nc.Write(out); err != nil {
		return nil, err
	}
	lim := o.Options.Limits
	resp, rest, err := readHead(nc, lim, func(b []byte) (*http.Response, int, error) {
		return ws.ParseResponse(b, lim, true)
	})
	if err != nil {
		if ctx.Err() != nil || isTimeout(err) {
			return nil, err
		}
		return nil, &ProxyError{Kind: ErrProxyMessage, Msg: "did not receive a valid HTTP response from proxy", Err: err}
	}
	if resp.StatusCode/100 != 2 {
		kind := ErrProxyRefused
		if resp.StatusCode == http.StatusProxyAuthRequired {
			kind = ErrProxyAuth
		}
		return nil, &ProxyError{Kind: kind, StatusCode: resp.StatusCode, Response: resp,
			Msg: "proxy rejected connection: HTTP " + strconv.Itoa(resp.StatusCode)}
	}
	if len(rest) > 0 {
		return &prefixConn{Conn: nc, prefix: rest}, nil
	}
	return nc, nil
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

// resolveHost resolves host locally, for socks5:// and socks4:// proxies,
// preferring IPv4 (SOCKS4 has nothing else).
func resolveHost(ctx context.Context, host string, v4only bool) (net.IP, error) {
	if ip := net.ParseIP(host); ip != nil {
		if v4only && ip.To4() == nil {
			return nil, fmt.Errorf("SOCKS4 can't reach the IPv6 address %s", host)
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
		return nil, fmt.Errorf("no IPv4 address for %s", host)
	}
	return addrs[0].IP, nil
}

// socks5Connect runs SOCKS5 (RFC 1928, with RFC 1929 user/password) over
// nc with golang.org/x/net/proxy. socks5h sends the host name; socks5
// resolves it here first.
func socks5Connect(ctx context.Context, nc net.Conn, p *url.URL, addr string) (net.Conn, error) {
	host, port, _ := net.SplitHostPort(addr)
	if p.Scheme == "socks5" {
		ip, err := resolveHost(ctx, host, false)
		if err != nil {
			return nil, err
		}
		addr = net.JoinHostPort(ip.String(), port)
	}
	var auth *proxy.Auth
	if p.User != nil {
		pw, _ := p.User.Password()
		auth = &proxy.Auth{User: p.User.Username(), Password: pw}
	}
	d, err := proxy.SOCKS5("tcp", proxyAddr(p), auth, nil)
	if err != nil {
		return nil, err
	}
	dwc, ok := d.(interface {
		DialWithConn(ctx context.Context, c net.Conn, network, address string) (net.Addr, error)
	})
	if !ok {
		return nil, errors.New("golang.org/x/net/proxy: SOCKS5 dialer without DialWithConn")
	}
	if _, err := dwc.DialWithConn(ctx, nc, "tcp", addr); err != nil {
		if ctx.Err() != nil || isTimeout(err) {
			return nil, err
		}
		return nil, classifySOCKS5(err)
	}
	return nc, nil
}

// classifySOCKS5 turns an error of golang.org/x/net/internal/socks, which
// has no typed errors, into a *ProxyError of the right kind.
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
		return &ProxyError{Kind: ErrProxyAuth, Msg: "SOCKS5 authentication failed", Err: err}
	case strings.HasPrefix(msg, "unknown error "):
		return &ProxyError{Kind: ErrProxyRefused, Msg: "SOCKS5 proxy refused: " + strings.TrimPrefix(msg, "unknown error "), Err: err}
	case errors.Is(inner, io.EOF) || errors.Is(inner, io.ErrUnexpectedEOF):
		return &ProxyError{Kind: ErrProxyMessage, Msg: "SOCKS5 proxy closed the connection", Err: err}
	case strings.Contains(msg, "unexpected protocol version") || strings.Contains(msg, "address type") || strings.Contains(msg, "reserved field"):
		return &ProxyError{Kind: ErrProxyMessage, Msg: "invalid SOCKS5 reply", Err: err}
	}
	return &ProxyError{Msg: "failed to connect to SOCKS proxy", Err: err}
}

// socks4Connect runs SOCKS4 (socks4: the address is resolved here) or
// SOCKS4a (socks4a: the proxy resolves the host name). The user name of
// the proxy URL is the user id.
func socks4Connect(ctx context.Context, nc net.Conn, p *url.URL, addr string) (net.Conn, error) {
	stop := withDeadline(ctx, nc)
	defer stop()
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
		rip, err := resolveHost(ctx, host, true)
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
		if ctx.Err() != nil || isTimeout(err) {
			return nil, err
		}
		return nil, &ProxyError{Kind: ErrProxyMessage, Msg: "SOCKS4 proxy closed the connection", Err: err}
	}
	if r[0] != 0 {
		return nil, &ProxyError{Kind: ErrProxyMessage, Msg: fmt.Sprintf("invalid SOCKS4 reply version %d", r[0])}
	}
	switch r[1] {
	case 90:
		return nc, nil
	case 91:
		return nil, &ProxyError{Kind: ErrProxyRefused, Msg: "SOCKS4 proxy refused the request"}
	case 92, 93:
		return nil, &ProxyError{Kind: ErrProxyAuth, Msg: fmt.Sprintf("SOCKS4 proxy refused the user id (code %d)", r[1])}
	}
	return nil, &ProxyError{Kind: ErrProxyMessage, Msg: fmt.Sprintf("invalid SOCKS4 reply code %d", r[1])}
}
