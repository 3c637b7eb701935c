package runtime

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/tetherws/tether/runtime/internal/iri"
	"github.com/tetherws/tether/ws"
)

// DefaultMaxRedirects is the number of redirects Dial follows by default:
// with the first, at most 10 connection attempts, as in Python websockets.
const DefaultMaxRedirects = 9

// Redirect errors, to branch on with errors.Is; a *RedirectError matches
// one of them and ws.ErrInvalidHandshake.
var (
	// ErrTooManyRedirects: the redirect limit was reached.
	ErrTooManyRedirects = errors.New("ws: too many redirects")
	// ErrInsecureRedirect: a wss:// URL redirected to ws://, a TLS
	// downgrade.
	ErrInsecureRedirect = errors.New("ws: redirect from wss:// to ws://")
	// ErrRedirectRefused: a redirect that the connection can't follow:
	// any redirect over DialOptions.NetConn, a cross-origin one over
	// DialOptions.UnixSocket.
	ErrRedirectRefused = errors.New("ws: redirect refused")
)

// RedirectError is a redirect Dial did not follow. Err is the reason:
// ErrTooManyRedirects, ErrInsecureRedirect or ErrRedirectRefused.
type RedirectError struct {
	// StatusCode and Location are the redirect's (Location resolved
	// against the URL that answered, password redacted).
	StatusCode int
	Location   string
	Err        error
}

func (e *RedirectError) Error() string {
	return e.Err.Error() + " (HTTP " + strconv.Itoa(e.StatusCode) + " to " + e.Location + ")"
}

// Unwrap returns Err.
func (e *RedirectError) Unwrap() error { return e.Err }

// Is matches ws.ErrInvalidHandshake.
func (e *RedirectError) Is(target error) bool { return target == ws.ErrInvalidHandshake }

// isRedirect reports the statuses Dial follows when Location is present.
func isRedirect(status int) bool {
	switch status {
	case http.StatusMultipleChoices, http.StatusMovedPermanently, http.StatusFound,
		http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

// sameOrigin reports whether a and b have the same scheme, host and port.
func sameOrigin(a, b *url.URL) bool {
	return a.Scheme == b.Scheme && a.Hostname() == b.Hostname() && portOf(a) == portOf(b)
}

func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if u.Scheme == "wss" {
		return "443"
	}
	return "80"
}

// credentialHeaders are dropped from DialOptions.Header on a cross-origin
// redirect.
var credentialHeaders = []string{"Authorization", "Cookie", "Proxy-Authorization"}

// dialFollow dials u and follows redirects (300, 301, 302, 303, 307, 308
// with a Location), each on a new connection, all under ctx (one
// OpenTimeout). A cross-origin redirect drops the credentials: the
// Authorization, Cookie and Proxy-Authorization headers, o.Auth, and the
// user info of the previous URL.
func (o *DialOptions) dialFollow(ctx context.Context, u *url.URL, opts resolved) (*Conn, *http.Response, error) {
	limit := o.MaxRedirects
	switch {
	case limit == 0:
		limit = DefaultMaxRedirects
	case limit < 0:
		limit = 0
	}
	hdr, cred := o.Header, o.Auth
	for redirects := 0; ; redirects++ {
		c, resp, err := o.dialAttempt(ctx, u, hdr, cred, opts)
		var se *ws.StatusError
		if err == nil || o.MaxRedirects < 0 || !errors.As(err, &se) || !isRedirect(resp.StatusCode) || resp.Header.Get("Location") == "" {
			return c, resp, err
		}
		loc := resp.Header.Get("Location")
		next, perr := resolveLocation(u, loc)
		if perr != nil {
			return nil, resp, perr
		}
		refuse := func(why error) (*Conn, *http.Response, error) {
			return nil, resp, &RedirectError{StatusCode: resp.StatusCode, Location: next.Redacted(), Err: why}
		}
		switch {
		case redirects >= limit:
			return refuse(fmt.Errorf("%w: more than %d", ErrTooManyRedirects, limit))
		case u.Scheme == "wss" && next.Scheme == "ws":
			return refuse(ErrInsecureRedirect)
		case o.NetConn != nil:
			return refuse(fmt.Errorf("%w: the connection was given (NetConn)", ErrRedirectRefused))
		}
		if !sameOrigin(u, next) {
			if o.UnixSocket != "" {
				return refuse(fmt.Errorf("%w: cross-origin redirect over a Unix socket", ErrRedirectRefused))
			}
			hdr = hdr.Clone()
			for _, k := range credentialHeaders {
				hdr.Del(k)
			}
			cred = nil
		}
		if ctx.Err() != nil {
			return nil, resp, openError(ctx, ctx.Err())
		}
		opts.Logger.Debug("following redirect", "status", resp.StatusCode, "location", next.Redacted())
		u = next
	}
}

// resolveLocation resolves a Location header against u and checks the
// result like Dial's URL: a ws:// or wss:// URI (an IRI is converted).
func resolveLocation(u *url.URL, loc string) (*url.URL, error) {
	conv, err := iri.ToURI(loc)
	if err != nil {
		return nil, &ws.HandshakeError{Msg: "invalid redirect Location " + strconv.Quote(loc) + ": " + err.Error(), Err: ws.ErrInvalidURI}
	}
	ref, err := url.Parse(conv)
	if err != nil {
		return nil, &ws.HandshakeError{Msg: "invalid redirect Location " + strconv.Quote(loc) + ": " + err.Error(), Err: ws.ErrInvalidURI}
	}
	// A relative reference keeps the user info of u; one with a host
	// does not inherit it.
	return ws.ParseURI(u.ResolveReference(ref).String())
}
