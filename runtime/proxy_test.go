package runtime

import (
	"crypto/tls"
	"errors"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tetherws/tether/ws"
)

func TestDialThroughHTTPConnectProxyWithBasicProxyAuthorization(t *testing.T) {
	addr := startEchoServer(t, ServerOptions{})
	p := startConnectProxy(t, connectProxyConfig{user: "alice", pass: "s3cr@t"})
	c := dial(t, "ws://"+addr+"/", &DialOptions{Proxy: ProxyURL(p.url("alice:s3cr%40t"))})
	echoOnce(t, c, "through the tunnel")

	reqs := p.seen()
	if len(reqs) != 1 {
		t.Fatalf("proxy saw %d requests", len(reqs))
	}
	r := reqs[0]
	if r.Method != "CONNECT" || r.RequestURI != addr || r.Header.Get("Host") != addr {
		t.Errorf("CONNECT request = %s %s, Host %s; want CONNECT %s", r.Method, r.RequestURI, r.Header.Get("Host"), addr)
	}
	if got := r.Header.Get("User-Agent"); got != ws.DefaultUserAgent {
		t.Errorf("User-Agent = %q", got)
	}
}

func TestConnectRequestAlwaysNamesThePortButHostOmitsTheDefault(t *testing.T) {
	addr := startEchoServer(t, ServerOptions{})
	p := startConnectProxy(t, connectProxyConfig{routes: map[string]string{"ws.example:80": addr}})
	c := dial(t, "ws://ws.example/", &DialOptions{Proxy: ProxyURL(p.url("")), UserAgent: "probe/1"})
	echoOnce(t, c, "x")
	r := p.seen()[0]
	if r.RequestURI != "ws.example:80" || r.Header.Get("Host") != "ws.example" || r.Header.Get("User-Agent") != "probe/1" ||
		r.Header.Get("Proxy-Authorization") != "" {
		t.Errorf("CONNECT %s, Host %q, User-Agent %q, Proxy-Authorization %q", r.RequestURI, r.Header.Get("Host"), r.Header.Get("User-Agent"), r.Header.Get("Proxy-Authorization"))
	}
}

func TestHTTPProxyMayAnswerHTTP10AndAny2xx(t *testing.T) {
	addr := startEchoServer(t, ServerOptions{})
	for _, ok := range []string{"HTTP/1.0 200 OK\r\n\r\n", "HTTP/1.1 204 No Content\r\nX-Proxy: yes\r\n\r\n"} {
		p := startConnectProxy(t, connectProxyConfig{okReply: ok})
		c := dial(t, "ws://"+addr+"/", &DialOptions{Proxy: ProxyURL(p.url(""))})
		echoOnce(t, c, "ok")
	}
}

func TestProxyFuncErrorsAreInvalidProxy(t *testing.T) {
	boom := errors.New("no proxy configuration")
	_, _, err := Dial(testCtx(t), "ws://ws.example/", &DialOptions{Proxy: func(*url.URL) (*url.URL, error) { return nil, boom }})
	if !errors.Is(err, ErrInvalidProxy) || !errors.Is(err, boom) || !strings.Contains(err.Error(), "ws: proxy: choosing a proxy: no proxy configuration") {
		t.Fatalf("err = %v", err)
	}
}

func TestWSSThroughHTTPSProxyIsTLSInsideTLS(t *testing.T) {
	addr := startTLSEchoServer(t)
	_, pool := testTLS(t)
	p := startConnectProxy(t, connectProxyConfig{tls: true, user: "u", pass: "p"})
	c := dial(t, "wss://"+addr+"/", &DialOptions{
		Proxy:          ProxyURL(p.url("u:p")),
		ProxyTLSConfig: &tls.Config{RootCAs: pool},
		TLSConfig:      &tls.Config{RootCAs: pool},
	})
	echoOnce(t, c, "tls in tls")
	outer, ok := c.NetConn().(*tls.Conn)
	if !ok {
		t.Fatalf("NetConn is %T, want *tls.Conn", c.NetConn())
	}
	if inner, ok := outer.NetConn().(*tls.Conn); !ok {
		t.Fatalf("the server TLS runs over %T, want the proxy's *tls.Conn", inner)
	}
	if len(p.seen()) != 1 {
		t.Fatal("the proxy was not used")
	}
}

func TestHTTPProxyFailuresGiveTypedErrors(t *testing.T) {
	addr := startEchoServer(t, ServerOptions{})
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedAddr := closed.Addr().String()
	_ = closed.Close()

	for _, tc := range []struct {
		name     string
		cfg      connectProxyConfig
		userinfo string
		target   string
		kind     error
		status   int
		text     string
	}{
		{"no credentials", connectProxyConfig{user: "u", pass: "right"}, "", addr, ErrProxyAuth, 407, "HTTP 407"},
		{"wrong password", connectProxyConfig{user: "u", pass: "right"}, "u:wrong", addr, ErrProxyAuth, 407, "HTTP 407"},
		{"forbidden", connectProxyConfig{reply: "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"}, "", addr, ErrProxyRefused, 403, "HTTP 403"},
		{"unreachable target", connectProxyConfig{}, "", closedAddr, ErrProxyRefused, 502, "HTTP 502"},
		{"not HTTP", connectProxyConfig{reply: "SSH-2.0-OpenSSH_9.6\r\n\r\n"}, "", addr, ErrProxyMessage, 0, "valid HTTP response"},
		{"closed mid-reply", connectProxyConfig{reply: "HTTP/1.1 200 Conn"}, "", addr, ErrProxyMessage, 0, "valid HTTP response"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startConnectProxy(t, tc.cfg)
			_, _, err := Dial(testCtx(t), "ws://"+tc.target+"/", &DialOptions{Proxy: ProxyURL(p.url(tc.userinfo))})
			var pe *ProxyError
			if !errors.Is(err, ErrProxy) || !errors.Is(err, tc.kind) || !errors.As(err, &pe) {
				t.Fatalf("err = %v, want a *ProxyError matching %v", err, tc.kind)
			}
			if pe.StatusCode != tc.status || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("StatusCode %d, err %q; want %d and %q", pe.StatusCode, err, tc.status, tc.text)
			}
			if strings.Contains(err.Error(), "wrong") {
				t.Fatalf("the proxy password leaks in %q", err)
			}
		})
	}
}

func TestUnreachableProxyIsANetworkErrorNamingTheProxy(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	paddr := ln.Addr().String()
	_ = ln.Close()
	_, _, err := Dial(testCtx(t), "ws://ws.example/", &DialOptions{Proxy: ProxyURL("http://u:secret@" + paddr)})
	var oe *net.OpError
	if !errors.As(err, &oe) || errors.Is(err, ErrProxy) || !strings.Contains(err.Error(), "proxy http://u:xxxxx@"+paddr) {
		t.Fatalf("err = %v", err)
	}
}

func TestProxyThatNeverAnswersIsBoundByOpenTimeout(t *testing.T) {
	r := startRelay(t, false, func(c net.Conn) {
		buf := make([]byte, 512)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	})
	start := time.Now()
	_, _, err := Dial(testCtx(t), "ws://ws.example/", &DialOptions{
		Options: Options{OpenTimeout: 200 * time.Millisecond},
		Proxy:   ProxyURL("http://" + r.addr()),
	})
	if !isTimeout(err) || !strings.Contains(err.Error(), "timed out during opening handshake") || errors.Is(err, ErrProxy) {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Dial took %v", d)
	}
}

func TestDialThroughSOCKS5(t *testing.T) {
	addr := startEchoServer(t, ServerOptions{})
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
			p := startSOCKSProxy(t, &socksProxy{user: "bob", pass: "pw", routes: map[string]string{"ws.example:" + port: addr}})
			c := dial(t, "ws://"+tc.target+"/", &DialOptions{Proxy: ProxyURL(tc.scheme + "://" + tc.proxyUser + "@" + p.addr())})
			echoOnce(t, c, "socks")
			got := p.seen()
			if len(got) != 1 || got[0].version != 5 || got[0].addrType != tc.wantType || got[0].addr != tc.wantAddr {
				t.Fatalf("proxy saw %+v, want %s %s", got, tc.wantType, tc.wantAddr)
			}
		})
	}
}

func TestSOCKS5FailuresGiveTypedErrors(t *testing.T) {
	addr := startEchoServer(t, ServerOptions{})
	for _, tc := range []struct {
		name     string
		proxy    *socksProxy
		userinfo string
		kind     error
		text     string
	}{
		{"wrong password", &socksProxy{user: "bob", pass: "pw"}, "bob:nope@", ErrProxyAuth, "authentication"},
		{"credentials required", &socksProxy{user: "bob", pass: "pw"}, "", ErrProxyAuth, "authentication"},
		{"refused by rule", &socksProxy{refuse: 2}, "", ErrProxyRefused, "not allowed"},
		{"not SOCKS", &socksProxy{reply: []byte("HTTP/1.1 400 Bad Request\r\n\r\n")}, "", ErrProxyMessage, "SOCKS5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startSOCKSProxy(t, tc.proxy)
			_, _, err := Dial(testCtx(t), "ws://"+addr+"/", &DialOptions{Proxy: ProxyURL("socks5h://" + tc.userinfo + p.addr())})
			if !errors.Is(err, ErrProxy) || !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("err = %v, want %v with %q", err, tc.kind, tc.text)
			}
			if strings.Contains(err.Error(), "nope") {
				t.Fatalf("the proxy password leaks in %q", err)
			}
		})
	}
}

func TestDialThroughSOCKS4And4a(t *testing.T) {
	addr := startEchoServer(t, ServerOptions{})
	_, port, _ := net.SplitHostPort(addr)
	routes := map[string]string{"ws.example:" + port: addr}

	p := startSOCKSProxy(t, &socksProxy{userID: "carol", routes: routes})
	c := dial(t, "ws://ws.example:"+port+"/", &DialOptions{Proxy: ProxyURL("socks4a://carol@" + p.addr())})
	echoOnce(t, c, "4a")
	c = dial(t, "ws://localhost:"+port+"/", &DialOptions{Proxy: ProxyURL("socks4://carol@" + p.addr())})
	echoOnce(t, c, "4")
	got := p.seen()
	want := []socksTarget{
		{version: 4, addrType: "domain", addr: "ws.example:" + port, userID: "carol"},
		{version: 4, addrType: "ipv4", addr: "127.0.0.1:" + port, userID: "carol"},
	}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("proxy saw %+v, want %+v", got, want)
	}

	_, _, err := Dial(testCtx(t), "ws://"+addr+"/", &DialOptions{Proxy: ProxyURL("socks4://mallory@" + p.addr())})
	if !errors.Is(err, ErrProxyAuth) {
		t.Fatalf("wrong user id: err = %v", err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closedAddr := ln.Addr().String()
	_ = ln.Close()
	_, _, err = Dial(testCtx(t), "ws://"+closedAddr+"/", &DialOptions{Proxy: ProxyURL("socks4://carol@" + p.addr())})
	if !errors.Is(err, ErrProxyRefused) {
		t.Fatalf("unreachable target: err = %v", err)
	}
}

func TestInvalidProxyURLsAreRefusedBeforeConnecting(t *testing.T) {
	for _, raw := range []string{
		"ftp://proxy:21",
		"http://",
		"http://proxy:3128/path",
		"http://proxy:3128/?q=1",
		"http://proxy:3128/#frag",
		"http://user@proxy:3128",
		"socks5://proxy:99999",
	} {
		_, _, err := Dial(testCtx(t), "ws://ws.example/", &DialOptions{Proxy: ProxyURL(raw)})
		if !errors.Is(err, ErrInvalidProxy) || !errors.Is(err, ErrProxy) {
			t.Errorf("%s: err = %v, want ErrInvalidProxy", raw, err)
		}
	}
	for raw, want := range map[string]string{
		"http://proxy":            "proxy:80",
		"https://proxy":           "proxy:443",
		"socks5h://proxy":         "proxy:1080",
		"socks4a://id@proxy:1081": "proxy:1081",
		"HTTP://PROXY:3128/":      "proxy:3128",
		"http://ПРИМЕР.испытание": "xn--e1afmkfd.xn--80akhbyknj4f:80",
	} {
		u, err := ParseProxyURL(raw)
		if err != nil || proxyAddr(u) != want {
			t.Errorf("ParseProxyURL(%q) = %v, %v; want %s", raw, u, err, want)
		}
	}
}

func TestProxyFromEnvironmentFollowsPythonOrder(t *testing.T) {
	clear := func() {
		for _, k := range []string{"ws_proxy", "wss_proxy", "socks_proxy", "https_proxy", "http_proxy", "all_proxy", "no_proxy", "REQUEST_METHOD"} {
			t.Setenv(k, "")
			t.Setenv(strings.ToUpper(k), "")
		}
	}
	for _, tc := range []struct {
		name   string
		env    map[string]string
		target string
		want   string // "" for direct
	}{
		{"nothing set", nil, "ws://h.test/", ""},
		{"ws_proxy first", map[string]string{"ws_proxy": "http://a:1", "socks_proxy": "b:2", "https_proxy": "http://c:3", "http_proxy": "http://d:4"}, "ws://h.test/", "http://a:1"},
		{"socks before https", map[string]string{"socks_proxy": "b:2", "https_proxy": "http://c:3"}, "ws://h.test/", "socks5h://b:2"},
		{"socks http:// means socks5h", map[string]string{"socks_proxy": "http://b:2"}, "ws://h.test/", "socks5h://b:2"},
		{"socks5 kept", map[string]string{"socks_proxy": "socks5://b:2"}, "ws://h.test/", "socks5://b:2"},
		{"https before http for ws", map[string]string{"https_proxy": "http://c:3", "http_proxy": "http://d:4"}, "ws://h.test/", "http://c:3"},
		{"http for ws", map[string]string{"http_proxy": "d:4"}, "ws://h.test/", "http://d:4"},
		{"http never for wss", map[string]string{"http_proxy": "http://d:4"}, "wss://h.test/", ""},
		{"wss_proxy for wss", map[string]string{"ws_proxy": "http://a:1", "wss_proxy": "http://w:5"}, "wss://h.test/", "http://w:5"},
		{"all_proxy last", map[string]string{"all_proxy": "socks5h://z:9"}, "wss://h.test/", "socks5h://z:9"},
		{"upper case", map[string]string{"WS_PROXY": "http://A:1"}, "ws://h.test/", "http://a:1"},
		{"lower case wins", map[string]string{"WS_PROXY": "http://upper:1", "ws_proxy": "http://lower:1"}, "ws://h.test/", "http://lower:1"},
		{"HTTP_PROXY ignored under CGI", map[string]string{"HTTP_PROXY": "http://d:4", "REQUEST_METHOD": "GET"}, "ws://h.test/", ""},
		{"no_proxy domain", map[string]string{"ws_proxy": "http://a:1", "no_proxy": "other.test, h.test"}, "ws://h.test/", ""},
		{"no_proxy subdomain", map[string]string{"ws_proxy": "http://a:1", "NO_PROXY": ".test"}, "ws://sub.h.test/", ""},
		{"no_proxy suffix needs a dot", map[string]string{"ws_proxy": "http://a:1", "no_proxy": "h.test"}, "ws://myh.test/", "http://a:1"},
		{"no_proxy star", map[string]string{"ws_proxy": "http://a:1", "no_proxy": "*"}, "ws://h.test/", ""},
		{"no_proxy port", map[string]string{"ws_proxy": "http://a:1", "no_proxy": "h.test:8080"}, "ws://h.test:8080/", ""},
		{"no_proxy other port", map[string]string{"ws_proxy": "http://a:1", "no_proxy": "h.test:8080"}, "ws://h.test/", "http://a:1"},
		{"no_proxy CIDR", map[string]string{"ws_proxy": "http://a:1", "no_proxy": "10.0.0.0/8"}, "ws://10.1.2.3/", ""},
		{"no_proxy IP", map[string]string{"ws_proxy": "http://a:1", "no_proxy": "192.0.2.1"}, "ws://192.0.2.2/", "http://a:1"},
		{"loopback is direct", map[string]string{"ws_proxy": "http://a:1"}, "ws://127.0.0.1:9/", ""},
		{"localhost is direct", map[string]string{"ws_proxy": "http://a:1"}, "ws://localhost/", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clear()
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			target, _ := url.Parse(tc.target)
			got, err := ProxyFromEnvironment(target)
			if err != nil {
				t.Fatal(err)
			}
			if s := ""; got != nil && got.String() != tc.want || got == nil && tc.want != s {
				t.Fatalf("proxy = %v, want %q", got, tc.want)
			}
		})
	}
	clear()
	t.Setenv("ws_proxy", "ftp://bad")
	target, _ := url.Parse("ws://h.test/")
	if _, err := ProxyFromEnvironment(target); !errors.Is(err, ErrInvalidProxy) {
		t.Fatalf("bad ws_proxy: err = %v", err)
	}
}

func TestDialUsesTheEnvironmentsProxyUnlessNoProxyOrDisabled(t *testing.T) {
	addr := startEchoServer(t, ServerOptions{})
	routes := map[string]string{"ws.example:80": addr}
	p := startConnectProxy(t, connectProxyConfig{routes: routes})
	for _, k := range []string{"ws_proxy", "socks_proxy", "https_proxy", "http_proxy", "all_proxy", "no_proxy"} {
		t.Setenv(k, "")
		t.Setenv(strings.ToUpper(k), "")
	}
	t.Setenv("HTTPS_PROXY", p.url(""))

	// From the environment: ws.example resolves only through the proxy.
	c := dial(t, "ws://ws.example/", nil)
	echoOnce(t, c, "env")
	if n := len(p.seen()); n != 1 {
		t.Fatalf("proxy saw %d requests, want 1", n)
	}
	// no_proxy: direct (DialContext maps the fake name).
	t.Setenv("no_proxy", "example")
	c = dial(t, "ws://ws.example/", &DialOptions{DialContext: dialVia(routes)})
	echoOnce(t, c, "no_proxy")
	// NoProxy turns the environment off.
	t.Setenv("no_proxy", "")
	c = dial(t, "ws://ws.example/", &DialOptions{Proxy: NoProxy, DialContext: dialVia(routes)})
	echoOnce(t, c, "disabled")
	// Loopback never goes through the environment's proxy.
	c = dial(t, "ws://"+addr+"/", nil)
	echoOnce(t, c, "loopback")
	if n := len(p.seen()); n != 1 {
		t.Fatalf("proxy saw %d requests, want still 1", n)
	}
}

func TestProxyIsIgnoredWithNetConn(t *testing.T) {
	addr := startEchoServer(t, ServerOptions{})
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, "ws://ws.example/", &DialOptions{NetConn: nc, Proxy: ProxyURL("http://127.0.0.1:1")})
	echoOnce(t, c, "netconn")
}
