package tether

import (
	"net/url"

	"github.com/tetherws/tether/runtime/proxy"
)

// ProxyFromEnvironment is the default DialOptions.Proxy: it picks the
// proxy for target from ws_proxy, wss_proxy, socks_proxy, https_proxy,
// http_proxy, all_proxy and no_proxy, as Python websockets does.
func ProxyFromEnvironment(target *url.URL) (*url.URL, error) {
	return proxy.FromEnvironment(target)
}

// ProxyURL returns a DialOptions.Proxy that always picks the proxy at raw
// (http, https, socks5, socks5h, socks4 or socks4a). An invalid URL fails
// each Dial with a *ProxyError.
func ProxyURL(raw string) func(target *url.URL) (*url.URL, error) { return proxy.URL(raw) }

// ProxyDirect is a DialOptions.Proxy that always connects directly,
// whatever the environment says.
func ProxyDirect(target *url.URL) (*url.URL, error) { return proxy.Direct(target) }

// ProxyError is a proxy's refusal (its status, such as 407) or an invalid
// proxy URL. It matches ErrProxy.
type ProxyError = proxy.Error

// ErrProxy matches every *ProxyError. A proxy that can't be reached comes
// as the network error instead, as any unreachable server does.
var ErrProxy = proxy.ErrFailed
