package proxy_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/tetherws/tether/runtime"
	"github.com/tetherws/tether/runtime/proxy"
)

// By default Dial takes proxies from the environment (ws_proxy,
// wss_proxy, socks_proxy, https_proxy, http_proxy, all_proxy, no_proxy),
// as Python websockets does. URL sets one, Direct turns them off, and a
// function can choose per URL. cmd/examples/proxyclient runs a complete
// client through a proxy.
func ExampleURL() {
	_ = &runtime.DialOptions{Proxy: proxy.URL("socks5h://user:password@127.0.0.1:1080")}
	_ = &runtime.DialOptions{Proxy: proxy.Direct}
	_ = &runtime.DialOptions{Proxy: func(target *url.URL) (*url.URL, error) {
		if target.Hostname() == "internal.example" {
			return nil, nil // direct
		}
		return proxy.FromEnvironment(target)
	}}

	_, _, err := runtime.Dial(context.Background(), "ws://example.com/", &runtime.DialOptions{
		Proxy: proxy.URL("ftp://proxy.example"),
	})
	fmt.Println(errors.Is(err, proxy.ErrInvalidURL))
	// Output:
	// true
}
