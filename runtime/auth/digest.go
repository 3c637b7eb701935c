package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tetherws/tether/runtime"
	"github.com/tetherws/tether/runtime/internal/httpauth"
)

// DefaultNonceLifetime is how long a DigestAuth nonce stays valid.
const DefaultNonceLifetime = 5 * time.Minute

// DigestAuth is HTTP Digest authentication (RFC 7616) for the opening
// handshake: use its ProcessRequest method as
// runtime.ServerOptions.ProcessRequest, and the same *DigestAuth for every
// request (it keeps state). The password never crosses the network. It
// answers 401 with one challenge per algorithm (qop="auth", a nonce and an
// opaque value); a request with a valid response goes on, and
// runtime.Conn.Username returns the user name.
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
		c := "Digest realm=" + httpauth.Quote(a.Realm) + `, qop="auth", algorithm=` + alg +
			", nonce=" + httpauth.Quote(nonce) + ", opaque=" + httpauth.Quote(a.opaque)
		if stale {
			c += ", stale=true"
		}
		out = append(out, c)
	}
	return out
}

// ProcessRequest checks the request's Digest credentials.
func (a *DigestAuth) ProcessRequest(ctx context.Context, r *http.Request) (*runtime.Response, error) {
	if a.Password == nil && a.Credentials == nil {
		return nil, errors.New("auth: DigestAuth needs Credentials or Password")
	}
	a.init()
	// The 401 does not close the connection: the client may answer the
	// challenge on it (net/http keeps it open; the standalone Server
	// closes it anyway).
	fail := func(body string) (*runtime.Response, error) {
		return unauthorized(a.challenge(false), body, true), nil
	}
	authz := r.Header.Values("Authorization")
	if len(authz) == 0 {
		return fail("Missing credentials\n")
	}
	chs := httpauth.Parse(authz)
	if len(chs) != 1 || chs[0].Scheme != "digest" {
		return fail("Unsupported credentials\n")
	}
	p := chs[0].Params
	user, ok := httpauth.DigestUsername(p)
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
	d := httpauth.Digest{
		Algorithm: alg, Username: user, Realm: a.Realm, Password: password,
		Method: r.Method, URI: p["uri"], Nonce: p["nonce"], NC: p["nc"], Cnonce: p["cnonce"], QOP: "auth",
	}
	want, _ := d.Response()
	if !secretEqual(strings.ToLower(p["response"]), want) || !known {
		return fail("Invalid credentials\n")
	}
	now := a.now()
	if !now.Before(expires) {
		return unauthorized(a.challenge(true), "Stale nonce\n", true), nil
	}
	if !a.useCount(p["nonce"], nc, expires, now) {
		return fail("Replayed credentials\n")
	}
	runtime.SetUsername(ctx, user)
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
		pw, ok, err := a.Password(ctx, user)
		if err != nil {
			return "", false, fmt.Errorf("auth: looking up the Digest password: %w", err)
		}
		return pw, ok, nil
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
