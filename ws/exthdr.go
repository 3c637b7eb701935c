package ws

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

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
			i = SkipOWS(v, i)
			if i == len(v) {
				break
			}
			if v[i] == ',' {
				i++
				continue
			}
			name, j := ParseToken(v, i)
			if name == "" {
				return nil, extHeaderError(v, i)
			}
			off := ExtensionOffer{Name: name}
			i = SkipOWS(v, j)
			for i < len(v) && v[i] == ';' {
				i = SkipOWS(v, i+1)
				pname, j := ParseToken(v, i)
				if pname == "" {
					return nil, extHeaderError(v, i)
				}
				p := Param{Name: pname}
				i = SkipOWS(v, j)
				if i < len(v) && v[i] == '=' {
					i = SkipOWS(v, i+1)
					if i < len(v) && v[i] == '"' {
						val, j, ok := ParseQuoted(v, i)
						if !ok || !IsToken(val) {
							return nil, extHeaderError(v, i)
						}
						p.Value, i = val, j
					} else {
						val, j := ParseToken(v, i)
						if val == "" {
							return nil, extHeaderError(v, i)
						}
						p.Value, i = val, j
					}
					i = SkipOWS(v, i)
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
