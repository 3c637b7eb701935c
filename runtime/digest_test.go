package runtime

import (
	"context"
	"crypto/sha512"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tetherws/tether/ws"
)

// The example of RFC 7616 §3.9.1.
const (
	rfcChallenges = `Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, ` +
		`nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS", ` +
		`Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, ` +
		`nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`
	rfcCnonce   = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
	rfcSHA256   = "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
	rfcMD5      = "8ca523f5e9506fed4657c9700eebdbec"
	rfcUser     = "Mufasa"
	rfcPassword = "Circle of Life"
)

func TestDigestMatchesTheRFC7616Example(t *testing.T) {
	for alg, want := range map[string]string{"SHA-256": rfcSHA256, "MD5": rfcMD5} {
		d := digestParams{
			algorithm: alg, username: rfcUser, realm: "http-auth@example.org", password: rfcPassword,
			method: "GET", uri: "/dir/index.html", nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
			nc: "00000001", cnonce: rfcCnonce, qop: "auth",
		}
		if got, ok := d.response(); !ok || got != want {
			t.Errorf("%s response = %s, want %s", alg, got, want)
		}
	}
	// From the header: two challenges in one WWW-Authenticate value; the
	// first (SHA-256) is answered, with qop=auth.
	ch := pickDigestChallenge([]string{rfcChallenges})
	if ch == nil || ch.algorithm != "SHA-256" || ch.qop != "auth" || ch.realm != "http-auth@example.org" {
		t.Fatalf("challenge = %+v", ch)
	}
	authz, err := ch.authorization(rfcUser, rfcPassword, "GET", "/dir/index.html", rfcCnonce, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := `Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", algorithm=SHA-256, ` +
		`nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, cnonce="` + rfcCnonce + `", qop=auth, ` +
		`response="` + rfcSHA256 + `", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`
	if authz != want {
		t.Fatalf("Authorization:\n got %s\nwant %s", authz, want)
	}
	// The MD5 challenge alone, as in separate header fields.
	ch = pickDigestChallenge([]string{`Basic realm="x"`, rfcChallenges[strings.Index(rfcChallenges, "Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", algorithm=MD5"):]})
	authz, _ = ch.authorization(rfcUser, rfcPassword, "GET", "/dir/index.html", rfcCnonce, 1)
	if !strings.Contains(authz, `response="`+rfcMD5+`"`) || !strings.Contains(authz, "algorithm=MD5") {
		t.Fatalf("MD5 Authorization: %s", authz)
	}
}

func TestDigestClientUserhashAndNonASCIIUsername(t *testing.T) {
	// userhash (RFC 7616 §3.4.4): the username is H(user:realm).
	ch := pickDigestChallenge([]string{`Digest realm="api@example.org", qop="auth", algorithm=SHA-512-256, nonce="n", userhash=true`})
	authz, err := ch.authorization("Jäsøn Doe", "Secret, or not?", "GET", "/doe.json", "c", 1)
	if err != nil {
		t.Fatal(err)
	}
	h := sha512.Sum512_256([]byte("Jäsøn Doe:api@example.org"))
	if !strings.Contains(authz, `username="`+hexString(h[:])+`"`) || !strings.Contains(authz, "userhash=true") {
		t.Fatalf("userhash Authorization: %s", authz)
	}
	// Without userhash, a non-ASCII username goes in username* (RFC 8187).
	ch.userhash = false
	authz, _ = ch.authorization("Jäsøn Doe", "pw", "GET", "/", "c", 1)
	if !strings.Contains(authz, `username*=UTF-8''J%C3%A4s%C3%B8n%20Doe`) {
		t.Fatalf("username*: %s", authz)
	}
	// Unsupported algorithms or qop are skipped.
	if ch := pickDigestChallenge([]string{`Digest realm="r", nonce="n", algorithm=SHA3`, `Digest realm="r", nonce="n", qop="auth-conf"`}); ch != nil {
		t.Fatalf("picked %+v", ch)
	}
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

// digestRequest is a handshake request to DigestAuth.ProcessRequest.
func digestRequest(authz string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/secure?x=1", nil)
	if authz != "" {
		r.Header.Set("Authorization", authz)
	}
	return r
}

// answer runs the challenge of resp with these credentials and nonce count.
func answer(t *testing.T, resp *Response, user, password string, nc uint32) string {
	t.Helper()
	ch := pickDigestChallenge(resp.Header.Values("Www-Authenticate"))
	if ch == nil {
		t.Fatalf("no Digest challenge in %v", resp.Header)
	}
	authz, err := ch.authorization(user, password, "GET", "/secure?x=1", "cn", nc)
	if err != nil {
		t.Fatal(err)
	}
	return authz
}

func TestDigestAuthServerChecksNonceExpiryAndReplays(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	a := &DigestAuth{Realm: "tether", Credentials: map[string]string{"mufasa": "Circle of Life"}, Now: func() time.Time { return now }}
	run := func(authz string) (*Response, string) {
		var user string
		resp, err := a.ProcessRequest(withUsernameSlot(context.Background(), &user), digestRequest(authz))
		if err != nil {
			t.Fatal(err)
		}
		return resp, user
	}
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
	now = now.Add(DefaultNonceLifetime + time.Second)
	resp, _ := run(answer(t, chal, "mufasa", "Circle of Life", 9))
	if resp == nil || resp.Status != 401 || !strings.Contains(resp.Header.Get("Www-Authenticate"), "stale=true") {
		t.Fatalf("expired nonce: %+v", resp)
	}
	// The fresh nonce works.
	if resp, user := run(answer(t, resp, "mufasa", "Circle of Life", 1)); resp != nil || user != "mufasa" {
		t.Fatalf("fresh nonce: %+v", resp)
	}
	// Entries of expired nonces are pruned.
	now = now.Add(2 * DefaultNonceLifetime)
	a.useCount("other", 1, now.Add(time.Minute), now)
	a.mu.Lock()
	n := len(a.counts)
	a.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d nonce entries kept, want 1", n)
	}
}

// digestEndpoint serves Digest-protected WebSocket connections that send
// back the authenticated user name.
func digestEndpoint(a *DigestAuth, count *countRequests) *Server {
	return &Server{
		Options: ServerOptions{ProcessRequest: func(ctx context.Context, r *http.Request) (*Response, error) {
			count.add(r)
			return a.ProcessRequest(ctx, r)
		}},
		Handler: func(ctx context.Context, c *Conn) error { return c.SendText(ctx, c.Username()) },
	}
}

type countRequests struct {
	mu      sync.Mutex
	remotes []string
}

func (c *countRequests) add(r *http.Request) {
	c.mu.Lock()
	c.remotes = append(c.remotes, r.RemoteAddr)
	c.mu.Unlock()
}

func (c *countRequests) get() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.remotes...)
}

func TestDialAnswersADigestChallengeOnAFreshConnection(t *testing.T) {
	var count countRequests
	a := &DigestAuth{Realm: "tether", Credentials: map[string]string{"mufasa": "Circle of Life"}}
	u := startServer(t, digestEndpoint(a, &count))
	// The standalone server closes the connection after the 401.
	c := dial(t, u+"secure", &DialOptions{Auth: &Credentials{Username: "mufasa", Password: "Circle of Life", DigestOnly: true}})
	if got := recv(t, c).Text(); got != "mufasa" {
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
	if got := recv(t, c).Text(); got != "mufasa" {
		t.Fatalf("server saw user %q", got)
	}
	if r := count.get(); len(r) != 2 || r[0] != r[1] {
		t.Fatalf("requests from %v, want both on one connection", r)
	}
}

func TestDigestIsRetriedOnceOnly(t *testing.T) {
	var count countRequests
	a := &DigestAuth{Realm: "tether", Credentials: map[string]string{"mufasa": "Circle of Life"}}
	u := startServer(t, digestEndpoint(a, &count))
	_, resp, err := Dial(testCtx(t), u, &DialOptions{Auth: &Credentials{Username: "mufasa", Password: "wrong"}})
	var se *ws.StatusError
	if !errors.As(err, &se) || resp.StatusCode != 401 || string(se.Body) != "Invalid credentials\n" {
		t.Fatalf("err = %v", err)
	}
	if n := len(count.get()); n != 2 {
		t.Fatalf("%d requests, want 2", n)
	}
	// Without credentials, a challenge is not answered.
	_, _, err = Dial(testCtx(t), u, nil)
	if !errors.As(err, &se) || se.StatusCode() != 401 || len(count.get()) != 3 {
		t.Fatalf("no credentials: err = %v, %d requests", err, len(count.get()))
	}
}
