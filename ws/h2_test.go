package ws

import (
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"testing"
)

// goodH2Request returns a valid RFC 8441 request as net/http's HTTP/2
// server builds it (the example of RFC 8441 §5.1).
func goodH2Request() *http.Request {
	return &http.Request{
		Method:     http.MethodConnect,
		URL:        &url.URL{Path: "/chat"},
		Proto:      "HTTP/2.0",
		ProtoMajor: 2,
		Host:       "server.example.com",
		Header: http.Header{
			":protocol":              {"websocket"},
			"Sec-Websocket-Protocol": {"chat, superchat"},
			"Sec-Websocket-Version":  {"13"},
			"Origin":                 {"http://www.example.com"},
		},
	}
}

func TestIsExtendedConnect(t *testing.T) {
	if !IsExtendedConnect(goodH2Request()) {
		t.Error("RFC 8441 request not recognized")
	}
	r := goodH2Request()
	delete(r.Header, ":protocol")
	if IsExtendedConnect(r) {
		t.Error("CONNECT without :protocol recognized")
	}
	if IsExtendedConnect(goodRequest()) {
		t.Error("HTTP/1.1 GET recognized")
	}
}

func TestServerAcceptH2Returns200HeadersWithoutAcceptKey(t *testing.T) {
	s := &ServerHandshake{Subprotocols: []string{"superchat"}, Origins: []string{"http://www.example.com"}}
	h, n, err := s.AcceptH2(goodH2Request())
	if err != nil {
		t.Fatal(err)
	}
	want := http.Header{"Sec-Websocket-Protocol": {"superchat"}}
	if !reflect.DeepEqual(h, want) || n.Subprotocol != "superchat" || n.Extensions != nil {
		t.Fatalf("h = %v, n = %+v", h, n)
	}
}

func TestServerAcceptH2NegotiatesExtensions(t *testing.T) {
	f := &fakeServerFactory{name: "x-test"}
	s := &ServerHandshake{Extensions: []ServerExtensionFactory{f}}
	r := goodH2Request()
	r.Header.Set("Sec-WebSocket-Extensions", "x-test; a=1")
	h, n, err := s.AcceptH2(r)
	if err != nil {
		t.Fatal(err)
	}
	if h.Get("Sec-WebSocket-Extensions") == "" || len(n.Extensions) != 1 || n.Extensions[0].Name() != "x-test" {
		t.Fatalf("h = %v, n = %+v", h, n)
	}
}

func TestServerAcceptH2ChecksRequest(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(r *http.Request)
		status int
		errIs  error
		header http.Header
	}{
		{"HTTP/1.1", func(r *http.Request) { r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/1.1", 1, 1 }, 505, ErrInvalidProtocol, nil},
		{"GET", func(r *http.Request) { r.Method = http.MethodGet }, 405, ErrInvalidMethod, http.Header{"Allow": {"CONNECT"}}},
		{"missing :protocol", func(r *http.Request) { delete(r.Header, ":protocol") }, 400, ErrInvalidUpgrade, nil},
		{"two :protocol", func(r *http.Request) { r.Header[":protocol"] = []string{"websocket", "websocket"} }, 400, ErrInvalidUpgrade, nil},
		{"other :protocol", func(r *http.Request) { r.Header[":protocol"] = []string{"webtransport"} }, 501, ErrInvalidUpgrade, nil},
		{"missing :authority", func(r *http.Request) { r.Host = "" }, 400, ErrInvalidHost, nil},
		{"missing version", func(r *http.Request) { delete(r.Header, "Sec-Websocket-Version") }, 400, ErrInvalidHeader, nil},
		{"two versions", func(r *http.Request) { r.Header["Sec-Websocket-Version"] = []string{"13", "13"} }, 400, ErrInvalidHeader, nil},
		{"version 8", func(r *http.Request) { r.Header["Sec-Websocket-Version"] = []string{"8"} }, 400, ErrInvalidHeader, http.Header{"Sec-Websocket-Version": {"13"}}},
		{"bad origin", func(r *http.Request) { r.Header["Origin"] = []string{"http://evil.example"} }, 403, ErrInvalidOrigin, nil},
		{"malformed extensions", func(r *http.Request) { r.Header["Sec-Websocket-Extensions"] = []string{"a;;"} }, 400, ErrInvalidHeader, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := goodH2Request()
			tt.edit(r)
			s := &ServerHandshake{Origins: []string{"http://www.example.com"}}
			h, n, err := s.AcceptH2(r)
			if h != nil || n.Extensions != nil || n.Subprotocol != "" {
				t.Fatal("headers or negotiation returned with an error")
			}
			var he *HandshakeError
			if !errors.As(err, &he) || he.Status != tt.status || !errors.Is(err, tt.errIs) || !errors.Is(err, ErrInvalidHandshake) {
				t.Fatalf("err = %v (%#v), want %d %v", err, he, tt.status, tt.errIs)
			}
			if !reflect.DeepEqual(he.Header, tt.header) {
				t.Fatalf("header %v, want %v", he.Header, tt.header)
			}
		})
	}
}

func TestServerAcceptH2IgnoresKeyAndChecksHost(t *testing.T) {
	r := goodH2Request()
	r.Header.Set("Sec-WebSocket-Key", "not checked over HTTP/2")
	s := &ServerHandshake{HostPatterns: []*regexp.Regexp{regexp.MustCompile(`server\.example\.com`)}}
	if _, _, err := s.AcceptH2(r); err != nil {
		t.Fatalf("AcceptH2: %v", err)
	}
	r.Host = "other.example"
	var he *HandshakeError
	if _, _, err := s.AcceptH2(r); !errors.As(err, &he) || he.Status != http.StatusBadRequest || !errors.Is(err, ErrInvalidHost) {
		t.Fatalf("AcceptH2 with a disallowed host: %v", err)
	}
}

func TestClientRequestH2(t *testing.T) {
	c := &ClientHandshake{
		Origin:       "http://www.example.com",
		Subprotocols: []string{"chat", "superchat"},
		Extensions:   []ClientExtensionFactory{&fakeClientFactory{name: "x-test", offer: []Param{{Name: "a", Value: "1"}}}},
		Header:       http.Header{"X-Extra": {"1"}, "Connection": {"Upgrade"}, "Upgrade": {"websocket"}},
		UserAgent:    "ua",
	}
	for _, tt := range []struct{ uri, scheme, host, path string }{
		{"wss://user:pw@server.example.com/chat?x=1", "https", "server.example.com", "/chat?x=1"},
		{"ws://server.example.com:8080", "http", "server.example.com:8080", "/"},
	} {
		u, err := ParseURI(tt.uri)
		if err != nil {
			t.Fatal(err)
		}
		r, err := c.RequestH2(u)
		if err != nil {
			t.Fatal(err)
		}
		if r.Method != http.MethodConnect || r.URL.Scheme != tt.scheme || r.Host != tt.host || r.URL.RequestURI() != tt.path || r.URL.User != nil {
			t.Fatalf("%s: %s %s://%s%s", tt.uri, r.Method, r.URL.Scheme, r.Host, r.URL.RequestURI())
		}
		want := map[string]string{
			":protocol":                "websocket",
			"Sec-Websocket-Version":    "13",
			"Origin":                   "http://www.example.com",
			"Sec-Websocket-Protocol":   "chat, superchat",
			"Sec-Websocket-Extensions": "x-test; a=1",
			"X-Extra":                  "1",
			"User-Agent":               "ua",
		}
		for k, v := range want {
			if got := r.Header[k]; len(got) != 1 || got[0] != v {
				t.Errorf("%s: %s = %q, want %q", tt.uri, k, got, v)
			}
		}
		for _, k := range []string{"Sec-Websocket-Key", "Connection", "Upgrade"} {
			if _, ok := r.Header[k]; ok {
				t.Errorf("%s: %s sent over HTTP/2", tt.uri, k)
			}
		}
		if (u.User != nil) != (r.Header.Get("Authorization") != "") {
			t.Errorf("%s: Authorization %q", tt.uri, r.Header.Get("Authorization"))
		}
	}
	if _, err := (&ClientHandshake{Subprotocols: []string{"bad proto"}}).RequestH2(&url.URL{Scheme: "ws", Host: "h"}); !errors.Is(err, ErrInvalidHeader) {
		t.Errorf("bad subprotocol: %v", err)
	}
	r, _ := (&ClientHandshake{OmitUserAgent: true}).RequestH2(&url.URL{Scheme: "ws", Host: "h"})
	if _, ok := r.Header["User-Agent"]; ok {
		t.Error("User-Agent with OmitUserAgent")
	}
}

func TestClientCheckH2(t *testing.T) {
	c := &ClientHandshake{Subprotocols: []string{"chat"}}
	resp := &http.Response{StatusCode: 200, Header: http.Header{"Sec-Websocket-Protocol": {"chat"}}}
	n, err := c.CheckH2(resp)
	if err != nil || n.Subprotocol != "chat" {
		t.Fatalf("CheckH2: %+v, %v", n, err)
	}
	var se *StatusError
	if _, err := c.CheckH2(&http.Response{StatusCode: 101, Header: http.Header{}}); !errors.As(err, &se) || !errors.Is(err, ErrInvalidStatus) {
		t.Fatalf("101 over HTTP/2: %v", err)
	}
	if _, err := c.CheckH2(&http.Response{StatusCode: 404, Header: http.Header{}}); !errors.As(err, &se) {
		t.Fatalf("404: %v", err)
	}
	var ne *NegotiationError
	if _, err := c.CheckH2(&http.Response{StatusCode: 200, Header: http.Header{"Sec-Websocket-Protocol": {"other"}}}); !errors.As(err, &ne) {
		t.Fatalf("unoffered subprotocol: %v", err)
	}
	if _, err := c.CheckH2(&http.Response{StatusCode: 200, Header: http.Header{"Sec-Websocket-Extensions": {"x-none"}}}); !errors.Is(err, ErrNegotiation) {
		t.Fatalf("unoffered extension: %v", err)
	}
}
