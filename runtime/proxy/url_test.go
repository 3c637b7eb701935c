package proxy

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestParseAcceptsProxyURLsWithTheirDefaultPorts(t *testing.T) {
	for raw, want := range map[string]string{
		"http://proxy":            "proxy:80",
		"https://proxy":           "proxy:443",
		"socks5h://proxy":         "proxy:1080",
		"socks4a://id@proxy:1081": "proxy:1081",
		"HTTP://PROXY:3128/":      "proxy:3128",
		"http://ПРИМЕР.испытание": "xn--e1afmkfd.xn--80akhbyknj4f:80",
	} {
		u, err := Parse(raw)
		if err != nil || hostPort(u) != want {
			t.Errorf("Parse(%q) = %v, %v; want %s", raw, u, err, want)
		}
	}
}

func TestParseRejectsInvalidProxyURLs(t *testing.T) {
	for _, raw := range []string{
		"ftp://proxy:21",
		"http://",
		"http://proxy:3128/path",
		"http://proxy:3128/?q=1",
		"http://proxy:3128/#frag",
		"http://user@proxy:3128",
		"socks5://proxy:99999",
		"http://u:pw@\u0301bad.испытание",
	} {
		_, err := Parse(raw)
		var pe *Error
		if !errors.Is(err, ErrInvalidURL) || !errors.Is(err, ErrFailed) || !errors.As(err, &pe) {
			t.Errorf("Parse(%q): err = %v, want an *Error matching ErrInvalidURL", raw, err)
		}
	}
}

func TestParseErrorsHideThePassword(t *testing.T) {
	for _, raw := range []string{"ftp://u:hunter2@proxy", "http://u:hunter2@proxy/path", "http://u:hunter2@[bad"} {
		_, err := Parse(raw)
		if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "xxxxx") {
			t.Errorf("Parse(%q): err = %v, want the password redacted", raw, err)
		}
	}
}

func TestURLAndDirectChoose(t *testing.T) {
	target, _ := url.Parse("ws://h.test/")
	p, err := URL("socks5h://127.0.0.1:1080")(target)
	if err != nil || p.String() != "socks5h://127.0.0.1:1080" {
		t.Errorf("URL: %v, %v", p, err)
	}
	if p, err := URL("gopher://x")(target); p != nil || !errors.Is(err, ErrInvalidURL) {
		t.Errorf("URL of an invalid URL: %v, %v; want ErrInvalidURL", p, err)
	}
	if p, err := Direct(target); p != nil || err != nil {
		t.Errorf("Direct: %v, %v; want nil, nil", p, err)
	}
}
