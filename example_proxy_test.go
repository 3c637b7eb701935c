package tether_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/tetherws/tether"
)

// DialOptions.Proxy chooses the proxy for each URL that Dial connects to.
// The default is ProxyFromEnvironment (ws_proxy, wss_proxy, socks_proxy,
// https_proxy, http_proxy, all_proxy, no_proxy); ProxyURL gives a fixed
// proxy, ProxyDirect none, and a function of your own can choose per URL.
func ExampleProxyURL() {
	corp := tether.ProxyURL("http://user:secret@proxy.corp:3128")
	choose := func(target *url.URL) (*url.URL, error) {
		if strings.HasSuffix(target.Hostname(), ".internal") {
			return tether.ProxyDirect(target)
		}
		return corp(target)
	}
	for _, raw := range []string{"wss://feed.example.com/", "ws://chat.internal/"} {
		target, err := url.Parse(raw)
		if err != nil {
			fmt.Println(err)
			return
		}
		switch p, err := choose(target); {
		case err != nil:
			fmt.Println(raw, err)
		case p == nil:
			fmt.Println(raw, "directly")
		default:
			fmt.Println(raw, "through", p.Redacted())
		}
	}
	_ = &tether.DialOptions{Proxy: choose}

	// A proxy URL that is not valid fails the Dial before it connects.
	_, _, err := tether.Dial(context.Background(), "ws://example.com/", &tether.DialOptions{
		Proxy: tether.ProxyURL("ftp://proxy.example"),
	})
	var pe *tether.ProxyError
	fmt.Println(errors.As(err, &pe), errors.Is(err, tether.ErrProxy), pe.Proxy)
	// Output:
	// wss://feed.example.com/ through http://user:xxxxx@proxy.corp:3128
	// ws://chat.internal/ directly
	// true true ftp://proxy.example
}
