package runtime

import (
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/net/idna"

	"github.com/tetherws/tether/ws"
)

// parseIRI turns an IRI into a URI (see iriToURI) and checks it with
// ws.ParseURI.
func parseIRI(raw string) (*url.URL, error) {
	s, err := iriToURI(raw)
	if err != nil {
		return nil, &ws.HandshakeError{Msg: "invalid URI " + strconv.Quote(raw) + ": " + err.Error(), Err: ws.ErrInvalidURI}
	}
	return ws.ParseURI(s)
}

// iriToURI converts an IRI (RFC 3987) to a URI: a non-ASCII host is
// IDNA-encoded (UTS #46 lookup profile, so it is also case-folded); in the
// user info, path and query, non-ASCII characters are percent-encoded as
// UTF-8, and so are spaces, controls and the characters a request line
// can't carry ("<>\^`{|}). '%' is kept: existing escapes are not encoded
// twice (Python websockets encodes them again). A URI with nothing to
// encode comes back unchanged.
func iriToURI(raw string) (string, error) {
	if !needsIRIEncoding(raw) {
		return raw, nil
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return percentEncodeIRI(raw), nil
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	userinfo, hostport := "", authority
	if at := strings.LastIndex(authority, "@"); at >= 0 {
		userinfo, hostport = authority[:at+1], authority[at+1:]
	}
	host, port := hostport, ""
	if !strings.HasPrefix(hostport, "[") {
		if i := strings.LastIndex(hostport, ":"); i >= 0 {
			host, port = hostport[:i], hostport[i:]
		}
	}
	if !isASCII(host) {
		a, err := idna.Lookup.ToASCII(host)
		if err != nil {
			return "", err
		}
		host = a
	}
	return scheme + "://" + percentEncodeIRI(userinfo) + host + port + percentEncodeIRI(tail), nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// needsIRIEncoding reports whether s has a byte that iriToURI changes.
func needsIRIEncoding(s string) bool {
	for i := 0; i < len(s); i++ {
		if iriEscape(s[i]) {
			return true
		}
	}
	return false
}

func iriEscape(c byte) bool {
	return c >= 0x80 || c <= ' ' || c == 0x7f || strings.IndexByte("\"<>\\^`{|}", c) >= 0
}

func percentEncodeIRI(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if iriEscape(c) {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}
