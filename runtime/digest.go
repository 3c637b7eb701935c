package runtime

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/tetherws/tether/ws"
)

// Credentials authenticate the client's opening handshake with HTTP Basic
// or Digest authentication (RFC 7617, RFC 7616).
type Credentials struct {
	Username, Password string
	// DigestOnly never sends the password in Basic credentials: the first
	// request carries none, and only a Digest challenge is answered.
	// Without it, Basic credentials go with the first request (as Python
	// websockets does with user info in the URL), and a 401 Digest
	// challenge is still answered.
	DigestOnly bool
}

// dialAttempt makes one connection attempt to u: connect, then the
// handshake. With credentials (cred, else the user info of u), it sends
// Basic credentials unless cred.DigestOnly, and answers a 401 Digest
// challenge once: on the same connection when the server keeps it open,
// else on a fresh one.
func (o *DialOptions) dialAttempt(ctx context.Context, u *url.URL, hdr http.Header, cred *Credentials, opts resolved) (*Conn, *http.Response, error) {
	oc := *o
	oc.Header = hdr
	if cred == nil && u.User != nil {
		pw, _ := u.User.Password()
		cred = &Credentials{Username: u.User.Username(), Password: pw}
	}
	if cred != nil {
		bare := *u
		bare.User = nil
		u = &bare
		if !cred.DigestOnly {
			oc.Header = withHeader(hdr, "Authorization", basicAuthorization(cred.Username, cred.Password))
		}
	}
	nc, err := oc.connect(ctx, u)
	if err != nil {
		return nil, nil, openError(ctx, fmt.Errorf("ws: dial %s: %w", u.Redacted(), err))
	}
	c, resp, err := handshakeClient(ctx, nc, u, &oc, opts)
	if err == nil {
		return c, resp, nil
	}
	var ch *digestChallenge
	if cred != nil && resp != nil && resp.StatusCode == http.StatusUnauthorized && ctx.Err() == nil {
		ch = pickDigestChallenge(resp.Header.Values("Www-Authenticate"))
	}
	if ch == nil {
		_ = nc.Close()
		return nil, resp, openError(ctx, err)
	}
	method := http.MethodGet
	if o.HTTP2 {
		method = http.MethodConnect // RFC 8441: the handshake is a CONNECT
	}
	authz, aerr := ch.authorization(cred.Username, cred.Password, method, u.RequestURI(), newCnonce(), 1)
	if aerr != nil {
		_ = nc.Close()
		return nil, resp, fmt.Errorf("%w (digest: %w)", err, aerr)
	}
	opts.Logger.Debug("answering a Digest challenge", "algorithm", ch.algorithm)
	oc.Header = withHeader(hdr, "Authorization", authz)
	if keepsAlive(resp) && !o.HTTP2 { // an HTTP/2 retry needs a new session
		c, resp2, err2 := handshakeClient(ctx, nc, u, &oc, opts)
		if err2 == nil {
			return c, resp2, nil
		}
		_ = nc.Close()
		if resp2 != nil || ctx.Err() != nil || o.NetConn != nil {
			return nil, resp2, openError(ctx, err2)
		}
		// The server closed the connection after all: use a fresh one.
	} else {
		_ = nc.Close()
		if o.NetConn != nil {
			return nil, resp, err
		}
	}
	if nc, err = oc.connect(ctx, u); err != nil {
		return nil, nil, openError(ctx, fmt.Errorf("ws: dial %s: %w", u.Redacted(), err))
	}
	if c, resp, err = handshakeClient(ctx, nc, u, &oc, opts); err != nil {
		_ = nc.Close()
		return nil, resp, openError(ctx, err)
	}
	return c, resp, nil
}

// openError says that a failure was caused by the open timeout: the
// context ended, or a socket deadline passed. A read cut by the deadline
// is also a *ws.HandshakeError ("connection closed in the HTTP head"), and
// the deadline, which comes from the context, may pass a moment before
// ctx.Err() says so: label it all the same.
func openError(ctx context.Context, err error) error {
	if isTimeout(err) || ctx.Err() != nil && !errors.Is(err, ws.ErrInvalidHandshake) {
		return fmt.Errorf("ws: timed out during opening handshake: %w", err)
	}
	return err
}

// isTimeout reports a network timeout (os.ErrDeadlineExceeded among them)
// or an expired context.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded)
}

// withHeader returns a copy of h with key set to value.
func withHeader(h http.Header, key, value string) http.Header {
	h = h.Clone()
	if h == nil {
		h = make(http.Header)
	}
	h.Set(key, value)
	return h
}

func basicAuthorization(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// keepsAlive reports whether the connection that carried resp, whose body
// has been read, may carry another request: HTTP/1.1, no "Connection:
// close", and a body delimited by Content-Length or chunked encoding.
func keepsAlive(resp *http.Response) bool {
	if resp.ProtoMajor != 1 || resp.ProtoMinor != 1 {
		return false
	}
	for _, v := range resp.Header.Values("Connection") {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), "close") {
				return false
			}
		}
	}
	if resp.Header.Get("Content-Length") != "" {
		return true
	}
	te := resp.Header.Values("Transfer-Encoding")
	return len(te) > 0 && strings.EqualFold(strings.TrimSpace(te[len(te)-1]), "chunked")
}

func newCnonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// ------------------------------------------------------------ challenges

// authChallenge is one challenge of WWW-Authenticate, or the credentials
// of Authorization: a scheme and its parameters (names in lower case).
type authChallenge struct {
	scheme string
	params map[string]string
}

// parseAuthHeader parses the challenges of WWW-Authenticate values (RFC
// 9110 §11.6.1), or credentials, leniently: a challenge is a scheme
// followed by name=value pairs (token or quoted-string) separated by
// commas. Token68 credentials are not parsed (no scheme here needs them).
func parseAuthHeader(values []string) []authChallenge {
	var out []authChallenge
	for _, v := range values {
		p := authParser{s: v}
		for {
			p.skip(", \t")
			scheme := p.token()
			if scheme == "" {
				break
			}
			ch := authChallenge{scheme: strings.ToLower(scheme), params: map[string]string{}}
			for {
				p.skip(" \t")
				save := p.i
				name := p.token()
				p.skip(" \t")
				if name == "" || !p.peek('=') {
					p.i = save
					if name == "" && p.i < len(p.s) && p.s[p.i] != ',' {
						p.i = len(p.s) // unparseable: stop
					}
					break
				}
				p.i++
				p.skip(" \t")
				ch.params[strings.ToLower(name)] = p.value()
				p.skip(" \t")
				if !p.peek(',') {
					break
				}
				// After a comma: another parameter, or the next challenge
				// (a token not followed by '=').
				p.i++
				p.skip(", \t")
				save = p.i
				p.token()
				p.skip(" \t")
				isParam := p.peek('=')
				p.i = save
				if !isParam {
					break
				}
			}
			out = append(out, ch)
		}
	}
	return out
}

type authParser struct {
	s string
	i int
}

func (p *authParser) skip(chars string) {
	for p.i < len(p.s) && strings.IndexByte(chars, p.s[p.i]) >= 0 {
		p.i++
	}
}

func (p *authParser) peek(c byte) bool { return p.i < len(p.s) && p.s[p.i] == c }

func (p *authParser) token() string {
	start := p.i
	for p.i < len(p.s) && isTokenChar(p.s[p.i]) {
		p.i++
	}
	return p.s[start:p.i]
}

func isTokenChar(c byte) bool {
	return c > ' ' && c < 0x7f && strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) < 0
}

// value reads a token or a quoted-string (unescaped).
func (p *authParser) value() string {
	if !p.peek('"') {
		return p.token()
	}
	p.i++
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		p.i++
		switch c {
		case '\\':
			if p.i < len(p.s) {
				b.WriteByte(p.s[p.i])
				p.i++
			}
		case '"':
			return b.String()
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// quote returns s as a quoted-string.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// ------------------------------------------------------------------ digest

// digestAlgorithm returns the hash of a Digest algorithm name (MD5,
// SHA-256, SHA-512-256, each also with -sess), or nil.
func digestAlgorithm(name string) (newHash func() hash.Hash, sess bool) {
	base, sess := strings.CutSuffix(strings.ToUpper(name), "-SESS")
	switch base {
	case "", "MD5":
		return md5.New, sess
	case "SHA-256":
		return sha256.New, sess
	case "SHA-512-256":
		return sha512.New512_256, sess
	}
	return nil, false
}

func hexHash(newHash func() hash.Hash, s string) string {
	h := newHash()
	h.Write([]byte(s))
	return hex.EncodeToString(h.Sum(nil))
}

// digestParams are the inputs of the response of RFC 7616 §3.4.1.
type digestParams struct {
	algorithm, username, realm, password string
	method, uri, nonce, nc, cnonce, qop  string
}

// response computes the request-digest; ok is false for an unknown
// algorithm or qop.
func (d *digestParams) response() (string, bool) {
	newHash, sess := digestAlgorithm(d.algorithm)
	if newHash == nil {
		return "", false
	}
	ha1 := hexHash(newHash, d.username+":"+d.realm+":"+d.password)
	if sess {
		ha1 = hexHash(newHash, ha1+":"+d.nonce+":"+d.cnonce)
	}
	a2 := d.method + ":" + d.uri
	switch d.qop {
	case "", "auth":
	case "auth-int": // a handshake request has no body: H(entity-body) of ""
		a2 += ":" + hexHash(newHash, "")
	default:
		return "", false
	}
	ha2 := hexHash(newHash, a2)
	if d.qop == "" { // RFC 2069 compatibility
		return hexHash(newHash, ha1+":"+d.nonce+":"+ha2), true
	}
	return hexHash(newHash, ha1+":"+d.nonce+":"+d.nc+":"+d.cnonce+":"+d.qop+":"+ha2), true
}

// digestChallenge is a Digest challenge the client can answer.
type digestChallenge struct {
	realm, nonce, opaque, algorithm, qop string
	userhash                             bool
}

// pickDigestChallenge returns the first Digest challenge with a supported
// algorithm and qop (auth preferred to auth-int), or nil.
func pickDigestChallenge(values []string) *digestChallenge {
	for _, ch := range parseAuthHeader(values) {
		if ch.scheme != "digest" || ch.params["nonce"] == "" {
			continue
		}
		if newHash, _ := digestAlgorithm(ch.params["algorithm"]); newHash == nil {
			continue
		}
		qop, ok := "", true
		if q, present := ch.params["qop"]; present {
			ok = false
			for t := range strings.SplitSeq(q, ",") {
				switch strings.ToLower(strings.TrimSpace(t)) {
				case "auth":
					qop, ok = "auth", true
				case "auth-int":
					if qop == "" {
						qop, ok = "auth-int", true
					}
				}
			}
		}
		if !ok {
			continue
		}
		return &digestChallenge{
			realm: ch.params["realm"], nonce: ch.params["nonce"], opaque: ch.params["opaque"],
			algorithm: ch.params["algorithm"], qop: qop,
			userhash: strings.EqualFold(ch.params["userhash"], "true"),
		}
	}
	return nil
}

// authorization builds the Authorization header answering c (RFC 7616
// §3.4) with this nonce count.
func (c *digestChallenge) authorization(username, password, method, uri, cnonce string, nc uint32) (string, error) {
	d := digestParams{
		algorithm: c.algorithm, username: username, realm: c.realm, password: password,
		method: method, uri: uri, nonce: c.nonce, nc: fmt.Sprintf("%08x", nc), cnonce: cnonce, qop: c.qop,
	}
	resp, ok := d.response()
	if !ok {
		return "", fmt.Errorf("unsupported Digest algorithm %q", c.algorithm)
	}
	var b strings.Builder
	b.WriteString("Digest ")
	switch {
	case c.userhash:
		newHash, _ := digestAlgorithm(c.algorithm)
		b.WriteString("username=" + quote(hexHash(newHash, username+":"+c.realm)))
	case isASCII(username):
		b.WriteString("username=" + quote(username))
	default: // RFC 7616 §3.4.4, RFC 8187
		b.WriteString("username*=UTF-8''" + url.PathEscape(username))
	}
	b.WriteString(", realm=" + quote(c.realm))
	b.WriteString(", uri=" + quote(uri))
	if c.algorithm != "" {
		b.WriteString(", algorithm=" + c.algorithm)
	}
	b.WriteString(", nonce=" + quote(c.nonce))
	if c.qop != "" {
		b.WriteString(", nc=" + d.nc + ", cnonce=" + quote(cnonce) + ", qop=" + c.qop)
	}
	b.WriteString(", response=" + quote(resp))
	if c.opaque != "" {
		b.WriteString(", opaque=" + quote(c.opaque))
	}
	if c.userhash {
		b.WriteString(", userhash=true")
	}
	return b.String(), nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
