package auth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tetherws/tether/runtime"
	"github.com/tetherws/tether/runtime/internal/httpauth"
	"github.com/tetherws/tether/ws"
)

// answer answers the Digest challenge of resp with these credentials and
// nonce count, for GET /secure?x=1.
func answer(t *testing.T, resp *runtime.Response, user, password string, nc uint32) string {
	t.Helper()
	ch := httpauth.PickDigestChallenge(resp.Header.Values("Www-Authenticate"))
	if ch == nil {
		t.Fatalf("no Digest challenge in %v", resp.Header)
	}
	authz, err := ch.Authorization(user, password, "GET", "/secure?x=1", "cn", nc)
	if err != nil {
		t.Fatal(err)
	}
	return authz
}

// testClock is a DigestAuth.Now the test moves.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// handshake sends GET /secure?x=1 with this Authorization value (none if
// empty) to a Server behind a, and returns the response when the
// handshake is refused, or nil and the user name the connection got.
func handshake(t *testing.T, addr, authz string) (*runtime.Response, string) {
	t.Helper()
	o := &runtime.DialOptions{}
	if authz != "" {
		o.Header = http.Header{"Authorization": {authz}}
	}
	c, resp, err := runtime.Dial(testCtx(t), "ws://"+addr+"/secure?x=1", o)
	if err != nil {
		var se *ws.StatusError
		if !errors.As(err, &se) {
			t.Fatalf("Dial: %v", err)
		}
		return &runtime.Response{Status: resp.StatusCode, Header: resp.Header, Body: se.Body}, ""
	}
	defer c.CloseNow()
	return nil, recvText(t, c)
}

func TestDigestAuthServerChecksNonceExpiryAndReplays(t *testing.T) {
	clock := &testClock{now: time.Unix(1_700_000_000, 0)}
	a := &DigestAuth{Realm: "tether", Credentials: map[string]string{"mufasa": "Circle of Life"}, Now: clock.Now}
	addr := serve(t, &runtime.Server{Handler: sendUser, Options: runtime.ServerOptions{ProcessRequest: a.ProcessRequest}})
	run := func(authz string) (*runtime.Response, string) { return handshake(t, addr, authz) }
	chal, _ := run("")
	if chal.Status != 401 || string(chal.Body) != "Missing credentials\n" || len(chal.Header.Values("Www-Authenticate")) != 2 {
		t.Fatalf("challenge: %d %q %v", chal.Status, chal.Body, chal.Header)
	}
	if got := chal.Header.Values("Www-Authenticate")[0]; !strings.HasPrefix(got, `Digest realm="tether", qop="auth", algorithm=SHA-256, nonce="`) {
		t.Fatalf("first challenge: %s", got)
	}
	authz := answer(t, chal, "mufasa", "Circle of Life", 1)
	if resp, user := run(authz); resp != nil || user != "mufasa" {
		t.Fatalf("valid credentials: %v, user %q", resp, user)
	}
	// The same nonce count again is a replay.
	if resp, user := run(authz); resp == nil || resp.Status != 401 || string(resp.Body) != "Replayed credentials\n" || user != "" {
		t.Fatalf("replay: %+v", resp)
	}
	// A higher count on the same nonce is fine.
	if resp, _ := run(answer(t, chal, "mufasa", "Circle of Life", 2)); resp != nil {
		t.Fatalf("nc=2: %d %q", resp.Status, resp.Body)
	}
	// Wrong password, unknown user, forged nonce.
	for name, authz := range map[string]string{
		"wrong password": answer(t, chal, "mufasa", "nope", 3),
		"unknown user":   answer(t, chal, "scar", "Circle of Life", 1),
		"forged nonce": strings.Replace(answer(t, chal, "mufasa", "Circle of Life", 4),
			`nonce="`, `nonce="AAAA`, 1),
	} {
		if resp, _ := run(authz); resp == nil || string(resp.Body) != "Invalid credentials\n" {
			t.Errorf("%s: %+v", name, resp)
		}
	}
	for name, authz := range map[string]string{
		"Basic":         "Basic bXVmYXNhOkNpcmNsZSBvZiBMaWZl",
		"other uri":     strings.Replace(answer(t, chal, "mufasa", "Circle of Life", 5), `uri="/secure?x=1"`, `uri="/other"`, 1),
		"no qop":        strings.Replace(answer(t, chal, "mufasa", "Circle of Life", 5), ", qop=auth", "", 1),
		"bad nc":        strings.Replace(answer(t, chal, "mufasa", "Circle of Life", 5), "nc=00000005", "nc=5", 1),
		"wrong realm":   strings.Replace(answer(t, chal, "mufasa", "Circle of Life", 5), `realm="tether"`, `realm="x"`, 1),
		"wrong opaque":  strings.Replace(answer(t, chal, "mufasa", "Circle of Life", 5), `opaque="`, `opaque="x`, 1),
		"not offered":   strings.Replace(answer(t, chal, "mufasa", "Circle of Life", 5), "algorithm=SHA-256", "algorithm=SHA-512-256", 1),
		"two usernames": answer(t, chal, "mufasa", "Circle of Life", 5) + `, username*=UTF-8''x`,
	} {
		if resp, _ := run(authz); resp == nil || string(resp.Body) != "Unsupported credentials\n" {
			t.Errorf("%s: %+v", name, resp)
		}
	}
	// After the nonce's lifetime: a new challenge with stale=true.
	clock.add(DefaultNonceLifetime + time.Second)
	resp, _ := run(answer(t, chal, "mufasa", "Circle of Life", 9))
	if resp == nil || resp.Status != 401 || !strings.Contains(resp.Header.Get("Www-Authenticate"), "stale=true") {
		t.Fatalf("expired nonce: %+v", resp)
	}
	// The fresh nonce works.
	if resp, user := run(answer(t, resp, "mufasa", "Circle of Life", 1)); resp != nil || user != "mufasa" {
		t.Fatalf("fresh nonce: %+v", resp)
	}
	// Entries of expired nonces are pruned.
	now := clock.add(2 * DefaultNonceLifetime)
	a.useCount("other", 1, now.Add(time.Minute), now)
	a.mu.Lock()
	n := len(a.counts)
	a.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d nonce entries kept, want 1", n)
	}
}

func TestDigestAuthConfigurationAndLookupErrorsAnswer500(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/secure?x=1", nil)
	if _, err := (&DigestAuth{}).ProcessRequest(context.Background(), r); err == nil || !strings.HasPrefix(err.Error(), "auth: ") {
		t.Fatalf("unconfigured: %v", err)
	}
	down := errors.New("database down")
	a := &DigestAuth{Realm: "r", Password: func(context.Context, string) (string, bool, error) { return "", false, down }}
	addr := serve(t, &runtime.Server{Handler: sendUser, Options: runtime.ServerOptions{ProcessRequest: a.ProcessRequest}})
	chal, _ := handshake(t, addr, "")
	if chal == nil || chal.Status != 401 {
		t.Fatalf("challenge: %+v", chal)
	}
	if resp, _ := handshake(t, addr, answer(t, chal, "u", "p", 1)); resp == nil || resp.Status != 500 {
		t.Fatalf("Password error: %+v", resp)
	}
	r.Header.Set("Authorization", answer(t, chal, "u", "p", 2))
	if _, err := a.ProcessRequest(context.Background(), r); !errors.Is(err, down) || !strings.HasPrefix(err.Error(), "auth: ") {
		t.Fatalf("Password error: %v", err)
	}
}

func TestDialAnswersADigestChallengeOnAFreshConnection(t *testing.T) {
	var count countRequests
	a := &DigestAuth{Realm: "tether", Credentials: map[string]string{"mufasa": "Circle of Life"}}
	addr := serve(t, digestEndpoint(a, &count))
	// The standalone server closes the connection after the 401.
	c := dial(t, "ws://"+addr+"/secure", &runtime.DialOptions{Auth: &runtime.Credentials{Username: "mufasa", Password: "Circle of Life", DigestOnly: true}})
	if got := recvText(t, c); got != "mufasa" {
		t.Fatalf("server saw user %q", got)
	}
	if r := count.get(); len(r) != 2 || r[0] == r[1] {
		t.Fatalf("requests from %v, want two connections", r)
	}
	if got := c.Response().Request.Header.Get("Authorization"); !strings.HasPrefix(got, "Digest ") {
		t.Fatalf("final Authorization %q", got)
	}
}

func TestDialAnswersADigestChallengeOnTheSameKeptAliveConnection(t *testing.T) {
	var count countRequests
	a := &DigestAuth{Realm: "tether", Credentials: map[string]string{"mufasa": "Circle of Life"}}
	srv := digestEndpoint(a, &count)
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		hs.Close()
	})
	// User info in the URL: Basic first (refused: the server wants
	// Digest), then Digest on the same connection.
	c := dial(t, "ws://mufasa:Circle%20of%20Life@"+strings.TrimPrefix(hs.URL, "http://")+"/secure", nil)
	if got := recvText(t, c); got != "mufasa" {
		t.Fatalf("server saw user %q", got)
	}
	if r := count.get(); len(r) != 2 || r[0] != r[1] {
		t.Fatalf("requests from %v, want both on one connection", r)
	}
}

func TestDigestIsRetriedOnceOnly(t *testing.T) {
	var count countRequests
	a := &DigestAuth{Realm: "tether", Credentials: map[string]string{"mufasa": "Circle of Life"}}
	u := "ws://" + serve(t, digestEndpoint(a, &count)) + "/"
	_, resp, err := runtime.Dial(testCtx(t), u, &runtime.DialOptions{Auth: &runtime.Credentials{Username: "mufasa", Password: "wrong"}})
	var se *ws.StatusError
	if !errors.As(err, &se) || resp.StatusCode != 401 || string(se.Body) != "Invalid credentials\n" {
		t.Fatalf("err = %v", err)
	}
	if n := len(count.get()); n != 2 {
		t.Fatalf("%d requests, want 2", n)
	}
	// Without credentials, a challenge is not answered.
	_, _, err = runtime.Dial(testCtx(t), u, nil)
	if !errors.As(err, &se) || se.StatusCode() != 401 || len(count.get()) != 3 {
		t.Fatalf("no credentials: err = %v, %d requests", err, len(count.get()))
	}
}

// Over HTTP/2 the Digest response signs CONNECT (RFC 8441) and the retry
// runs on a fresh HTTP/2 connection.
func TestDigestOverHTTP2(t *testing.T) {
	var count countRequests
	a := &DigestAuth{Realm: "tether", Credentials: map[string]string{"mufasa": "Circle of Life"}}
	s := digestEndpoint(a, &count)
	u, o := startH2(t, s, "/secure")
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	o.Auth = &runtime.Credentials{Username: "mufasa", Password: "Circle of Life", DigestOnly: true}
	c := dial(t, u, o)
	if got := recvText(t, c); got != "mufasa" {
		t.Fatalf("server saw user %q", got)
	}
	if r := count.get(); len(r) != 2 {
		t.Fatalf("requests %v, want the challenge and the answer", r)
	}
	<-c.Done()
}
