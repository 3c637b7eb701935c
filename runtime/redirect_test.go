package runtime

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tetherws/tether/runtime/internal/netctx"
	"github.com/tetherws/tether/ws"
)

// recServer is a Server that records the handshake requests it gets,
// answers them with route (nil: upgrade), and sends the request path, then
// the user name, to each connection.
type recServer struct {
	url  string // ws://host:port or wss://host:port, no path
	addr string
	mu   sync.Mutex
	reqs []*http.Request
}

func startRecServer(t *testing.T, useTLS bool, route func(r *http.Request) *Response, opts ServerOptions) *recServer {
	t.Helper()
	rs := &recServer{}
	srv := &Server{Options: opts}
	user := opts.ProcessRequest
	srv.Options.ProcessRequest = func(ctx context.Context, r *http.Request) (*Response, error) {
		rs.mu.Lock()
		rs.reqs = append(rs.reqs, r.Clone(context.Background()))
		rs.mu.Unlock()
		if route != nil {
			if resp := route(r); resp != nil {
				return resp, nil
			}
		}
		if user != nil {
			return user(ctx, r)
		}
		return nil, nil
	}
	srv.Handler = func(ctx context.Context, c *Conn) error {
		if err := c.SendText(ctx, c.Request().URL.Path); err != nil {
			return err
		}
		return c.SendText(ctx, c.Username())
	}
	scheme := "ws"
	if useTLS {
		cert, _ := testTLS(t)
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		scheme = "wss"
	}
	u := startServer(t, srv)
	rs.addr = u[len("ws://") : len(u)-1]
	rs.url = scheme + "://" + rs.addr
	return rs
}

func (rs *recServer) requests() []*http.Request {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return append([]*http.Request(nil), rs.reqs...)
}

func redirectTo(status int, loc string) *Response {
	return &Response{Status: status, Header: http.Header{"Location": {loc}}, Body: []byte("moved\n")}
}

// hopRoute redirects /hop/N to /hop/N+1 until /hop/last, which upgrades.
func hopRoute(last int) func(r *http.Request) *Response {
	return func(r *http.Request) *Response {
		n, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/hop/"))
		if err != nil || n >= last {
			return nil
		}
		return redirectTo(http.StatusFound, "/hop/"+strconv.Itoa(n+1))
	}
}

func TestDialFollowsEveryRedirectStatus(t *testing.T) {
	rs := startRecServer(t, false, func(r *http.Request) *Response {
		if code, ok := strings.CutPrefix(r.URL.Path, "/from/"); ok {
			n, _ := strconv.Atoi(code)
			return redirectTo(n, "/to/"+code)
		}
		return nil
	}, ServerOptions{})
	for _, code := range []int{300, 301, 302, 303, 307, 308} {
		c := dial(t, rs.url+"/from/"+strconv.Itoa(code), nil)
		if got := recv(t, c).Text(); got != "/to/"+strconv.Itoa(code) {
			t.Errorf("%d: landed on %q", code, got)
		}
		if got := c.Response().Request.URL.Path; got != "/to/"+strconv.Itoa(code) {
			t.Errorf("%d: Response().Request is for %q", code, got)
		}
	}
	// A redirect status without Location is an ordinary rejection.
	rs2 := startRecServer(t, false, func(*http.Request) *Response { return &Response{Status: 302} }, ServerOptions{})
	_, resp, err := Dial(testCtx(t), rs2.url+"/", nil)
	var se *ws.StatusError
	if !errors.As(err, &se) || resp.StatusCode != 302 {
		t.Fatalf("302 without Location: err = %v", err)
	}
}

func TestRedirectLimitIsTenAttempts(t *testing.T) {
	// Nine redirects are followed: the tenth attempt lands.
	rs := startRecServer(t, false, hopRoute(9), ServerOptions{})
	c := dial(t, rs.url+"/hop/0", nil)
	if got := recv(t, c).Text(); got != "/hop/9" {
		t.Fatalf("landed on %q", got)
	}
	// A tenth redirect is refused.
	rs = startRecServer(t, false, hopRoute(10), ServerOptions{})
	_, resp, err := Dial(testCtx(t), rs.url+"/hop/0", nil)
	var re *RedirectError
	if !errors.Is(err, ErrTooManyRedirects) || !errors.As(err, &re) || !errors.Is(err, ws.ErrInvalidHandshake) {
		t.Fatalf("err = %v, want ErrTooManyRedirects", err)
	}
	if n := len(rs.requests()); n != 10 || resp.StatusCode != 302 || re.Location != rs.url+"/hop/10" {
		t.Fatalf("%d attempts, last status %d, Location %s", n, resp.StatusCode, re.Location)
	}
	// MaxRedirects changes the limit; negative follows none.
	rs = startRecServer(t, false, hopRoute(10), ServerOptions{})
	_, _, err = Dial(testCtx(t), rs.url+"/hop/0", &DialOptions{MaxRedirects: 2})
	if !errors.Is(err, ErrTooManyRedirects) || len(rs.requests()) != 3 {
		t.Fatalf("MaxRedirects 2: %d attempts, err %v", len(rs.requests()), err)
	}
	rs = startRecServer(t, false, hopRoute(10), ServerOptions{})
	_, _, err = Dial(testCtx(t), rs.url+"/hop/0", &DialOptions{MaxRedirects: -1})
	var se *ws.StatusError
	if !errors.As(err, &se) || se.StatusCode() != 302 || len(rs.requests()) != 1 {
		t.Fatalf("MaxRedirects -1: err %v", err)
	}
}

func TestRedirectFromWSSToWSIsRefused(t *testing.T) {
	plain := startRecServer(t, false, nil, ServerOptions{})
	secure := startRecServer(t, true, func(*http.Request) *Response {
		return redirectTo(http.StatusMovedPermanently, plain.url+"/")
	}, ServerOptions{})
	_, pool := testTLS(t)
	_, _, err := Dial(testCtx(t), secure.url+"/", &DialOptions{TLSConfig: &tls.Config{RootCAs: pool}})
	if !errors.Is(err, ErrInsecureRedirect) {
		t.Fatalf("err = %v, want ErrInsecureRedirect", err)
	}
	if n := len(plain.requests()); n != 0 {
		t.Fatalf("the ws:// server got %d requests", n)
	}
	// ws → wss is fine.
	secureOK := startRecServer(t, true, nil, ServerOptions{})
	up := startRecServer(t, false, func(*http.Request) *Response {
		return redirectTo(http.StatusMovedPermanently, secureOK.url+"/up")
	}, ServerOptions{})
	c := dial(t, up.url+"/", &DialOptions{TLSConfig: &tls.Config{RootCAs: pool}})
	if got := recv(t, c).Text(); got != "/up" {
		t.Fatalf("landed on %q", got)
	}
}

func TestRedirectToAnotherSchemeIsAnInvalidURI(t *testing.T) {
	rs := startRecServer(t, false, func(*http.Request) *Response {
		return redirectTo(http.StatusFound, "https://example.com/")
	}, ServerOptions{})
	_, _, err := Dial(testCtx(t), rs.url+"/", nil)
	if !errors.Is(err, ws.ErrInvalidURI) {
		t.Fatalf("err = %v, want ErrInvalidURI", err)
	}
}

func TestCrossOriginRedirectDropsCredentialsSameOriginKeepsThem(t *testing.T) {
	target := startRecServer(t, false, nil, ServerOptions{})
	start := startRecServer(t, false, func(r *http.Request) *Response {
		switch r.URL.Path {
		case "/same":
			return redirectTo(http.StatusTemporaryRedirect, "/same-landing")
		case "/cross":
			return redirectTo(http.StatusTemporaryRedirect, "ws://b.test/cross-landing")
		}
		return nil
	}, ServerOptions{})
	routes := map[string]string{"a.test:80": start.addr, "b.test:80": target.addr}
	hdr := http.Header{
		"Cookie":              {"session=1"},
		"Proxy-Authorization": {"Basic cHJveHk6cHc="},
		"X-Trace":             {"kept"},
	}
	for _, tc := range []struct {
		name, url string
		auth      *Credentials
	}{
		{"user info", "ws://alice:pw@a.test", nil},
		{"Auth", "ws://a.test", &Credentials{Username: "alice", Password: "pw"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := &DialOptions{Header: hdr, Auth: tc.auth, DialContext: dialVia(routes)}
			c := dial(t, tc.url+"/same", o)
			if got := recv(t, c).Text(); got != "/same-landing" {
				t.Fatalf("landed on %q", got)
			}
			reqs := start.requests()
			last := reqs[len(reqs)-1]
			if last.Header.Get("Authorization") == "" || last.Header.Get("Cookie") == "" || last.Header.Get("Proxy-Authorization") == "" {
				t.Errorf("same-origin redirect lost credentials: %v", last.Header)
			}

			c = dial(t, tc.url+"/cross", o)
			if got := recv(t, c).Text(); got != "/cross-landing" {
				t.Fatalf("landed on %q", got)
			}
			reqs = target.requests()
			last = reqs[len(reqs)-1]
			for _, k := range []string{"Authorization", "Cookie", "Proxy-Authorization"} {
				if v := last.Header.Get(k); v != "" {
					t.Errorf("cross-origin redirect kept %s: %q", k, v)
				}
			}
			if last.Header.Get("X-Trace") != "kept" {
				t.Errorf("cross-origin redirect dropped X-Trace")
			}
			if hdr.Get("Cookie") == "" {
				t.Fatal("Dial changed the caller's Header")
			}
		})
	}
}

// Headers set with lower-case map keys are credentials all the same: a
// cross-origin redirect drops them, and the handshake sends each once.
func TestCrossOriginRedirectDropsLowerCaseCredentialHeaders(t *testing.T) {
	target := startRecServer(t, false, nil, ServerOptions{})
	start := startRecServer(t, false, func(r *http.Request) *Response {
		return redirectTo(http.StatusTemporaryRedirect, "ws://b.test/landing")
	}, ServerOptions{})
	routes := map[string]string{"a.test:80": start.addr, "b.test:80": target.addr}
	hdr := http.Header{
		"authorization":       {"Bearer secret"},
		"cookie":              {"session=1"},
		"proxy-authorization": {"Basic cHJveHk6cHc="},
		"x-trace":             {"kept"},
	}
	c := dial(t, "ws://a.test/start", &DialOptions{Header: hdr, DialContext: dialVia(routes)})
	if got := recv(t, c).Text(); got != "/landing" {
		t.Fatalf("landed on %q", got)
	}
	first := start.requests()[0]
	if got := first.Header.Values("Authorization"); len(got) != 1 || got[0] != "Bearer secret" {
		t.Errorf("first request Authorization = %q, want it once", got)
	}
	reqs := target.requests()
	last := reqs[len(reqs)-1]
	for _, k := range []string{"Authorization", "Cookie", "Proxy-Authorization"} {
		if v := last.Header.Values(k); len(v) != 0 {
			t.Errorf("cross-origin redirect kept %s: %q", k, v)
		}
	}
	if last.Header.Get("X-Trace") != "kept" {
		t.Errorf("cross-origin redirect dropped X-Trace")
	}
}

func TestRedirectOverNetConnIsRefused(t *testing.T) {
	rs := startRecServer(t, false, func(r *http.Request) *Response {
		if r.URL.Path == "/old" {
			return redirectTo(http.StatusFound, "/new")
		}
		return nil
	}, ServerOptions{})
	nc, err := net.Dial("tcp", rs.addr)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = Dial(testCtx(t), rs.url+"/old", &DialOptions{NetConn: nc})
	if !errors.Is(err, ErrRedirectRefused) {
		t.Fatalf("err = %v, want ErrRedirectRefused", err)
	}
}

func TestRedirectOverUnixSocketOnlySameOrigin(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ws.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Skipf("no Unix sockets: %v", err)
	}
	srv := &Server{
		Options: ServerOptions{ProcessRequest: func(_ context.Context, r *http.Request) (*Response, error) {
			switch r.URL.Path {
			case "/same":
				return redirectTo(http.StatusFound, "/landed"), nil
			case "/cross":
				return redirectTo(http.StatusFound, "ws://elsewhere.test/"), nil
			}
			return nil, nil
		}},
		Handler: func(ctx context.Context, c *Conn) error { return c.SendText(ctx, c.Request().URL.Path) },
	}
	serveOn(t, srv, ln)
	c := dial(t, "ws://localhost/same", &DialOptions{UnixSocket: path})
	if got := recv(t, c).Text(); got != "/landed" {
		t.Fatalf("landed on %q", got)
	}
	_, _, err = Dial(testCtx(t), "ws://localhost/cross", &DialOptions{UnixSocket: path})
	if !errors.Is(err, ErrRedirectRefused) {
		t.Fatalf("err = %v, want ErrRedirectRefused", err)
	}
}

func TestOneOpenTimeoutCoversAllRedirectAttempts(t *testing.T) {
	// The server redirects to itself forever and the redirect limit is
	// out of reach: only a deadline shared by all attempts ends Dial.
	rs := startRecServer(t, false, func(*http.Request) *Response {
		return redirectTo(http.StatusFound, "/again")
	}, ServerOptions{})
	start := time.Now()
	_, _, err := Dial(context.Background(), rs.url+"/", &DialOptions{
		Options:      Options{OpenTimeout: 300 * time.Millisecond},
		MaxRedirects: 1 << 30,
	})
	if !netctx.IsTimeout(err) || !strings.Contains(fmtErr(err), "timed out during opening handshake") {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if n := len(rs.requests()); n < 2 {
		t.Fatalf("%d attempts: the timeout did not span several", n)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Dial took %v", d)
	}
}

func fmtErr(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}
