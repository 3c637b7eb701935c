package ws

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// isTokenChar reports whether c may appear in an RFC 7230 token.
func isTokenChar(c byte) bool {
	if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// IsToken reports whether s is a non-empty RFC 7230 token.
func IsToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}

func skipOWS(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

func parseToken(s string, i int) (string, int) {
	j := i
	for j < len(s) && isTokenChar(s[j]) {
		j++
	}
	return s[i:j], j
}

// parseQuoted parses a quoted-string starting at s[i] == '"'.
func parseQuoted(s string, i int) (string, int, bool) {
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

func extHeaderError(v string, at int) error {
	return &HandshakeError{Status: http.StatusBadRequest, Err: ErrInvalidHeader,
		Msg: "invalid Sec-WebSocket-Extensions header: " + quoteForError(v) + " at position " + itoa(int64(at))}
}

// ParseExtensions parses the values of Sec-WebSocket-Extensions headers
// (RFC 6455 §9.1). Empty list elements and optional white space are allowed;
// a quoted parameter value must unquote to a token.
func ParseExtensions(values []string) ([]ExtensionOffer, error) {
	var out []ExtensionOffer
	for _, v := range values {
		i := 0
		for {
			i = skipOWS(v, i)
			if i == len(v) {
				break
			}
			if v[i] == ',' {
				i++
				continue
			}
			name, j := parseToken(v, i)
			if name == "" {
				return nil, extHeaderError(v, i)
			}
			off := ExtensionOffer{Name: name}
			i = skipOWS(v, j)
			for i < len(v) && v[i] == ';' {
				i = skipOWS(v, i+1)
				pname, j := parseToken(v, i)
				if pname == "" {
					return nil, extHeaderError(v, i)
				}
				p := Param{Name: pname}
				i = skipOWS(v, j)
				if i < len(v) && v[i] == '=' {
					i = skipOWS(v, i+1)
					if i < len(v) && v[i] == '"' {
						val, j, ok := parseQuoted(v, i)
						if !ok || !IsToken(val) {
							return nil, extHeaderError(v, i)
						}
						p.Value, i = val, j
					} else {
						val, j := parseToken(v, i)
						if val == "" {
							return nil, extHeaderError(v, i)
						}
						p.Value, i = val, j
					}
					i = skipOWS(v, i)
				}
				off.Params = append(off.Params, p)
			}
			out = append(out, off)
			if i == len(v) {
				break
			}
			if v[i] != ',' {
				return nil, extHeaderError(v, i)
			}
			i++
		}
	}
	return out, nil
}

// FormatExtensions formats offers as a Sec-WebSocket-Extensions value.
func FormatExtensions(offers []ExtensionOffer) string {
	var b strings.Builder
	for i, o := range offers {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(o.Name)
		for _, p := range o.Params {
			b.WriteString("; ")
			b.WriteString(p.Name)
			if p.Value != "" {
				b.WriteByte('=')
				b.WriteString(p.Value)
			}
		}
	}
	return b.String()
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

// quoteForError quotes a peer-supplied value for an error message, cut to a
// readable length.
func quoteForError(s string) string {
	const max = 80
	if len(s) > max {
		s = s[:max] + "..."
	}
	return strconv.Quote(s)
}

func sortStrings(s []string) { slices.Sort(s) }
