package ws

import (
	"net/http"
	"net/url"
	"strings"
)

// checkOrigin runs the Origin check of ServerHandshake: CheckOrigin when
// set; else the lists Origins and OriginPatterns when either is set; else,
// with SameOrigin, the same-origin rule; else none.
func (s *ServerHandshake) checkOrigin(r *http.Request) error {
	if s.CheckOrigin != nil {
		if err := s.CheckOrigin(r); err != nil {
			return &HandshakeError{Status: http.StatusForbidden, Msg: "invalid Origin header: " + err.Error(), Err: ErrInvalidOrigin}
		}
		return nil
	}
	lists := len(s.Origins) > 0 || len(s.OriginPatterns) > 0
	if !lists && !s.SameOrigin {
		return nil
	}
	origins := r.Header.Values("Origin")
	switch len(origins) {
	case 0:
		if s.AllowMissingOrigin || !lists {
			return nil // not a browser: same-origin does not apply
		}
		return reject(http.StatusForbidden, ErrInvalidOrigin, "missing Origin header")
	case 1:
	default:
		return reject(http.StatusBadRequest, ErrInvalidOrigin, "more than one Origin header")
	}
	o := origins[0]
	if !lists {
		if IsSameOrigin(r, o) {
			return nil
		}
		return reject(http.StatusForbidden, ErrInvalidOrigin, "invalid Origin header: "+quoteForError(o)+
			" is not the origin of this server, "+quoteForError(RequestScheme(r)+"://"+r.Host))
	}
	for _, want := range s.Origins {
		if strings.EqualFold(o, want) {
			return nil
		}
	}
	for _, re := range s.OriginPatterns {
		if loc := re.FindStringIndex(o); loc != nil && loc[0] == 0 && loc[1] == len(o) {
			return nil
		}
	}
	return reject(http.StatusForbidden, ErrInvalidOrigin, "invalid Origin header: "+quoteForError(o))
}

// RequestScheme returns the scheme a browser used to reach the server
// with r: "https" when r came over TLS (r.TLS is set) or through a proxy
// that terminated TLS and says so with "X-Forwarded-Proto: https";
// otherwise "http". (A page's script cannot set X-Forwarded-Proto on a
// WebSocket handshake, so the header cannot help a cross-site page.)
func RequestScheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	if v := r.Header.Get("X-Forwarded-Proto"); v != "" {
		first, _, _ := strings.Cut(v, ",")
		if strings.EqualFold(strings.TrimSpace(first), "https") {
			return "https"
		}
	}
	return "http"
}

// IsSameOrigin reports whether origin, the value of an Origin header (an
// RFC 6454 serialized origin, "scheme://host[:port]"), is the origin of
// the server r reached: the scheme is RequestScheme(r), the host equals
// r.Host's (ignoring case and a trailing dot), and so do the ports, a
// missing port being the scheme's default (80 for http, 443 for https).
// "null", other schemes and origins with a path, query or user info are
// never the same origin.
func IsSameOrigin(r *http.Request, origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Opaque != "" || u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.Host == "" {
		return false
	}
	scheme := RequestScheme(r)
	if !strings.EqualFold(u.Scheme, scheme) {
		return false
	}
	oname, oport := splitHost(u.Host)
	hname, hport := splitHost(r.Host)
	def := "80"
	if scheme == "https" {
		def = "443"
	}
	if oport == "" {
		oport = def
	}
	if hport == "" {
		hport = def
	}
	return oname != "" && strings.EqualFold(oname, hname) && oport == hport
}
