package proxy

import (
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/tetherws/tether/runtime/internal/iri"
	"github.com/tetherws/tether/ws"
)

// URL returns a chooser (for DialOptions.Proxy) that always picks the
// proxy at raw (see Parse); an invalid URL fails each connection with
// ErrInvalidURL.
func URL(raw string) func(target *url.URL) (*url.URL, error) {
	p, err := Parse(raw)
	return func(*url.URL) (*url.URL, error) { return p, err }
}

// Direct is a chooser (for DialOptions.Proxy) that always connects
// directly, whatever the environment says.
func Direct(*url.URL) (*url.URL, error) { return nil, nil }

// socksPort is the port of a SOCKS proxy URL without one: the port SOCKS
// proxies listen on (Python websockets uses 80).
const socksPort = "1080"

// schemes are the proxy schemes Parse accepts.
var schemes = map[string]bool{
	"http": true, "https": true,
	"socks5": true, "socks5h": true, "socks4": true, "socks4a": true,
}

// Parse checks a proxy URL: the scheme is http, https, socks5, socks5h
// (the proxy resolves the host name), socks4 or socks4a (the proxy
// resolves); a host is required; the path is empty or "/", with no query
// or fragment; a user name needs a password (except for SOCKS4, which has
// only a user id). A non-ASCII host is IDNA-encoded, and the scheme and
// host are lower-cased. Errors are *Error matching ErrInvalidURL.
func Parse(raw string) (*url.URL, error) {
	bad := func(why string, err error) error {
		return &Error{Proxy: redact(raw), Kind: ErrInvalidURL, Msg: why, Err: err}
	}
	conv, err := iri.ToURI(raw)
	if err != nil {
		return nil, bad("invalid URL", err)
	}
	u, err := url.Parse(conv)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			ue.URL = redact(ue.URL) // it quotes the URL, password included
		}
		return nil, bad("invalid URL", err)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if !schemes[u.Scheme] {
		return nil, bad("unsupported scheme "+strconv.Quote(u.Scheme), nil)
	}
	if u.Hostname() == "" {
		return nil, bad("missing host", nil)
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.Opaque != "" {
		return nil, bad("a proxy URL has no path, query or fragment", nil)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n <= 0 || n > 65535 {
			return nil, bad("invalid port", nil)
		}
	}
	if u.User != nil && !strings.HasPrefix(u.Scheme, "socks4") {
		if _, ok := u.User.Password(); !ok {
			return nil, bad("username provided without password", nil)
		}
	}
	u.Host = strings.ToLower(u.Host)
	return u, nil
}

// redact hides the password of a proxy URL that may not parse.
func redact(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	if i := strings.LastIndex(raw, "@"); i >= 0 {
		if j := strings.Index(raw, "://"); j >= 0 && j < i {
			return raw[:j+3] + "xxxxx" + raw[i:]
		}
		return "xxxxx" + raw[i:]
	}
	return raw
}

// hostPort returns the host:port of a proxy URL from Parse, or of a
// target URL, with the scheme's default port when it names none.
func hostPort(u *url.URL) string {
	port := ws.Port(u)
	if port == "" && strings.HasPrefix(u.Scheme, "socks") {
		port = socksPort
	}
	return net.JoinHostPort(u.Hostname(), port)
}
