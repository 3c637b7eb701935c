package runtime

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"net/url"
	"strings"
)

func basicAuthorization(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
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
