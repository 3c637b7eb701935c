package httpauth

import (
	"strings"

	"github.com/tetherws/tether/ws"
)

// Challenge is one challenge of a WWW-Authenticate header, or the
// credentials of an Authorization header: an auth scheme and its
// parameters.
type Challenge struct {
	// Scheme is the auth scheme in lower case ("basic", "digest").
	Scheme string
	// Params maps parameter names, in lower case, to their values,
	// unquoted.
	Params map[string]string
}

// Parse parses the challenges of WWW-Authenticate header values (RFC 9110
// §11.6.1), or the credentials of Authorization values, leniently: a
// challenge is a scheme followed by name=value pairs (a token or a
// quoted-string) separated by commas, and several challenges may share a
// value. Parsing a value stops where it cannot go on (a malformed
// quoted-string, a stray character); the challenges before that are kept.
// Token68 credentials are not parsed (no scheme here needs them).
func Parse(values []string) []Challenge {
	var out []Challenge
	for _, v := range values {
		out = parseValue(out, v)
	}
	return out
}

// parseValue appends the challenges of one header value to out.
func parseValue(out []Challenge, s string) []Challenge {
	i := 0
	for {
		i = skipSeparators(s, i)
		scheme, j := ws.ParseToken(s, i)
		if scheme == "" {
			return out
		}
		ch := Challenge{Scheme: strings.ToLower(scheme), Params: map[string]string{}}
		var ok bool
		i, ok = parseParams(s, j, ch.Params)
		out = append(out, ch)
		if !ok {
			return out
		}
	}
}

// parseParams reads the auth-params that follow a scheme at s[i:] into
// params. It returns where the next challenge may start, and false when
// the rest of s cannot be parsed.
func parseParams(s string, i int, params map[string]string) (int, bool) {
	for {
		i = ws.SkipOWS(s, i)
		name, j := ws.ParseToken(s, i)
		j = ws.SkipOWS(s, j)
		if name == "" || j == len(s) || s[j] != '=' {
			// Not a parameter: the next challenge, or the end.
			return i, name != "" || i == len(s) || s[i] == ','
		}
		i = ws.SkipOWS(s, j+1)
		var value string
		if i < len(s) && s[i] == '"' {
			var ok bool
			if value, i, ok = ws.ParseQuoted(s, i); !ok {
				return len(s), false
			}
		} else {
			value, i = ws.ParseToken(s, i)
		}
		params[strings.ToLower(name)] = value
		i = ws.SkipOWS(s, i)
		if i == len(s) || s[i] != ',' {
			return i, true
		}
		// After a comma: another parameter, or the next challenge (a
		// token not followed by '=').
		i = skipSeparators(s, i+1)
		_, j = ws.ParseToken(s, i)
		j = ws.SkipOWS(s, j)
		if j == len(s) || s[j] != '=' {
			return i, true
		}
	}
}

// skipSeparators skips commas and optional white space: empty list
// elements.
func skipSeparators(s string, i int) int {
	for i = ws.SkipOWS(s, i); i < len(s) && s[i] == ','; i = ws.SkipOWS(s, i+1) {
	}
	return i
}

// Quote returns s as a quoted-string, with '"' and '\' escaped.
func Quote(s string) string {
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
