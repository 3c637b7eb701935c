package httpauth

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
	"unicode/utf8"
)

// algorithm returns the hash of a Digest algorithm name (MD5, SHA-256,
// SHA-512-256, each also with -sess; empty means MD5), or nil.
func algorithm(name string) (newHash func() hash.Hash, sess bool) {
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

// Digest holds the inputs of a Digest response (RFC 7616 §3.4.1).
type Digest struct {
	Algorithm, Username, Realm, Password string
	Method, URI, Nonce, NC, Cnonce, QOP  string
}

// Response computes the request-digest, in lower-case hex. ok is false for
// an unknown algorithm or qop. With qop "auth-int" the entity body is
// taken to be empty, as an opening handshake's is.
func (d *Digest) Response() (response string, ok bool) {
	newHash, sess := algorithm(d.Algorithm)
	if newHash == nil {
		return "", false
	}
	ha1 := hexHash(newHash, d.Username+":"+d.Realm+":"+d.Password)
	if sess {
		ha1 = hexHash(newHash, ha1+":"+d.Nonce+":"+d.Cnonce)
	}
	a2 := d.Method + ":" + d.URI
	switch d.QOP {
	case "", "auth":
	case "auth-int":
		a2 += ":" + hexHash(newHash, "")
	default:
		return "", false
	}
	ha2 := hexHash(newHash, a2)
	if d.QOP == "" { // RFC 2069 compatibility
		return hexHash(newHash, ha1+":"+d.Nonce+":"+ha2), true
	}
	return hexHash(newHash, ha1+":"+d.Nonce+":"+d.NC+":"+d.Cnonce+":"+d.QOP+":"+ha2), true
}

// DigestChallenge is a Digest challenge a client can answer.
type DigestChallenge struct {
	Realm, Nonce, Opaque, Algorithm string
	// QOP is "auth", "auth-int", or empty when the challenge offers none.
	QOP string
	// Userhash asks for the user name hashed with the realm.
	Userhash bool
}

// PickDigestChallenge returns the first Digest challenge of these
// WWW-Authenticate values with a supported algorithm and qop ("auth"
// preferred to "auth-int"), or nil.
func PickDigestChallenge(values []string) *DigestChallenge {
	for _, ch := range Parse(values) {
		if ch.Scheme != "digest" || ch.Params["nonce"] == "" {
			continue
		}
		if newHash, _ := algorithm(ch.Params["algorithm"]); newHash == nil {
			continue
		}
		qop, ok := "", true
		if q, present := ch.Params["qop"]; present {
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
		return &DigestChallenge{
			Realm: ch.Params["realm"], Nonce: ch.Params["nonce"], Opaque: ch.Params["opaque"],
			Algorithm: ch.Params["algorithm"], QOP: qop,
			Userhash: strings.EqualFold(ch.Params["userhash"], "true"),
		}
	}
	return nil
}

// Authorization builds the Authorization value that answers c (RFC 7616
// §3.4) for a request with this method and request-target, with the
// client nonce cnonce and the nonce count nc. A user name that is not
// ASCII goes in username* (RFC 8187) unless c asks for a hashed one.
func (c *DigestChallenge) Authorization(username, password, method, uri, cnonce string, nc uint32) (string, error) {
	d := Digest{
		Algorithm: c.Algorithm, Username: username, Realm: c.Realm, Password: password,
		Method: method, URI: uri, Nonce: c.Nonce, NC: fmt.Sprintf("%08x", nc), Cnonce: cnonce, QOP: c.QOP,
	}
	resp, ok := d.Response()
	if !ok {
		return "", fmt.Errorf("tether: unsupported Digest algorithm %q", c.Algorithm)
	}
	var b strings.Builder
	b.WriteString("Digest ")
	switch {
	case c.Userhash:
		newHash, _ := algorithm(c.Algorithm)
		b.WriteString("username=" + Quote(hexHash(newHash, username+":"+c.Realm)))
	case strings.IndexFunc(username, func(r rune) bool { return r >= utf8.RuneSelf }) < 0:
		b.WriteString("username=" + Quote(username))
	default:
		b.WriteString("username*=UTF-8''" + url.PathEscape(username))
	}
	b.WriteString(", realm=" + Quote(c.Realm))
	b.WriteString(", uri=" + Quote(uri))
	if c.Algorithm != "" {
		b.WriteString(", algorithm=" + c.Algorithm)
	}
	b.WriteString(", nonce=" + Quote(c.Nonce))
	if c.QOP != "" {
		b.WriteString(", nc=" + d.NC + ", cnonce=" + Quote(cnonce) + ", qop=" + c.QOP)
	}
	b.WriteString(", response=" + Quote(resp))
	if c.Opaque != "" {
		b.WriteString(", opaque=" + Quote(c.Opaque))
	}
	if c.Userhash {
		b.WriteString(", userhash=true")
	}
	return b.String(), nil
}

// NewCnonce returns a fresh random client nonce.
func NewCnonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// DigestUsername returns the user name of Digest credentials: the
// username parameter, or username* (RFC 8187: the charset UTF-8, an
// optional language and the percent-encoded name, apostrophe-separated).
// ok is false when there is none, when both are present, or for a hashed
// user name (userhash=true), which is not supported.
func DigestUsername(params map[string]string) (username string, ok bool) {
	if strings.EqualFold(params["userhash"], "true") {
		return "", false
	}
	if ext, ok := params["username*"]; ok {
		if _, has := params["username"]; has {
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
	u, ok := params["username"]
	return u, ok && u != ""
}
