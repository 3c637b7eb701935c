package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tetherws/tether/runtime/internal/netctx"
	"github.com/tetherws/tether/runtime/internal/proxytest"
)

// echoServer runs a TCP echo server on loopback and returns its host:port.
func echoServer(t *testing.T) string {
	t.Helper()
	return proxytest.StartRelay(t, false, func(c net.Conn) { _, _ = io.Copy(c, c) }).Addr()
}

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// dial opens a tunnel to target through the proxy at proxyURL.
func dial(t *testing.T, d *Dialer, proxyURL, target string) (net.Conn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nc, err := d.Dial(ctx, mustParse(t, proxyURL), mustParse(t, target))
	if err == nil {
		t.Cleanup(func() { _ = nc.Close() })
	}
	return nc, err
}

// echoOnce writes text on the tunnel nc and checks that it comes back.
func echoOnce(t *testing.T, nc net.Conn, text string) {
	t.Helper()
	if _, err := io.WriteString(nc, text); err != nil {
		t.Fatalf("Write: %v", err)
	}
	buf := make([]byte, len(text))
	if _, err := io.ReadFull(nc, buf); err != nil || string(buf) != text {
		t.Fatalf("echo = %q, %v; want %q", buf, err, text)
	}
}

func TestDialThroughHTTPConnectWithBasicProxyAuthorization(t *testing.T) {
	addr := echoServer(t)
	p := proxytest.StartConnect(t, proxytest.ConnectConfig{User: "alice", Pass: "s3cr@t"})
	nc, err := dial(t, &Dialer{UserAgent: "probe/1"}, p.URL("alice:s3cr%40t"), "ws://"+addr+"/")
	if err != nil {
		t.Fatal(err)
	}
	echoOnce(t, nc, "through the tunnel")
	reqs := p.Seen()
	if len(reqs) != 1 {
		t.Fatalf("proxy saw %d requests", len(reqs))
	}
	r := reqs[0]
	if r.Method != "CONNECT" || r.RequestURI != addr || r.Header.Get("Host") != addr || r.Header.Get("User-Agent") != "probe/1" {
		t.Errorf("CONNECT request = %s %s, Host %s, User-Agent %q; want CONNECT %s, probe/1", r.Method, r.RequestURI, r.Header.Get("Host"), r.Header.Get("User-Agent"), addr)
	}
}

func TestConnectAlwaysNamesThePortButHostOmitsTheDefault(t *testing.T) {
	addr := echoServer(t)
	for _, tc := range []struct{ target, connect, host string }{
		{"ws://ws.example/", "ws.example:80", "ws.example"},
		{"wss://ws.example/", "ws.example:443", "ws.example"},
		{"ws://ws.example:443/", "ws.example:443", "ws.example:443"},
		{"https://ws.example/", "ws.example:443", "ws.example"},
	} {
		p := proxytest.StartConnect(t, proxytest.ConnectConfig{Routes: map[string]string{tc.connect: addr}})
		nc, err := dial(t, &Dialer{}, p.URL(""), tc.target)
		if err != nil {
			t.Fatalf("%s: %v", tc.target, err)
		}
		echoOnce(t, nc, "x")
		r := p.Seen()[0]
		if r.RequestURI != tc.connect || r.Header.Get("Host") != tc.host || r.Header.Get("User-Agent") != "" || r.Header.Get("Proxy-Authorization") != "" {
			t.Errorf("%s: CONNECT %s, Host %q, User-Agent %q, Proxy-Authorization %q; want CONNECT %s, Host %q and no others",
				tc.target, r.RequestURI, r.Header.Get("Host"), r.Header.Get("User-Agent"), r.Header.Get("Proxy-Authorization"), tc.connect, tc.host)
		}
	}
}

func TestHTTPProxyMayAnswerHTTP10AndAny2xx(t *testing.T) {
	addr := echoServer(t)
	for _, ok := range []string{"HTTP/1.0 200 OK\r\n\r\n", "HTTP/1.1 204 No Content\r\nX-Proxy: yes\r\n\r\n"} {
		p := proxytest.StartConnect(t, proxytest.ConnectConfig{OKReply: ok})
		nc, err := dial(t, &Dialer{}, p.URL(""), "ws://"+addr+"/")
		if err != nil {
			t.Fatalf("%q: %v", ok, err)
		}
		echoOnce(t, nc, "ok")
	}
}

func TestBytesThatFollowTheProxysReplyAreReadFirst(t *testing.T) {
	addr := echoServer(t)
	p := proxytest.StartConnect(t, proxytest.ConnectConfig{OKReply: "HTTP/1.1 200 OK\r\n\r\nearly"})
	nc, err := dial(t, &Dialer{}, p.URL(""), "ws://"+addr+"/")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len("early"))
	if _, err := io.ReadFull(nc, buf); err != nil || string(buf) != "early" {
		t.Fatalf("first read %q, %v; want the bytes after the reply", buf, err)
	}
	echoOnce(t, nc, "then the target")
}

func TestHTTPSProxy(t *testing.T) {
	addr := echoServer(t)
	_, pool := proxytest.Certificate()
	p := proxytest.StartConnect(t, proxytest.ConnectConfig{TLS: true})
	nc, err := dial(t, &Dialer{TLSConfig: &tls.Config{RootCAs: pool}}, p.URL(""), "ws://"+addr+"/")
	if err != nil {
		t.Fatal(err)
	}
	echoOnce(t, nc, "over TLS to the proxy")
	if _, ok := nc.(*tls.Conn); !ok {
		t.Fatalf("tunnel is %T, want the proxy's *tls.Conn", nc)
	}
	// Without the pool the proxy's certificate is refused: a network-level
	// failure naming the proxy, not an *Error.
	_, err = dial(t, &Dialer{}, p.URL(""), "ws://"+addr+"/")
	var ce *tls.CertificateVerificationError
	if !errors.As(err, &ce) || errors.Is(err, ErrFailed) || !strings.Contains(err.Error(), "TLS handshake with proxy https://") {
		t.Fatalf("untrusted proxy: err = %v", err)
	}
}

func TestHTTPProxyFailuresGiveTypedErrors(t *testing.T) {
	addr := echoServer(t)
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedAddr := closed.Addr().String()
	_ = closed.Close()

	for _, tc := range []struct {
		name     string
		cfg      proxytest.ConnectConfig
		userinfo string
		target   string
		kind     error
		status   int
		text     string
	}{
		{"no credentials", proxytest.ConnectConfig{User: "u", Pass: "right"}, "", addr, ErrAuth, 407, "HTTP 407"},
		{"wrong password", proxytest.ConnectConfig{User: "u", Pass: "right"}, "u:wrong", addr, ErrAuth, 407, "HTTP 407"},
		{"forbidden", proxytest.ConnectConfig{Reply: "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"}, "", addr, ErrRefused, 403, "HTTP 403"},
		{"unreachable target", proxytest.ConnectConfig{}, "", closedAddr, ErrRefused, 502, "HTTP 502"},
		{"not HTTP", proxytest.ConnectConfig{Reply: "SSH-2.0-OpenSSH_9.6\r\n\r\n"}, "", addr, ErrInvalidReply, 0, "valid HTTP response"},
		{"closed mid-reply", proxytest.ConnectConfig{Reply: "HTTP/1.1 200 Conn"}, "", addr, ErrInvalidReply, 0, "valid HTTP response"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := proxytest.StartConnect(t, tc.cfg)
			_, err := dial(t, &Dialer{}, p.URL(tc.userinfo), "ws://"+tc.target+"/")
			var pe *Error
			if !errors.Is(err, ErrFailed) || !errors.Is(err, tc.kind) || !errors.As(err, &pe) {
				t.Fatalf("err = %v, want an *Error matching %v", err, tc.kind)
			}
			if pe.StatusCode != tc.status || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("StatusCode %d, err %q; want %d and %q", pe.StatusCode, err, tc.status, tc.text)
			}
			if pe.Proxy != mustParse(t, p.URL(tc.userinfo)).Redacted() || !strings.HasPrefix(err.Error(), "proxy: "+pe.Proxy+": ") {
				t.Fatalf("Proxy %q in %q, want the redacted proxy URL", pe.Proxy, err)
			}
			if strings.Contains(err.Error(), "wrong") {
				t.Fatalf("the proxy password leaks in %q", err)
			}
		})
	}
}

func TestOversizedReplyHeadIsAnInvalidReply(t *testing.T) {
	addr := echoServer(t)
	p := proxytest.StartConnect(t, proxytest.ConnectConfig{Reply: "HTTP/1.1 200 OK\r\nX-Pad: " + strings.Repeat("p", 64<<10) + "\r\n\r\n"})
	_, err := dial(t, &Dialer{}, p.URL(""), "ws://"+addr+"/")
	if !errors.Is(err, ErrInvalidReply) {
		t.Fatalf("err = %v, want ErrInvalidReply", err)
	}
}

func TestUnreachableProxyIsANetworkErrorNamingTheProxy(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	paddr := ln.Addr().String()
	_ = ln.Close()
	_, err := dial(t, &Dialer{}, "http://u:secret@"+paddr, "ws://ws.example/")
	var oe *net.OpError
	if !errors.As(err, &oe) || errors.Is(err, ErrFailed) || !strings.Contains(err.Error(), "proxy http://u:xxxxx@"+paddr) || strings.Contains(err.Error(), "secret") {
		t.Fatalf("err = %v", err)
	}
}

func TestProxyThatNeverAnswersIsBoundByTheContext(t *testing.T) {
	r := proxytest.StartRelay(t, false, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	for _, scheme := range []string{"http", "socks4", "socks5h"} {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		_, err := (&Dialer{}).Dial(ctx, mustParse(t, scheme+"://"+r.Addr()), mustParse(t, "ws://127.0.0.1:9/"))
		cancel()
		if !netctx.IsTimeout(err) || errors.Is(err, ErrFailed) {
			t.Errorf("%s: err = %v, want a timeout", scheme, err)
		}
	}
}

func TestDialerUsesDialContextForTheProxy(t *testing.T) {
	addr := echoServer(t)
	p := proxytest.StartConnect(t, proxytest.ConnectConfig{})
	var dialed []string
	d := &Dialer{DialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
		dialed = append(dialed, a)
		var nd net.Dialer
		return nd.DialContext(ctx, network, p.Addr())
	}}
	nc, err := dial(t, d, "http://proxy.test:3128", "ws://"+addr+"/")
	if err != nil {
		t.Fatal(err)
	}
	echoOnce(t, nc, "x")
	if len(dialed) != 1 || dialed[0] != "proxy.test:3128" {
		t.Fatalf("DialContext dialed %v, want [proxy.test:3128]", dialed)
	}
}

func TestDialChecksTheProxyURL(t *testing.T) {
	_, err := dial(t, &Dialer{}, "ftp://u:hunter2@proxy:21", "ws://ws.example/")
	if !errors.Is(err, ErrInvalidURL) || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("err = %v, want ErrInvalidURL without the password", err)
	}
}

func TestDialThroughSOCKS5(t *testing.T) {
	addr := echoServer(t)
	_, port, _ := net.SplitHostPort(addr)
	for _, tc := range []struct {
		name, proxyUser, target, wantType, wantAddr string
		scheme                                      string
	}{
		// socks5h: the proxy resolves the name.
		{"socks5h with user/password", "bob:pw", "ws.example:" + port, "domain", "ws.example:" + port, "socks5h"},
		// socks5: the client resolves the name.
		{"socks5 resolves locally", "bob:pw", "localhost:" + port, "ipv4", "127.0.0.1:" + port, "socks5"},
		{"socks5 to an IP", "bob:pw", addr, "ipv4", addr, "socks5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := proxytest.StartSOCKS(t, &proxytest.SOCKSProxy{User: "bob", Pass: "pw", Routes: map[string]string{"ws.example:" + port: addr}})
			nc, err := dial(t, &Dialer{}, tc.scheme+"://"+tc.proxyUser+"@"+p.Addr(), "ws://"+tc.target+"/")
			if err != nil {
				t.Fatal(err)
			}
			echoOnce(t, nc, "socks")
			got := p.Seen()
			if len(got) != 1 || got[0].Version != 5 || got[0].AddrType != tc.wantType || got[0].Addr != tc.wantAddr {
				t.Fatalf("proxy saw %+v, want %s %s", got, tc.wantType, tc.wantAddr)
			}
		})
	}
}

func TestSOCKS5FailuresGiveTypedErrors(t *testing.T) {
	addr := echoServer(t)
	for _, tc := range []struct {
		name     string
		proxy    *proxytest.SOCKSProxy
		userinfo string
		kind     error
		text     string
	}{
		{"wrong password", &proxytest.SOCKSProxy{User: "bob", Pass: "pw"}, "bob:nope@", ErrAuth, "authentication"},
		{"credentials required", &proxytest.SOCKSProxy{User: "bob", Pass: "pw"}, "", ErrAuth, "authentication"},
		{"refused by rule", &proxytest.SOCKSProxy{Refuse: 2}, "", ErrRefused, "not allowed"},
		{"not SOCKS", &proxytest.SOCKSProxy{Reply: []byte("HTTP/1.1 400 Bad Request\r\n\r\n")}, "", ErrInvalidReply, "SOCKS5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := proxytest.StartSOCKS(t, tc.proxy)
			_, err := dial(t, &Dialer{}, "socks5h://"+tc.userinfo+p.Addr(), "ws://"+addr+"/")
			if !errors.Is(err, ErrFailed) || !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("err = %v, want %v with %q", err, tc.kind, tc.text)
			}
			if strings.Contains(err.Error(), "nope") {
				t.Fatalf("the proxy password leaks in %q", err)
			}
		})
	}
}

func TestDialThroughSOCKS4And4a(t *testing.T) {
	addr := echoServer(t)
	_, port, _ := net.SplitHostPort(addr)
	routes := map[string]string{"ws.example:" + port: addr}

	p := proxytest.StartSOCKS(t, &proxytest.SOCKSProxy{UserID: "carol", Routes: routes})
	nc, err := dial(t, &Dialer{}, "socks4a://carol@"+p.Addr(), "ws://ws.example:"+port+"/")
	if err != nil {
		t.Fatal(err)
	}
	echoOnce(t, nc, "4a")
	nc, err = dial(t, &Dialer{}, "socks4://carol@"+p.Addr(), "ws://localhost:"+port+"/")
	if err != nil {
		t.Fatal(err)
	}
	echoOnce(t, nc, "4")
	got := p.Seen()
	want := []proxytest.SOCKSTarget{
		{Version: 4, AddrType: "domain", Addr: "ws.example:" + port, UserID: "carol"},
		{Version: 4, AddrType: "ipv4", Addr: "127.0.0.1:" + port, UserID: "carol"},
	}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("proxy saw %+v, want %+v", got, want)
	}

	_, err = dial(t, &Dialer{}, "socks4://mallory@"+p.Addr(), "ws://"+addr+"/")
	if !errors.Is(err, ErrAuth) {
		t.Fatalf("wrong user id: err = %v", err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closedAddr := ln.Addr().String()
	_ = ln.Close()
	_, err = dial(t, &Dialer{}, "socks4://carol@"+p.Addr(), "ws://"+closedAddr+"/")
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("unreachable target: err = %v", err)
	}
}
