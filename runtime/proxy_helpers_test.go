package runtime

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/binary"
	"io"
	"math/big"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// ------------------------------------------------------------------ TLS

var (
	testCertOnce sync.Once
	testCertPair tls.Certificate
	testCertPool *x509.CertPool
)

// testTLS returns a self-signed certificate for 127.0.0.1, localhost and
// *.test, and a pool that trusts it.
func testTLS(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	testCertOnce.Do(func() {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber:          big.NewInt(1),
			Subject:               pkix.Name{CommonName: "tether test"},
			NotBefore:             time.Now().Add(-time.Hour),
			NotAfter:              time.Now().Add(24 * time.Hour),
			KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
			ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			BasicConstraintsValid: true,
			IsCA:                  true,
			DNSNames:              []string{"localhost", "*.test", "ws.example", "xn--e1afmkfd.xn--80akhbyknj4f"},
			IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			panic(err)
		}
		cert, _ := x509.ParseCertificate(der)
		testCertPair = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}
		testCertPool = x509.NewCertPool()
		testCertPool.AddCert(cert)
	})
	return testCertPair, testCertPool
}

// ------------------------------------------------------------ relays

// relay is a loopback listener whose connections are served by handle in
// tracked goroutines; Cleanup closes everything and waits.
type relay struct {
	ln     net.Listener
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

func startRelay(t *testing.T, useTLS bool, handle func(c net.Conn)) *relay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if useTLS {
		cert, _ := testTLS(t)
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}})
	}
	r := &relay{ln: ln, conns: map[net.Conn]struct{}{}}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if !r.track(c) {
				_ = c.Close()
				return
			}
			r.wg.Add(1)
			go func() {
				defer r.wg.Done()
				defer r.untrack(c)
				handle(c)
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		r.mu.Lock()
		r.closed = true
		for c := range r.conns {
			_ = c.Close()
		}
		r.mu.Unlock()
		r.wg.Wait()
	})
	return r
}

func (r *relay) track(c net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	r.conns[c] = struct{}{}
	return true
}

func (r *relay) untrack(c net.Conn) {
	_ = c.Close()
	r.mu.Lock()
	delete(r.conns, c)
	r.mu.Unlock()
}

func (r *relay) addr() string { return r.ln.Addr().String() }

// pipe copies between a client (read through br) and up until either
// ends, then closes both. up is tracked so that Cleanup closes it.
func (r *relay) pipe(c net.Conn, br io.Reader, up net.Conn) {
	if !r.track(up) {
		_ = up.Close()
		return
	}
	defer r.untrack(up)
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(up, br)
		_ = up.Close()
		_ = c.Close()
		close(done)
	}()
	_, _ = io.Copy(c, up)
	_ = up.Close()
	_ = c.Close()
	<-done
}

// ------------------------------------------------------ HTTP CONNECT proxy

// connectProxy is an HTTP (or, with TLS, HTTPS) CONNECT proxy on loopback.
type connectProxy struct {
	*relay
	scheme string
	// user and pass, when set, are required in Proxy-Authorization.
	user, pass string
	// routes maps requested host:port to the address to dial (fake host
	// names for tests of environment-based selection).
	routes map[string]string
	// reply, when set, is sent instead of a real answer.
	reply string
	// okReply, when set, replaces the 200 reply of an open tunnel.
	okReply string

	mu       sync.Mutex
	requests []*http.Request
}

type connectProxyConfig struct {
	tls        bool
	user, pass string
	routes     map[string]string
	reply      string
	okReply    string
}

func startConnectProxy(t *testing.T, cfg connectProxyConfig) *connectProxy {
	p := &connectProxy{scheme: "http", user: cfg.user, pass: cfg.pass, routes: cfg.routes, reply: cfg.reply, okReply: cfg.okReply}
	if cfg.tls {
		p.scheme = "https"
	}
	p.relay = startRelay(t, cfg.tls, p.serve)
	return p
}

// url returns the proxy's URL, with user:password when given.
func (p *connectProxy) url(userinfo string) string {
	if userinfo != "" {
		userinfo += "@"
	}
	return p.scheme + "://" + userinfo + p.addr()
}

func (p *connectProxy) seen() []*http.Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*http.Request(nil), p.requests...)
}

func (p *connectProxy) serve(c net.Conn) {
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
	if p.reply != "" {
		_, _ = io.WriteString(c, p.reply)
		return
	}
	if req.Method != http.MethodConnect {
		_, _ = io.WriteString(c, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
		return
	}
	if p.user != "" {
		want := "Basic " + base64.StdEncoding.EncodeToString([]byte(p.user+":"+p.pass))
		if req.Header.Get("Proxy-Authorization") != want {
			_, _ = io.WriteString(c, "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\n\r\n")
			return
		}
	}
	target := req.RequestURI
	if to, ok := p.routes[target]; ok {
		target = to
	}
	up, err := net.Dial("tcp", target)
	if err != nil {
		_, _ = io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
		return
	}
	ok := "HTTP/1.1 200 Connection established\r\n\r\n"
	if p.okReply != "" {
		ok = p.okReply
	}
	if _, err := io.WriteString(c, ok); err != nil {
		_ = up.Close()
		return
	}
	p.pipe(c, br, up)
}

// ------------------------------------------------------------ SOCKS proxy

// socksProxy is a SOCKS5 (RFC 1928/1929) and SOCKS4/4a proxy on loopback.
type socksProxy struct {
	*relay
	user, pass string            // SOCKS5: required user/password when set
	userID     string            // SOCKS4: required user id when set
	routes     map[string]string // host:port → address to dial
	reply      []byte            // sent instead of a real answer when set
	refuse     byte              // SOCKS5 reply code to refuse with, when set

	mu      sync.Mutex
	targets []socksTarget
}

// socksTarget is what a client asked for.
type socksTarget struct {
	version  int
	addrType string // "ipv4", "ipv6" or "domain"
	addr     string // host:port as sent
	userID   string // SOCKS4
}

func startSOCKSProxy(t *testing.T, p *socksProxy) *socksProxy {
	p.relay = startRelay(t, false, p.serve)
	return p
}

func (p *socksProxy) seen() []socksTarget {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]socksTarget(nil), p.targets...)
}

func (p *socksProxy) record(st socksTarget) {
	p.mu.Lock()
	p.targets = append(p.targets, st)
	p.mu.Unlock()
}

func (p *socksProxy) dial(addr string) (net.Conn, error) {
	if to, ok := p.routes[addr]; ok {
		addr = to
	}
	return net.Dial("tcp", addr)
}

func (p *socksProxy) serve(c net.Conn) {
	br := bufio.NewReader(c)
	v, err := br.ReadByte()
	if err != nil {
		return
	}
	if p.reply != nil {
		_, _ = c.Write(p.reply)
		return
	}
	switch v {
	case 5:
		p.serve5(c, br)
	case 4:
		p.serve4(c, br)
	}
}

func (p *socksProxy) serve5(c net.Conn, br *bufio.Reader) {
	n, err := br.ReadByte()
	if err != nil {
		return
	}
	methods := make([]byte, n)
	if _, err := io.ReadFull(br, methods); err != nil {
		return
	}
	want := byte(0)
	if p.user != "" {
		want = 2
	}
	offered := false
	for _, m := range methods {
		offered = offered || m == want
	}
	if !offered {
		_, _ = c.Write([]byte{5, 0xff})
		return
	}
	_, _ = c.Write([]byte{5, want})
	if want == 2 {
		var h [2]byte
		if _, err := io.ReadFull(br, h[:]); err != nil || h[0] != 1 {
			return
		}
		user := make([]byte, h[1])
		_, _ = io.ReadFull(br, user)
		pl, _ := br.ReadByte()
		pass := make([]byte, pl)
		if _, err := io.ReadFull(br, pass); err != nil {
			return
		}
		if string(user) != p.user || string(pass) != p.pass {
			_, _ = c.Write([]byte{1, 1})
			return
		}
		_, _ = c.Write([]byte{1, 0})
	}
	var req [4]byte
	if _, err := io.ReadFull(br, req[:]); err != nil || req[1] != 1 {
		return
	}
	st := socksTarget{version: 5}
	var host string
	switch req[3] {
	case 1:
		ip := make([]byte, 4)
		_, _ = io.ReadFull(br, ip)
		st.addrType, host = "ipv4", net.IP(ip).String()
	case 4:
		ip := make([]byte, 16)
		_, _ = io.ReadFull(br, ip)
		st.addrType, host = "ipv6", net.IP(ip).String()
	case 3:
		l, _ := br.ReadByte()
		name := make([]byte, l)
		_, _ = io.ReadFull(br, name)
		st.addrType, host = "domain", string(name)
	default:
		return
	}
	var port [2]byte
	if _, err := io.ReadFull(br, port[:]); err != nil {
		return
	}
	st.addr = net.JoinHostPort(host, strconv.Itoa(int(binary.BigEndian.Uint16(port[:]))))
	p.record(st)
	if p.refuse != 0 {
		_, _ = c.Write([]byte{5, p.refuse, 0, 1, 0, 0, 0, 0, 0, 0})
		return
	}
	up, err := p.dial(st.addr)
	if err != nil {
		_, _ = c.Write([]byte{5, 5, 0, 1, 0, 0, 0, 0, 0, 0}) // connection refused
		return
	}
	if _, err := c.Write([]byte{5, 0, 0, 1, 127, 0, 0, 1, 0, 0}); err != nil {
		_ = up.Close()
		return
	}
	p.pipe(c, br, up)
}

func (p *socksProxy) serve4(c net.Conn, br *bufio.Reader) {
	var req [7]byte // CD, DSTPORT, DSTIP
	if _, err := io.ReadFull(br, req[:]); err != nil || req[0] != 1 {
		return
	}
	uid, err := br.ReadString(0)
	if err != nil {
		return
	}
	st := socksTarget{version: 4, userID: uid[:len(uid)-1], addrType: "ipv4"}
	port := strconv.Itoa(int(binary.BigEndian.Uint16(req[1:3])))
	ip := net.IP(req[3:7])
	host := ip.String()
	if ip[0] == 0 && ip[1] == 0 && ip[2] == 0 && ip[3] != 0 { // SOCKS4a
		name, err := br.ReadString(0)
		if err != nil {
			return
		}
		st.addrType, host = "domain", name[:len(name)-1]
	}
	st.addr = net.JoinHostPort(host, port)
	p.record(st)
	if p.userID != "" && st.userID != p.userID {
		_, _ = c.Write([]byte{0, 93, 0, 0, 0, 0, 0, 0})
		return
	}
	up, err := p.dial(st.addr)
	if err != nil {
		_, _ = c.Write([]byte{0, 91, 0, 0, 0, 0, 0, 0})
		return
	}
	if _, err := c.Write([]byte{0, 90, 0, 0, 0, 0, 0, 0}); err != nil {
		_ = up.Close()
		return
	}
	p.pipe(c, br, up)
}

// ------------------------------------------------------------ echo servers

// startEchoServer serves echoHandler (with so) and returns its host:port.
func startEchoServer(t *testing.T, so ServerOptions) string {
	t.Helper()
	u := startServer(t, &Server{Handler: echoHandler, Options: so})
	return u[len("ws://") : len(u)-1]
}

// startTLSEchoServer serves echoHandler over TLS and returns host:port.
func startTLSEchoServer(t *testing.T) string {
	t.Helper()
	cert, _ := testTLS(t)
	u := startServer(t, &Server{Handler: echoHandler, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}})
	return u[len("ws://") : len(u)-1]
}

// echoOnce sends text on c and checks that it comes back.
func echoOnce(t *testing.T, c *Conn, text string) {
	t.Helper()
	if err := c.SendText(testCtx(t), text); err != nil {
		t.Fatalf("Send: %v", err)
	}
	m := recv(t, c)
	if string(m.Data) != text {
		t.Fatalf("echo = %q, want %q", m.Data, text)
	}
}

// dialVia dials through a DialContext that maps fake host names to real
// addresses (for tests that must not depend on DNS).
func dialVia(routes map[string]string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if to, ok := routes[addr]; ok {
			addr = to
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
}
