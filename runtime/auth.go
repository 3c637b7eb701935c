package runtime

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// ProcessRequestFunc is the type of ServerOptions.ProcessRequest.
type ProcessRequestFunc = func(ctx context.Context, r *http.Request) (*Response, error)

// ChainProcessRequest returns a ProcessRequest hook that runs hooks in
// order and stops at the first that returns a response or an error, e.g.
// routing, then authentication. nil hooks are skipped.
func ChainProcessRequest(hooks ...ProcessRequestFunc) ProcessRequestFunc {
	return func(ctx context.Context, r *http.Request) (*Response, error) {
		for _, h := range hooks {
			if h == nil {
				continue
			}
			if resp, err := h(ctx, r); resp != nil || err != nil {
				return resp, err
			}
		}
		return nil, nil
	}
}

type usernameKey struct{}

// withUsernameSlot returns a context for ProcessRequest in which
// SetUsername records a user name in *slot.
func withUsernameSlot(ctx context.Context, slot *string) context.Context {
	return context.WithValue(ctx, usernameKey{}, slot)
}

// SetUsername records the user name that a ProcessRequest hook has
// authenticated; Conn.Username returns it. ctx is the one the hook got;
// elsewhere SetUsername does nothing. BasicAuth and DigestAuth call it.
func SetUsername(ctx context.Context, username string) {
	if slot, ok := ctx.Value(usernameKey{}).(*string); ok {
		*slot = username
	}
}

// authResponse is a 401 with these challenges and a plain-text body.
func authResponse(challenges []string, body string, keepAlive bool) *Response {
	h := http.Header{
		"Www-Authenticate": challenges,
		"Content-Type":     {"text/plain; charset=utf-8"},
	}
	if !keepAlive {
		h.Set("Connection", "close")
	}
	return &Response{Status: http.StatusUnauthorized, Header: h, Body: []byte(body)}
}

// hashEqual compares secrets in constant time (their lengths too).
func hashEqual(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

// -------------------------------------------------------------------- Basic

// BasicAuth is HTTP Basic authentication (RFC 7617) for the opening
// handshake, as Python websockets' basic_auth: use its ProcessRequest
// method as ServerOptions.ProcessRequest. Requests without valid
// credentials get 401 with `WWW-Authenticate: Basic realm="…",
// charset="UTF-8"` and a body saying "Missing credentials", "Unsupported
// credentials" (another scheme, bad base64, no ':') or "Invalid
// credentials". On success the handshake goes on and Conn.Username
// returns the user name. Use it over TLS: Basic sends the password in
// clear.
type BasicAuth struct {
	// Realm is sent in the challenge.
	Realm string
	// Credentials maps user names to passwords, compared in constant time.
	Credentials map[string]string
	// Check, if set, replaces Credentials: it reports whether the
	// credentials are valid. An error answers 500.
	Check func(ctx context.Context, username, password string) (bool, error)
}

// ProcessRequest checks the request's Basic credentials.
func (a *BasicAuth) ProcessRequest(ctx context.Context, r *http.Request) (*Response, error) {
	if a.Check == nil && a.Credentials == nil {
		return nil, errors.New("ws: BasicAuth needs Credentials or Check")
	}
	challenge := []string{"Basic realm=" + quote(a.Realm) + `, charset="UTF-8"`}
	authz := r.Header.Get("Authorization")
	if authz == "" {
		return authResponse(challenge, "Missing credentials\n", false), nil
	}
	user, password, ok := parseBasic(authz)
	if !ok {
		return authResponse(challenge, "Unsupported credentials\n", false), nil
	}
	var valid bool
	if a.Check != nil {
		var err error
		if valid, err = a.Check(ctx, user, password); err != nil {
			return nil, err
		}
	} else {
		want, known := a.Credentials[user]
		valid = hashEqual(password, want) && known
	}
	if !valid {
		return authResponse(challenge, "Invalid credentials\n", false), nil
	}
	SetUsername(ctx, user)
	return nil, nil
}

// parseBasic parses "Basic <base64(user:password)>".
func parseBasic(authz string) (user, password string, ok bool) {
	scheme, token, _ := strings.Cut(strings.TrimSpace(authz), " ")
	if !strings.EqualFold(scheme, "Basic") {
		return "", "", false
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(token))
	if err != nil {
		return "", "", false
	}
	user, password, ok = strings.Cut(string(b), ":")
	return user, password, ok
}

// ------------------------------------------------------------------- Digest

// DefaultNonceLifetime is how long a DigestAuth nonce stays valid.
const DefaultNonceLifetime = 5 * time.Minute

// DigestAuth is HTTP Digest authentication (RFC 7616) for the opening
// handshake: use its ProcessRequest method as ServerOptions.ProcessRequest,
// and the same *DigestAuth for every request (it keeps state). The
// password never crosses the network. It answers 401 with one challenge
// per algorithm (qop="auth", a nonce and an opaque value); a request with
// a valid response goes on, and Conn.Username returns the user name.
//
// Nonces are stateless until used: each carries its expiry and a MAC.
// An expired nonce gets a new challenge with stale=true, so a client can
// retry without asking its user again. Replays are refused: for each nonce
// in use, the nonce count (nc) must grow from one request to the next.
type DigestAuth struct {
	// Realm is sent in the challenge and is part of the hash.
	Realm string
	// Credentials maps user names to passwords.
	Credentials map[string]string
	// Password, if set, replaces Credentials: it returns the password of
	// username and whether the user exists. An error answers 500.
	Password func(ctx context.Context, username string) (password string, ok bool, err error)
	// Algorithms are offered in this order: "SHA-256", "MD5",
	// "SHA-512-256", each optionally with "-sess". Default: SHA-256, then
	// MD5 (which older clients still need).
	Algorithms []string
	// NonceLifetime is how long a nonce is valid; default
	// DefaultNonceLifetime.
	NonceLifetime time.Duration
	// Now replaces time.Now (tests).
	Now func() time.Time

	once   sync.Once
	key    [32]byte
	opaque string

	mu        sync.Mutex
	counts    map[string]nonceUse
	lastPrune time.Time
}

// nonceUse is the highest nonce count seen for a nonce, until it expires.
type nonceUse struct {
	nc      uint64
	expires time.Time
}

func (a *DigestAuth) init() {
	a.once.Do(func() {
		_, _ = rand.Read(a.key[:])
		var o [16]byte
		_, _ = rand.Read(o[:])
		a.opaque = base64.RawURLEncoding.EncodeToString(o[:])
		a.counts = make(map[string]nonceUse)
	})
}

func (a *DigestAuth) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *DigestAuth) lifetime() time.Duration {
	if a.NonceLifetime > 0 {
		return a.NonceLifetime
	}
	return DefaultNonceLifetime
}

func (a *DigestAuth) algorithms() []string {
	if len(a.Algorithms) > 0 {
		return a.Algorithms
	}
	return []string{"SHA-256", "MD5"}
}

// newNonce returns base64url(expiry (8 bytes) | random (12) | MAC (16)).
func (a *DigestAuth) newNonce() string {
	var b [36]byte
	binary.BigEndian.PutUint64(b[:8], uint64(a.now().Add(a.lifetime()).UnixNano()))
	_, _ = rand.Read(b[8:20])
	copy(b[20:], a.mac(b[:20]))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (a *DigestAuth) mac(b []byte) []byte {
	m := hmac.New(sha256.New, a.key[:])
	m.Write(b)
	return m.Sum(nil)[:16]
}

// checkNonce reports whether nonce was issued here, and when it expires.
func (a *DigestAuth) checkNonce(nonce string) (time.Time, bool) {
	b, err := base64.RawURLEncoding.DecodeString(nonce)
	if err != nil || len(b) != 36 || !hmac.Equal(b[20:], a.mac(b[:20])) {
		return time.Time{}, false
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(b[:8]))), true
}

func (a *DigestAuth) challenge(stale bool) []string {
	nonce := a.newNonce()
	var out []string
	for _, alg := range a.algorithms() {
		c := "Digest realm=" + quote(a.Realm) + `, qop="auth", algorithm=` + alg +
			", nonce=" + quote(nonce) + ", opaque=" + quote(a.opaque)
		if stale {
			c += ", stale=true"
		}
		out = append(out, c)
	}
	return out
}

// ProcessRequest checks the request's Digest credentials.
func (a *DigestAuth) ProcessRequest(ctx context.Context, r *http.Request) (*Response, error) {
	if a.Password == nil && a.Credentials == nil {
		return nil, errors.New("ws: DigestAuth needs Credentials or Password")
	}
	a.init()
	// The 401 does not close the connection: the client may answer the
	// challenge on it (net/http keeps it open; the standalone Server
	// closes it anyway).
	fail := func(body string) (*Response, error) {
		return authResponse(a.challenge(false), body, true), nil
	}
	authz := r.Header.Values("Authorization")
	if len(authz) == 0 {
		return fail("Missing credentials\n")
	}
	chs := parseAuthHeader(authz)
	if len(chs) != 1 || chs[0].scheme != "digest" {
		return fail("Unsupported credentials\n")
	}
	p := chs[0].params
	user, ok := digestUsername(p)
	alg := p["algorithm"]
	if alg == "" {
		alg = "MD5"
	}
	if !ok || p["realm"] != a.Realm || p["opaque"] != a.opaque || !a.offers(alg) ||
		p["qop"] != "auth" || p["cnonce"] == "" || len(p["nc"]) != 8 {
		return fail("Unsupported credentials\n")
	}
	nc, err := strconv.ParseUint(p["nc"], 16, 32)
	if err != nil || nc == 0 {
		return fail("Unsupported credentials\n")
	}
	uri := r.RequestURI
	if uri == "" {
		uri = r.URL.RequestURI()
	}
	if p["uri"] != uri {
		return fail("Unsupported credentials\n")
	}
	expires, ok := a.checkNonce(p["nonce"])
	if !ok {
		return fail("Invalid credentials\n")
	}
	password, known, err := a.password(ctx, user)
	if err != nil {
		return nil, err
	}
	d := digestParams{
		algorithm: alg, username: user, realm: a.Realm, password: password,
		method: r.Method, uri: p["uri"], nonce: p["nonce"], nc: p["nc"], cnonce: p["cnonce"], qop: "auth",
	}
	want, _ := d.response()
	if !hashEqual(strings.ToLower(p["response"]), want) || !known {
		return fail("Invalid credentials\n")
	}
	now := a.now()
	if !now.Before(expires) {
		return authResponse(a.challenge(true), "Stale nonce\n", true), nil
	}
	if !a.useCount(p["nonce"], nc, expires, now) {
		return fail("Replayed credentials\n")
	}
	SetUsername(ctx, user)
	return nil, nil
}

func (a *DigestAuth) offers(alg string) bool {
	for _, x := range a.algorithms() {
		if strings.EqualFold(x, alg) {
			return true
		}
	}
	return false
}

func (a *DigestAuth) password(ctx context.Context, user string) (string, bool, error) {
	if a.Password != nil {
		return a.Password(ctx, user)
	}
	pw, ok := a.Credentials[user]
	return pw, ok, nil
}

// useCount records nc for nonce and reports whether it is higher than any
// seen before (replay protection). Expired entries are pruned.
func (a *DigestAuth) useCount(nonce string, nc uint64, expires, now time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if now.Sub(a.lastPrune) > a.lifetime()/4 {
		for k, v := range a.counts {
			if !now.Before(v.expires) {
				delete(a.counts, k)
			}
		}
		a.lastPrune = now
	}
	if u, ok := a.counts[nonce]; ok && nc <= u.nc {
		return false
	}
	a.counts[nonce] = nonceUse{nc: nc, expires: expires}
	return true
}

// digestUsername returns the username, or the username* parameter (RFC
// 8187: UTF-8”percent-encoded). userhash is not supported (never
// offered).
func digestUsername(p map[string]string) (string, bool) {
	if strings.EqualFold(p["userhash"], "true") {
		return "", false
	}
	if ext, ok := p["username*"]; ok {
		if _, has := p["username"]; has {
			return "", false
		}
		charset, rest, ok := strings.Cut(ext, "'")
		if !ok || !strings.EqualFold(charset, "UTF-8") {
			return "", false
		}
		_, enc, ok := strings.Cut(rest, "'")
		if !ok {
			return "", false
		}
		s, err := url.PathUnescape(enc)
		if err != nil || !utf8.ValidString(s) {
			return "", false
		}
		return s, true
	}
	u, ok := p["username"]
	return u, ok && u != ""
}
