package ws

import (
	"crypto/tls"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

func TestIsSameOriginComparesSchemeHostAndPort(t *testing.T) {
	tests := []struct {
		host   string
		tls    bool
		xfp    string // X-Forwarded-Proto
		origin string
		want   bool
	}{
		{"example.com", false, "", "http://example.com", true},
		{"example.com", false, "", "HTTP://EXAMPLE.COM", true},
		{"example.com:80", false, "", "http://example.com", true},
		{"example.com", false, "", "http://example.com:80", true},
		{"example.com.", false, "", "http://example.com", true},
		{"example.com:8080", false, "", "http://example.com:8080", true},
		{"example.com:8080", false, "", "http://example.com", false},
		{"example.com", false, "", "http://example.com:8080", false},
		{"example.com", false, "", "https://example.com", false},
		{"example.com", false, "", "http://evil.example", false},
		{"example.com", false, "", "http://example.com.evil.example", false},
		{"example.com", false, "", "null", false},
		{"example.com", false, "", "ws://example.com", false},
		{"example.com", false, "", "http://example.com/", false},
		{"example.com", false, "", "http://user@example.com", false},
		{"example.com", false, "", "", false},
		{"example.com", true, "", "https://example.com", true},
		{"example.com:443", true, "", "https://example.com", true},
		{"example.com", true, "", "http://example.com", false},
		{"example.com:8443", true, "", "https://example.com:8443", true},
		{"example.com", false, "https", "https://example.com", true},
		{"example.com", false, "HTTPS, http", "https://example.com", true},
		{"example.com", false, "https", "http://example.com", false},
		{"example.com", false, "http", "https://example.com", false},
		{"[::1]:9001", false, "", "http://[::1]:9001", true},
		{"[::1]:9001", false, "", "http://[::2]:9001", false},
	}
	for _, tt := range tests {
		r := goodRequest()
		r.Host = tt.host
		if tt.tls {
			r.TLS = &tls.ConnectionState{}
		}
		if tt.xfp != "" {
			r.Header.Set("X-Forwarded-Proto", tt.xfp)
		}
		if got := IsSameOrigin(r, tt.origin); got != tt.want {
			t.Errorf("Host %s (TLS %v, X-Forwarded-Proto %q), Origin %q: %v, want %v", tt.host, tt.tls, tt.xfp, tt.origin, got, tt.want)
		}
	}
}

func TestSameOriginCheck(t *testing.T) {
	same := &ServerHandshake{SameOrigin: true}
	lists := &ServerHandshake{SameOrigin: true, OriginPatterns: []*regexp.Regexp{regexp.MustCompile(`https://[a-z]+\.example\.org`)}}
	custom := &ServerHandshake{SameOrigin: true, CheckOrigin: func(r *http.Request) error { return nil }}
	tests := []struct {
		name    string
		sh      *ServerHandshake
		origins []string
		status  int // 0: accepted
	}{
		{"same origin", same, []string{"http://example.com"}, 0},
		{"no Origin: not a browser", same, nil, 0},
		{"cross-origin", same, []string{"http://evil.example"}, 403},
		{"other scheme", same, []string{"https://example.com"}, 403},
		{"other port", same, []string{"http://example.com:8080"}, 403},
		{"null", same, []string{"null"}, 403},
		{"two Origin headers", same, []string{"http://example.com", "http://example.com"}, 400},
		{"a pattern replaces the rule", lists, []string{"https://chat.example.org"}, 0},
		{"with a pattern, same origin must be listed", lists, []string{"http://example.com"}, 403},
		{"with a list, Origin is required", lists, nil, 403},
		{"CheckOrigin replaces the rule", custom, []string{"http://evil.example"}, 0},
		{"off", &ServerHandshake{}, []string{"http://evil.example"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, h2 := range []bool{false, true} {
				r := goodRequest()
				accept := tt.sh.Accept
				if h2 {
					r = goodH2Request()
					r.Host = "example.com"
					delete(r.Header, "Origin")
					accept = tt.sh.AcceptH2
				}
				if tt.origins != nil {
					r.Header["Origin"] = tt.origins
				}
				_, _, err := accept(r)
				if tt.status == 0 {
					if err != nil {
						t.Fatalf("HTTP/2 %v: %v", h2, err)
					}
					continue
				}
				var he *HandshakeError
				if !errors.As(err, &he) || he.Status != tt.status || !errors.Is(err, ErrInvalidOrigin) {
					t.Fatalf("HTTP/2 %v: err = %v, want %d", h2, err, tt.status)
				}
			}
		})
	}
}

func TestSameOriginRefusalSaysWhatTheServerExpected(t *testing.T) {
	r := goodRequest()
	r.Header.Set("Origin", "http://evil.example")
	_, _, err := (&ServerHandshake{SameOrigin: true}).Accept(r)
	_, _, body := RejectResponse(err)
	want := `invalid Origin header: "http://evil.example" is not the origin of this server, "http://example.com"`
	if !strings.Contains(string(body), want) {
		t.Fatalf("body %q, want it to contain %q", body, want)
	}
}
