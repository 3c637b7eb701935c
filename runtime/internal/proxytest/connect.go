package proxytest

import (
	"bufio"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// ConnectProxy is an HTTP (or, with TLS, HTTPS) CONNECT proxy on loopback.
type ConnectProxy struct {
	*Relay
	cfg    ConnectConfig
	scheme string

	mu       sync.Mutex
	requests []*http.Request
}

// ConnectConfig configures a ConnectProxy.
type ConnectConfig struct {
	// TLS makes it an https:// proxy, with Certificate.
	TLS bool
	// User and Pass, when set, are required in Proxy-Authorization.
	User, Pass string
	// Routes maps requested host:port to the address to dial (fake host
	// names for tests of environment-based selection).
	Routes map[string]string
	// Reply, when set, is sent instead of a real answer.
	Reply string
	// OKReply, when set, replaces the 200 reply of an open tunnel.
	OKReply string
}

// StartConnect runs a CONNECT proxy until the test ends.
func StartConnect(t testing.TB, cfg ConnectConfig) *ConnectProxy {
	t.Helper()
	p := &ConnectProxy{cfg: cfg, scheme: "http"}
	if cfg.TLS {
		p.scheme = "https"
	}
	p.Relay = StartRelay(t, cfg.TLS, p.serve)
	return p
}

// URL returns the proxy's URL, with userinfo ("user:password") when given.
func (p *ConnectProxy) URL(userinfo string) string {
	if userinfo != "" {
		userinfo += "@"
	}
	return p.scheme + "://" + userinfo + p.Addr()
}

// Seen returns the requests received so far; the Host header is in
// Header.
func (p *ConnectProxy) Seen() []*http.Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*http.Request(nil), p.requests...)
}

func (p *ConnectProxy) serve(c net.Conn) {
	br := bufio.NewReader(c)
	// Keep the raw head: http.ReadRequest drops the Host header of a
	// CONNECT. The test reads it back from Header.
	var head strings.Builder
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		head.WriteString(line)
		if line == "\r\n" || line == "\n" {
			break
		}
	}
	req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(head.String())))
	if err != nil {
		return
	}
	for _, line := range strings.Split(head.String(), "\r\n") {
		if v, ok := strings.CutPrefix(line, "Host: "); ok {
			req.Header.Set("Host", v)
		}
	}
	p.mu.Lock()
	p.requests = append(p.requests, req)
	p.mu.Unlock()
	if p.cfg.Reply != "" {
		_, _ = io.WriteString(c, p.cfg.Reply)
		return
	}
	if req.Method != http.MethodConnect {
		_, _ = io.WriteString(c, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
		return
	}
	if p.cfg.User != "" {
		want := "Basic " + base64.StdEncoding.EncodeToString([]byte(p.cfg.User+":"+p.cfg.Pass))
		if req.Header.Get("Proxy-Authorization") != want {
			_, _ = io.WriteString(c, "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\n\r\n")
			return
		}
	}
	target := req.RequestURI
	if to, ok := p.cfg.Routes[target]; ok {
		target = to
	}
	up, err := net.Dial("tcp", target)
	if err != nil {
		_, _ = io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
		return
	}
	ok := "HTTP/1.1 200 Connection established\r\n\r\n"
	if p.cfg.OKReply != "" {
		ok = p.cfg.OKReply
	}
	if _, err := io.WriteString(c, ok); err != nil {
		_ = up.Close()
		return
	}
	p.pipe(c, br, up)
}
