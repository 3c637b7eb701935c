package iri

import (
	"strings"

	"golang.org/x/net/idna"
)

// ToURI converts an IRI to a URI: a non-ASCII host is IDNA-encoded (UTS
// #46 lookup profile, so it is also case-folded); in the user info, path
// and query, non-ASCII characters are percent-encoded as UTF-8, and so are
// spaces, controls and the characters a request line can't carry
// ("<>\^`{|}). '%' is kept: existing escapes are not encoded twice (Python
// websockets encodes them again). A URI with nothing to encode comes back
// unchanged. The only error is a host that IDNA rejects.
func ToURI(raw string) (string, error) {
	if !needsEncoding(raw) {
		return raw, nil
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return percentEncode(raw), nil
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
	return scheme + "://" + percentEncode(userinfo) + host + port + percentEncode(tail), nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// needsEncoding reports whether s has a byte that ToURI changes.
func needsEncoding(s string) bool {
	for i := 0; i < len(s); i++ {
		if escaped(s[i]) {
			return true
		}
	}
	return false
}

// escaped reports whether ToURI percent-encodes c.
func escaped(c byte) bool {
	return c >= 0x80 || c <= ' ' || c == 0x7f || strings.IndexByte("\"<>\\^`{|}", c) >= 0
}

func percentEncode(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if escaped(c) {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}
