package ws

import (
	"net/http"
	"strings"
)

// The token and quoted-string grammar of HTTP header values (RFC 9110
// §5.6.2 and §5.6.4), shared by the WebSocket headers here and by other
// header parsers (HTTP authentication parameters) in this module.

// IsTokenChar reports whether c may appear in an HTTP token (tchar).
func IsTokenChar(c byte) bool {
	if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// IsToken reports whether s is a non-empty HTTP token.
func IsToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !IsTokenChar(s[i]) {
			return false
		}
	}
	return true
}

// SkipOWS returns the index of the first byte of s at or after i that is
// not optional white space (a space or a horizontal tab).
func SkipOWS(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

// ParseToken returns the longest token of s starting at i (empty if s[i]
// is not a token character) and the index just past it.
func ParseToken(s string, i int) (token string, next int) {
	j := i
	for j < len(s) && IsTokenChar(s[j]) {
		j++
	}
	return s[i:j], j
}

// ParseQuoted parses the quoted-string that starts at s[i] == '"' and
// returns its value with the quoted-pairs unescaped, and the index just
// past the closing quote. ok is false for an unterminated string or a
// byte a quoted-string may not hold (a control character other than a
// tab); next is then where the fault is.
func ParseQuoted(s string, i int) (value string, next int, ok bool) {
	var b strings.Builder
	for j := i + 1; j < len(s); j++ {
		switch c := s[j]; {
		case c == '"':
			return b.String(), j + 1, true
		case c == '\\':
			j++
			if j >= len(s) {
				return "", j, false
			}
			b.WriteByte(s[j])
		case c == '\t' || c == ' ' || c == 0x21 || c >= 0x23 && c <= 0x5B || c >= 0x5D && c <= 0x7E || c >= 0x80:
			b.WriteByte(c)
		default:
			return "", j, false
		}
	}
	return "", len(s), false
}

// ParseTokenList parses a comma-separated list of tokens (Connection,
// Upgrade, Sec-WebSocket-Protocol), tolerating empty elements and optional
// white space. Upgrade values may carry a "/version"; it is kept.
func ParseTokenList(values []string) ([]string, error) {
	var out []string
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			part = strings.Trim(part, " \t")
			if part == "" {
				continue
			}
			name, ver, hasVer := strings.Cut(part, "/")
			if !IsToken(name) || hasVer && !IsToken(ver) {
				return nil, &HandshakeError{Status: http.StatusBadRequest, Err: ErrInvalidHeader,
					Msg: "invalid token list " + quoteForError(v)}
			}
			out = append(out, part)
		}
	}
	return out, nil
}
