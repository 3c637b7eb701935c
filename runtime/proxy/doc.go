// Package proxy connects tether's clients through HTTP and SOCKS proxies:
// it chooses a proxy for a URL (from the environment as Python websockets
// does, a fixed URL, or none), checks proxy URLs, and opens a tunnel
// through an http, https, socks5, socks5h, socks4 or socks4a proxy.
//
// The runtime's Dial uses it through DialOptions.Proxy, which takes one of
// the choosers here or a function of the caller's:
//
//	o := &runtime.DialOptions{Proxy: proxy.URL("socks5h://user:pw@127.0.0.1:1080")}
//	o.Proxy = proxy.Direct // no proxy, whatever the environment says
//	o.Proxy = nil          // the default: proxy.FromEnvironment
//
// Dialer opens the tunnel itself, for any TCP client: an HTTP CONNECT
// request (with Proxy-Authorization from the proxy URL's user info and a
// User-Agent), or the SOCKS5 (RFC 1928, RFC 1929 user/password) or SOCKS4
// and SOCKS4a handshakes.
//
// A proxy's refusal, an invalid reply and an invalid proxy URL are
// *Error values, which match ErrFailed and one of ErrInvalidURL, ErrAuth,
// ErrRefused and ErrInvalidReply. A proxy that can't be reached, a broken
// connection and a timeout come as the network error, wrapped with the
// proxy's URL, so that a caller retries them as any network error. A
// proxy's password never appears in an error.
package proxy
