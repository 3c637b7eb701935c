package proxy

import (
	"net"
	"net/url"
	"os"
	"strings"

	"github.com/tetherws/tether/ws"
)

// FromEnvironment chooses the proxy for target (a ws:// or wss:// URL)
// from environment variables, as Python websockets does; it is the
// runtime's default chooser. Each name is looked up in lower case, then in
// upper case (HTTP_PROXY is ignored in a CGI request, where it can be set
// by a client):
//
//   - no_proxy lists hosts to reach directly, separated by commas: "*"
//     for all, a domain name (matching it and its subdomains; a leading
//     "." or "*." is ignored), an IP address or a CIDR range, each with an
//     optional ":port";
//   - for wss://, the first of wss_proxy, socks_proxy, https_proxy and
//     all_proxy;
//   - for ws://, the first of ws_proxy, socks_proxy, https_proxy,
//     http_proxy and all_proxy.
//
// A value without a scheme is an http:// proxy, but a socks_proxy without
// one, or with http://, is socks5h://. localhost and loopback addresses
// are always reached directly (as net/http does; Python does not), so
// that a proxy for the outside world does not capture local servers. It
// returns nil for a direct connection, and an *Error matching
// ErrInvalidURL for an invalid proxy URL.
func FromEnvironment(target *url.URL) (*url.URL, error) {
	host := strings.ToLower(target.Hostname())
	port := ws.Port(target)
	if isLocalHost(host) || bypass(getenv("no_proxy"), host, port) {
		return nil, nil
	}
	names := []string{"ws_proxy", "socks_proxy", "https_proxy", "http_proxy", "all_proxy"}
	if target.Scheme == "wss" {
		names = []string{"wss_proxy", "socks_proxy", "https_proxy", "all_proxy"}
	}
	for _, name := range names {
		v := getenv(name)
		if v == "" {
			continue
		}
		if name == "socks_proxy" {
			if rest, ok := strings.CutPrefix(v, "http://"); ok {
				v = "socks5h://" + rest
			} else if !strings.Contains(v, "://") {
				v = "socks5h://" + v
			}
		} else if !strings.Contains(v, "://") {
			v = "http://" + v
		}
		return Parse(v)
	}
	return nil, nil
}

// getenv returns the environment variable name, in lower case first.
func getenv(name string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	upper := strings.ToUpper(name)
	if upper == "HTTP_PROXY" && os.Getenv("REQUEST_METHOD") != "" {
		return "" // httpoxy: a CGI client can set HTTP_PROXY with a header
	}
	return os.Getenv(upper)
}

func isLocalHost(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// bypass reports whether noProxy lists host (lower case) with port.
func bypass(noProxy, host, port string) bool {
	ip := net.ParseIP(host)
	for _, entry := range strings.FieldsFunc(noProxy, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		entry = strings.ToLower(entry)
		if entry == "*" {
			return true
		}
		name, p := entry, ""
		if h, pp, err := net.SplitHostPort(entry); err == nil && pp != "" {
			name, p = h, pp
		}
		name = strings.TrimSuffix(strings.TrimPrefix(name, "["), "]")
		if p != "" && p != port {
			continue
		}
		if _, cidr, err := net.ParseCIDR(name); err == nil {
			if ip != nil && cidr.Contains(ip) {
				return true
			}
			continue
		}
		if eip := net.ParseIP(name); eip != nil {
			if ip != nil && eip.Equal(ip) {
				return true
			}
			continue
		}
		name = strings.TrimPrefix(strings.TrimPrefix(name, "*"), ".")
		if name != "" && (host == name || strings.HasSuffix(host, "."+name)) {
			return true
		}
	}
	return false
}
