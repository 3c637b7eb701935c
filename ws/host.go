package ws

import (
	"net"
	"net/http"
	"strings"
)

// checkHost runs the Host check of ServerHandshake: CheckHost when set;
// else, when Hosts or HostPatterns are set, the Host header must match an
// entry of Hosts (ignoring case; an entry without a port matches any port,
// "[::1]" and "::1" both name an IPv6 address) or fully match a pattern
// (on the whole header value, port included). A rejected Host gets 400.
func (s *ServerHandshake) checkHost(r *http.Request) error {
	if s.CheckHost != nil {
		if err := s.CheckHost(r); err != nil {
			return &HandshakeError{Status: http.StatusBadRequest, Msg: "invalid Host header: " + err.Error(), Err: ErrInvalidHost}
		}
		return nil
	}
	if len(s.Hosts) == 0 && len(s.HostPatterns) == 0 {
		return nil
	}
	host := r.Host
	if host == "" {
		return reject(http.StatusBadRequest, ErrInvalidHost, "missing Host header")
	}
	name, port := splitHost(host)
	for _, want := range s.Hosts {
		wname, wport := splitHost(want)
		if strings.EqualFold(name, wname) && (wport == "" || wport == port) {
			return nil
		}
	}
	for _, re := range s.HostPatterns {
		if loc := re.FindStringIndex(host); loc != nil && loc[0] == 0 && loc[1] == len(host) {
			return nil
		}
	}
	return reject(http.StatusBadRequest, ErrInvalidHost, "invalid Host header: "+quoteForError(host))
}

// splitHost splits "name:port", "[v6]:port", "[v6]", "v6" or "name" into
// the name (without brackets, a trailing dot removed) and the port.
func splitHost(h string) (name, port string) {
	if n, p, err := net.SplitHostPort(h); err == nil {
		name, port = n, p
	} else {
		name = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	}
	return strings.TrimSuffix(name, "."), port
}
