package proxy

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestFromEnvironmentFollowsPythonOrder(t *testing.T) {
	clear := func() {
		for _, k := range []string{"ws_proxy", "wss_proxy", "socks_proxy", "https_proxy", "http_proxy", "all_proxy", "no_proxy", "REQUEST_METHOD"} {
			t.Setenv(k, "")
			t.Setenv(strings.ToUpper(k), "")
		}
	}
	for _, tc := range []struct {
		name   string
		env    map[string]string
		target string
		want   string // "" for direct
	}{
		{"nothing set", nil, "ws://h.test/", ""},
		{"ws_proxy first", map[string]string{"ws_proxy": "http://a:1", "socks_proxy": "b:2", "https_proxy": "http://c:3", "http_proxy": "http://d:4"}, "ws://h.test/", "http://a:1"},
		{"socks before https", map[string]string{"socks_proxy": "b:2", "https_proxy": "http://c:3"}, "ws://h.test/", "socks5h://b:2"},
		{"socks http:// means socks5h", map[string]string{"socks_proxy": "http://b:2"}, "ws://h.test/", "socks5h://b:2"},
		{"socks5 kept", map[string]string{"socks_proxy": "socks5://b:2"}, "ws://h.test/", "socks5://b:2"},
		{"https before http for ws", map[string]string{"https_proxy": "http://c:3", "http_proxy": "http://d:4"}, "ws://h.test/", "http://c:3"},
		{"http for ws", map[string]string{"http_proxy": "d:4"}, "ws://h.test/", "http://d:4"},
		{"http never for wss", map[string]string{"http_proxy": "http://d:4"}, "wss://h.test/", ""},
		{"wss_proxy for wss", map[string]string{"ws_proxy": "http://a:1", "wss_proxy": "http://w:5"}, "wss://h.test/", "http://w:5"},
		{"all_proxy last", map[string]string{"all_proxy": "socks5h://z:9"}, "wss://h.test/", "socks5h://z:9"},
		{"upper case", map[string]string{"WS_PROXY": "http://A:1"}, "ws://h.test/", "http://a:1"},
		{"lower case wins", map[string]string{"WS_PROXY": "http://upper:1", "ws_proxy": "http://lower:1"}, "ws://h.test/", "http://lower:1"},
		{"HTTP_PROXY ignored under CGI", map[string]string{"HTTP_PROXY": "http://d:4", "REQUEST_METHOD": "GET"}, "ws://h.test/", ""},
		{"no_proxy domain", map[string]string{"ws_proxy": "http://a:1", "no_proxy": "other.test, h.test"}, "ws://h.test/", ""},
		{"no_proxy subdomain", map[string]string{"ws_proxy": "http://a:1", "NO_PROXY": ".test"}, "ws://sub.h.test/", ""},
		{"no_proxy suffix needs a dot", map[string]string{"ws_proxy": "http://a:1", "no_proxy": "h.test"}, "ws://myh.test/", "http://a:1"},
		{"no_proxy star", map[string]string{"ws_proxy": "http://a:1", "no_proxy": "*"}, "ws://h.test/", ""},
		{"no_proxy port", map[string]string{"ws_proxy": "http://a:1", "no_proxy": "h.test:8080"}, "ws://h.test:8080/", ""},
		{"no_proxy other port", map[string]string{"ws_proxy": "http://a:1", "no_proxy": "h.test:8080"}, "ws://h.test/", "http://a:1"},
		{"no_proxy default port of wss", map[string]string{"wss_proxy": "http://a:1", "no_proxy": "h.test:443"}, "wss://h.test/", ""},
		{"no_proxy CIDR", map[string]string{"ws_proxy": "http://a:1", "no_proxy": "10.0.0.0/8"}, "ws://10.1.2.3/", ""},
		{"no_proxy IP", map[string]string{"ws_proxy": "http://a:1", "no_proxy": "192.0.2.1"}, "ws://192.0.2.2/", "http://a:1"},
		{"loopback is direct", map[string]string{"ws_proxy": "http://a:1"}, "ws://127.0.0.1:9/", ""},
		{"localhost is direct", map[string]string{"ws_proxy": "http://a:1"}, "ws://localhost/", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clear()
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			target, _ := url.Parse(tc.target)
			got, err := FromEnvironment(target)
			if err != nil {
				t.Fatal(err)
			}
			if s := ""; got != nil && got.String() != tc.want || got == nil && tc.want != s {
				t.Fatalf("proxy = %v, want %q", got, tc.want)
			}
		})
	}
	clear()
	t.Setenv("ws_proxy", "ftp://bad")
	target, _ := url.Parse("ws://h.test/")
	if _, err := FromEnvironment(target); !errors.Is(err, ErrInvalidURL) {
		t.Fatalf("bad ws_proxy: err = %v", err)
	}
}
