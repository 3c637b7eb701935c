package runtime

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tetherws/tether/runtime/internal/netctx"
	"github.com/tetherws/tether/runtime/internal/proxytest"
	"github.com/tetherws/tether/runtime/proxy"
	"github.com/tetherws/tether/ws"
)

// Dial through proxies. The proxy mechanism itself (CONNECT, SOCKS, the
// errors) is tested in package proxy; these tests check what Dial brings
// to it: the chooser, the User-Agent, TLS, OpenTimeout, the environment.

func TestDialThroughHTTPConnectProxyWithBasicProxyAuthorization(t *testing.T) {
	addr := startEchoServer(t, ServerOptions{})
	p := proxytest.StartConnect(t, proxytest.ConnectConfig{User: "alice", Pass: "s3cr@t"})
	c := dial(t, "ws://"+addr+"/", &DialOptions{Proxy: proxy.URL(p.URL("alice:s3cr%40t"))})
	echoOnce(t, c, "through the tunnel")

	reqs := p.Seen()
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
	p := proxytest.StartConnect(t, proxytest.ConnectConfig{Routes: map[string]string{"ws.example:80": addr}})
	c := dial(t, "ws://ws.example/", &DialOptions{Proxy: proxy.URL(p.URL("")), UserAgent: "probe/1"})
	echoOnce(t, c, "x")
	r := p.Seen()[0]
	if r.RequestURI != "ws.example:80" || r.Header.Get("Host") != "ws.example" || r.Header.Get("User-Agent") != "probe/1" ||
		r.Header.Get("Proxy-Authorization") != "" {
		t.Errorf("CONNECT %s, Host %q, User-Agent %q, Proxy-Authorization %q", r.RequestURI, r.Header.Get("Host"), r.Header.Get("User-Agent"), r.Header.Get("Proxy-Authorization"))
	}
}

func TestConnectRequestCarriesTheHandshakesUserAgentOrNone(t *testing.T) {
	addr := startEchoServer(t, ServerOptions{})
	for _, tc := range []struct {
		name string
		o    DialOptions
		want string
	}{
		{"from Header", DialOptions{Header: map[string][]string{"User-Agent": {"hdr/2"}}, UserAgent: "ignored/1"}, "hdr/2"},
		{"omitted", DialOptions{OmitUserAgent: true}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := proxytest.StartConnect(t, proxytest.ConnectConfig{})
			o := tc.o
			o.Proxy = proxy.URL(p.URL(""))
			echoOnce(t, dial(t, "ws://"+addr+"/", &o), "ua")
			if got := p.Seen()[0].Header.Values("User-Agent"); tc.want == "" && len(got) != 0 || tc.want != "" && (len(got) != 1 || got[0] != tc.want) {
				t.Fatalf("User-Agent %q, want %q", got, tc.want)
			}
		})
	}
}

func TestProxyFuncErrorsAreInvalidProxy(t *testing.T) {
	boom := errors.New("no proxy configuration")
	_, _, err := Dial(testCtx(t), "ws://ws.example/", &DialOptions{Proxy: func(*url.URL) (*url.URL, error) { return nil, boom }})
	if !errors.Is(err, proxy.ErrInvalidURL) || !errors.Is(err, boom) || !strings.Contains(err.Error(), "proxy: choosing a proxy: no proxy configuration") {
		t.Fatalf("err = %v", err)
	}
}

func TestWSSThroughHTTPSProxyIsTLSInsideTLS(t *testing.T) {
	addr := startTLSEchoServer(t)
	_, pool := testTLS(t)
	p := proxytest.StartConnect(t, proxytest.ConnectConfig{TLS: true, User: "u", Pass: "p"})
	c := dial(t, "wss://"+addr+"/", &DialOptions{
		Proxy:          proxy.URL(p.URL("u:p")),
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
	if len(p.Seen()) != 1 {
		t.Fatal("the proxy was not used")
	}
}

func TestDialReportsAProxysRefusalAsAProxyError(t *testing.T) {
	addr := startEchoServer(t, ServerOptions{})
	p := proxytest.StartConnect(t, proxytest.ConnectConfig{User: "u", Pass: "right"})
	_, _, err := Dial(testCtx(t), "ws://"+addr+"/", &DialOptions{Proxy: proxy.URL(p.URL("u:wrong"))})
	var pe *proxy.Error
	if !errors.As(err, &pe) || !errors.Is(err, proxy.ErrAuth) || pe.StatusCode != 407 || !strings.Contains(err.Error(), "tether: dial ws://"+addr+"/") {
		t.Fatalf("err = %v, want a *proxy.Error for HTTP 407", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Fatalf("the proxy password leaks in %q", err)
	}
}

func TestProxyThatNeverAnswersIsBoundByOpenTimeout(t *testing.T) {
	r := proxytest.StartRelay(t, false, func(c net.Conn) {
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
		Proxy:   proxy.URL("http://" + r.Addr()),
	})
	if !netctx.IsTimeout(err) || !strings.Contains(err.Error(), "timed out during opening handshake") || errors.Is(err, proxy.ErrFailed) {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Dial took %v", d)
	}
}

// Dial passes on the chooser's *proxy.Error, and makes any other error of
// the chooser one matching ErrInvalidURL, before it dials anything. Which
// proxy URLs are invalid is proxy.Parse's to decide and test.
func TestInvalidProxyURLsAreRefusedBeforeConnecting(t *testing.T) {
	errChooser := errors.New("no proxy for this target")
	for name, c := range map[string]struct {
		choose func(*url.URL) (*url.URL, error)
		cause  error // what the error wraps besides ErrInvalidURL, or nil
	}{
		"an invalid proxy.URL":  {choose: proxy.URL("ftp://proxy:21")},
		"the chooser's failure": {choose: func(*url.URL) (*url.URL, error) { return nil, errChooser }, cause: errChooser},
	} {
		var dialed atomic.Bool
		_, _, err := Dial(testCtx(t), "ws://ws.example/", &DialOptions{
			Proxy: c.choose,
			DialContext: func(context.Context, string, string) (net.Conn, error) {
				dialed.Store(true)
				return nil, errors.New("dialed")
			},
		})
		if !errors.Is(err, proxy.ErrInvalidURL) || !errors.Is(err, proxy.ErrFailed) {
			t.Errorf("%s: err = %v, want ErrInvalidURL", name, err)
		}
		if c.cause != nil && !errors.Is(err, c.cause) {
			t.Errorf("%s: err = %v, want it to wrap %v", name, err, c.cause)
		}
		if dialed.Load() {
			t.Errorf("%s: Dial dialed a connection", name)
		}
	}
}

func TestDialUsesTheEnvironmentsProxyUnlessNoProxyOrDisabled(t *testing.T) {
	addr := startEchoServer(t, ServerOptions{})
	routes := map[string]string{"ws.example:80": addr}
	p := proxytest.StartConnect(t, proxytest.ConnectConfig{Routes: routes})
	for _, k := range []string{"ws_proxy", "socks_proxy", "https_proxy", "http_proxy", "all_proxy", "no_proxy"} {
		t.Setenv(k, "")
		t.Setenv(strings.ToUpper(k), "")
	}
	t.Setenv("HTTPS_PROXY", p.URL(""))

	// From the environment: ws.example resolves only through the proxy.
	c := dial(t, "ws://ws.example/", nil)
	echoOnce(t, c, "env")
	if n := len(p.Seen()); n != 1 {
		t.Fatalf("proxy saw %d requests, want 1", n)
	}
	// no_proxy: direct (DialContext maps the fake name).
	t.Setenv("no_proxy", "example")
	c = dial(t, "ws://ws.example/", &DialOptions{DialContext: dialVia(routes)})
	echoOnce(t, c, "no_proxy")
	// proxy.Direct turns the environment off.
	t.Setenv("no_proxy", "")
	c = dial(t, "ws://ws.example/", &DialOptions{Proxy: proxy.Direct, DialContext: dialVia(routes)})
	echoOnce(t, c, "disabled")
	// Loopback never goes through the environment's proxy.
	c = dial(t, "ws://"+addr+"/", nil)
	echoOnce(t, c, "loopback")
	if n := len(p.Seen()); n != 1 {
		t.Fatalf("proxy saw %d requests, want still 1", n)
	}
}

func TestDialContextAlsoDialsTheProxy(t *testing.T) {
	addr := startEchoServer(t, ServerOptions{})
	p := proxytest.StartConnect(t, proxytest.ConnectConfig{})
	c := dial(t, "ws://"+addr+"/", &DialOptions{
		Proxy:       proxy.URL("http://proxy.test:3128"),
		DialContext: dialVia(map[string]string{"proxy.test:3128": p.Addr()}),
	})
	echoOnce(t, c, "via DialContext")
	if n := len(p.Seen()); n != 1 {
		t.Fatalf("proxy saw %d requests, want 1", n)
	}
}

func TestProxyIsIgnoredWithNetConn(t *testing.T) {
	addr := startEchoServer(t, ServerOptions{})
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, "ws://ws.example/", &DialOptions{NetConn: nc, Proxy: proxy.URL("http://127.0.0.1:1")})
	echoOnce(t, c, "netconn")
}
