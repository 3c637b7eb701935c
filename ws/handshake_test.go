package ws

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

func TestAcceptKeyMatchesRFC6455Example(t *testing.T) {
	if got := AcceptKey("dGhlIHNhbXBsZSBub25jZQ=="); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("AcceptKey = %q", got)
	}
}

func TestNewKeyIsBase64Of16FreshBytes(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		k := NewKey()
		b, err := base64.StdEncoding.DecodeString(k)
		if err != nil || len(b) != 16 || !validKey(k) {
			t.Fatalf("NewKey() = %q", k)
		}
		if seen[k] {
			t.Fatalf("NewKey repeated %q", k)
		}
		seen[k] = true
	}
}

func TestValidKey(t *testing.T) {
	for k, want := range map[string]bool{
		"dGhlIHNhbXBsZSBub25jZQ==":  true,
		"dGhlIHNhbXBsZSBub25jZQ":    false, // no padding
		"dGhlIHNhbXBsZSBub25jZR==":  false, // non-zero padding bits (not strict)
		"dGhlIHNhbXBsZSBub25j":      false, // 15 bytes
		"dGhlIHNhbXBsZSBub25jZQ==x": false,
		"dGhlIHNhbXBsZSBub25jZQ=!":  false,
		"AAAAAAAAAAAAAAAAAAAAAAA=":  false, // 17 bytes? no: 24 chars but 17 bytes
		"":                          false,
	} {
		if got := validKey(k); got != want {
			t.Errorf("validKey(%q) = %v, want %v", k, got, want)
		}
	}
}

func TestDefaultUserAgentNamesModuleAndGoVersion(t *testing.T) {
	v := strings.TrimPrefix(runtime.Version(), "go")
	if !strings.HasPrefix(DefaultUserAgent, "tether/"+Version+" Go/") || !strings.HasPrefix(v, goVersion()) || strings.Count(goVersion(), ".") > 1 {
		t.Fatalf("DefaultUserAgent = %q, goVersion = %q", DefaultUserAgent, goVersion())
	}
}

func TestParseURI(t *testing.T) {
	tests := []struct {
		in   string
		host string // "" means an error is expected
	}{
		{"ws://example.com/", "example.com"},
		{"wss://EXAMPLE.com:443/x?y", "example.com:443"},
		{"ws://[::1]:8080/", "[::1]:8080"},
		{"ws://u:p@h/", "h"},
		{"ws://u:@h/", "h"},
		{"http://h/", ""},
		{"ws:///path", ""},
		{"ws://:80/", ""},
		{"ws://h/#frag", ""},
		{"ws://h/#", ""},
		{"ws://u@h/", ""},
		{"ws://h:8x/", ""},
		{"ws://h\x7f/", ""},
		{"example.com", ""},
	}
	for _, tt := range tests {
		u, err := ParseURI(tt.in)
		if tt.host == "" {
			if !errors.Is(err, ErrInvalidURI) || !errors.Is(err, ErrInvalidHandshake) {
				t.Errorf("ParseURI(%q) err = %v", tt.in, err)
			}
			continue
		}
		if err != nil || u.Host != tt.host {
			t.Errorf("ParseURI(%q) = %v, %v", tt.in, u, err)
		}
	}
}

func TestHostHeaderOmitsDefaultPort(t *testing.T) {
	for in, want := range map[string]string{
		"ws://h/":         "h",
		"ws://h:80/":      "h",
		"ws://h:443/":     "h:443",
		"wss://h:443/":    "h",
		"wss://h:80/":     "h:80",
		"ws://[::1]/":     "[::1]",
		"ws://[::1]:80/":  "[::1]",
		"ws://[::1]:81/":  "[::1]:81",
		"wss://h:8443/":   "h:8443",
		"ws://1.2.3.4:9/": "1.2.3.4:9",
	} {
		u, err := ParseURI(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := HostHeader(u); got != want {
			t.Errorf("HostHeader(%s) = %q, want %q", in, got, want)
		}
	}
}

func TestDefaultPort(t *testing.T) {
	for scheme, want := range map[string]string{"ws": "80", "http": "80", "wss": "443", "https": "443", "socks5": "", "": ""} {
		if got := DefaultPort(scheme); got != want {
			t.Errorf("DefaultPort(%q) = %q, want %q", scheme, got, want)
		}
	}
}

func TestPortDefaultsToTheSchemes(t *testing.T) {
	for in, want := range map[string]string{
		"ws://h/":          "80",
		"wss://h/":         "443",
		"wss://h:8443/":    "8443",
		"https://[::1]/":   "443",
		"http://h:80/":     "80",
		"socks5://h/":      "",
		"socks5://h:1081/": "1081",
	} {
		u, err := url.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := Port(u); got != want {
			t.Errorf("Port(%s) = %q, want %q", in, got, want)
		}
	}
}

// BasicAuthorization encodes RFC 7617 §2's example, and a URI's user
// info becomes the same header.
func TestBasicAuthorization(t *testing.T) {
	if got := BasicAuthorization("Aladdin", "open sesame"); got != "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==" {
		t.Errorf("BasicAuthorization = %s", got)
	}
	u, err := ParseURI("ws://Aladdin:open%20sesame@h/")
	if err != nil {
		t.Fatal(err)
	}
	req, _, err := (&ClientHandshake{}).Request(u)
	if err != nil {
		t.Fatal(err)
	}
	if got := req.Header.Get("Authorization"); got != "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==" {
		t.Errorf("Authorization from user info = %q", got)
	}
}

func TestClientRequestHeaders(t *testing.T) {
	u, err := ParseURI("ws://user:p%40ss@Example.com:8080/chat?room=1")
	if err != nil {
		t.Fatal(err)
	}
	c := &ClientHandshake{
		Origin:       "https://example.com",
		Subprotocols: []string{"chat", "superchat"},
		Extensions: []ClientExtensionFactory{
			&fakeClientFactory{name: "permessage-deflate", offer: []Param{{Name: "client_max_window_bits"}}},
			&fakeClientFactory{name: "x-foo"},
		},
		Header: http.Header{"x-extra": {"1", "2"}, "Cookie": {"c=1"}},
	}
	req, key, err := c.Request(u)
	if err != nil {
		t.Fatal(err)
	}
	if !validKey(key) || req.Header.Get("Sec-WebSocket-Key") != key {
		t.Fatalf("key %q, header %q", key, req.Header.Get("Sec-WebSocket-Key"))
	}
	want := map[string][]string{
		"Authorization":            {"Basic " + base64.StdEncoding.EncodeToString([]byte("user:p@ss"))},
		"Origin":                   {"https://example.com"},
		"Upgrade":                  {"websocket"},
		"Connection":               {"Upgrade"},
		"Sec-Websocket-Version":    {"13"},
		"Sec-Websocket-Extensions": {"permessage-deflate; client_max_window_bits, x-foo"},
		"Sec-Websocket-Protocol":   {"chat, superchat"},
		"X-Extra":                  {"1", "2"},
		"Cookie":                   {"c=1"},
		"User-Agent":               {DefaultUserAgent},
	}
	for k, v := range want {
		if got := req.Header.Values(k); !reflect.DeepEqual(got, v) {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if req.Method != "GET" || req.Host != "example.com:8080" || req.URL.User != nil || req.URL.RequestURI() != "/chat?room=1" {
		t.Fatalf("request %s %s host %q user %v", req.Method, req.URL, req.Host, req.URL.User)
	}
	if u.User == nil {
		t.Fatal("Request changed the caller's URL")
	}
	wire, err := AppendRequest(nil, req)
	if err != nil {
		t.Fatal(err)
	}
	back, _, err := ParseRequest(wire, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	// The server accepts what the client sends.
	if _, _, err := (&ServerHandshake{}).Accept(back); err != nil {
		t.Fatalf("server refused the client's request: %v", err)
	}
}

func TestClientRequestUserAgent(t *testing.T) {
	u, _ := ParseURI("ws://h/")
	tests := []struct {
		name string
		c    ClientHandshake
		want []string
	}{
		{"default", ClientHandshake{}, []string{DefaultUserAgent}},
		{"configured", ClientHandshake{UserAgent: "bot/1"}, []string{"bot/1"}},
		{"from extra headers", ClientHandshake{UserAgent: "bot/1", Header: http.Header{"User-Agent": {"custom"}}}, []string{"custom"}},
		{"omitted", ClientHandshake{OmitUserAgent: true}, nil},
	}
	for _, tt := range tests {
		req, _, err := tt.c.Request(u)
		if err != nil {
			t.Fatal(err)
		}
		if got := req.Header.Values("User-Agent"); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: User-Agent = %q, want %q", tt.name, got, tt.want)
		}
		for _, h := range []string{"Authorization", "Origin", "Sec-WebSocket-Extensions", "Sec-WebSocket-Protocol"} {
			if req.Header.Get(h) != "" {
				t.Errorf("%s: unexpected %s", tt.name, h)
			}
		}
	}
}

func TestClientRequestRefusesInvalidSubprotocol(t *testing.T) {
	u, _ := ParseURI("ws://h/")
	for _, sp := range []string{"", "a b", "a,b", "é"} {
		_, _, err := (&ClientHandshake{Subprotocols: []string{"ok", sp}}).Request(u)
		if !errors.Is(err, ErrInvalidHeader) {
			t.Errorf("subprotocol %q: err = %v", sp, err)
		}
	}
}

// goodResponse returns a valid 101 response for key.
func goodResponse(key string) *http.Response {
	return &http.Response{
		StatusCode: 101,
		Header: http.Header{
			"Upgrade":              {"websocket"},
			"Connection":           {"Upgrade"},
			"Sec-Websocket-Accept": {AcceptKey(key)},
		},
	}
}

func TestClientCheckResponseHeaders(t *testing.T) {
	const key = "dGhlIHNhbXBsZSBub25jZQ=="
	tests := []struct {
		name   string
		edit   func(r *http.Response)
		errIs  error // nil: accepted
		errMsg string
	}{
		{"valid", func(r *http.Response) {}, nil, ""},
		{"case-insensitive upgrade tokens", func(r *http.Response) {
			r.Header["Upgrade"] = []string{"WebSocket"}
			r.Header["Connection"] = []string{"keep-alive, UPGRADE"}
		}, nil, ""},
		{"missing Connection", func(r *http.Response) { delete(r.Header, "Connection") }, ErrInvalidUpgrade, `ws: invalid Connection header: ""`},
		{"Connection without upgrade", func(r *http.Response) { r.Header["Connection"] = []string{"close"} }, ErrInvalidUpgrade, `ws: invalid Connection header: "close"`},
		{"malformed Connection", func(r *http.Response) { r.Header["Connection"] = []string{"up grade"} }, ErrInvalidUpgrade, ""},
		{"missing Upgrade", func(r *http.Response) { delete(r.Header, "Upgrade") }, ErrInvalidUpgrade, `ws: invalid Upgrade header: ""`},
		{"Upgrade to something else", func(r *http.Response) { r.Header["Upgrade"] = []string{"h2c"} }, ErrInvalidUpgrade, ""},
		{"Upgrade with two protocols", func(r *http.Response) { r.Header["Upgrade"] = []string{"websocket, h2c"} }, ErrInvalidUpgrade, ""},
		{"Upgrade twice", func(r *http.Response) { r.Header["Upgrade"] = []string{"websocket", "websocket"} }, ErrInvalidUpgrade, ""},
		{"malformed Upgrade", func(r *http.Response) { r.Header["Upgrade"] = []string{"web socket"} }, ErrInvalidUpgrade, ""},
		{"missing accept", func(r *http.Response) { delete(r.Header, "Sec-Websocket-Accept") }, ErrInvalidHeader, "ws: missing Sec-WebSocket-Accept header"},
		{"two accepts", func(r *http.Response) {
			r.Header["Sec-Websocket-Accept"] = append(r.Header["Sec-Websocket-Accept"], AcceptKey(key))
		}, ErrInvalidHeader, "ws: more than one Sec-WebSocket-Accept header"},
		{"wrong accept", func(r *http.Response) { r.Header["Sec-Websocket-Accept"] = []string{AcceptKey("other")} }, ErrInvalidHeader, ""},
		{"extensions not offered", func(r *http.Response) { r.Header["Sec-Websocket-Extensions"] = []string{"x-foo"} }, ErrNegotiation, "ws: no extensions supported"},
		{"malformed extensions", func(r *http.Response) { r.Header["Sec-Websocket-Extensions"] = []string{"x-foo;"} }, ErrInvalidHeader, ""},
		{"subprotocol not offered", func(r *http.Response) { r.Header["Sec-Websocket-Protocol"] = []string{"chat"} }, ErrNegotiation, "ws: no subprotocols supported"},
		{"malformed subprotocol", func(r *http.Response) { r.Header["Sec-Websocket-Protocol"] = []string{"a b"} }, ErrInvalidHeader, ""},
		{"empty subprotocol header", func(r *http.Response) { r.Header["Sec-Websocket-Protocol"] = []string{""} }, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := goodResponse(key)
			tt.edit(resp)
			n, err := (&ClientHandshake{}).Check(resp, key)
			if tt.errIs == nil {
				if err != nil || n.Subprotocol != "" || n.Extensions != nil {
					t.Fatalf("Check = %+v, %v", n, err)
				}
				return
			}
			if !errors.Is(err, tt.errIs) || !errors.Is(err, ErrInvalidHandshake) {
				t.Fatalf("err = %v, want %v", err, tt.errIs)
			}
			if tt.errMsg != "" && err.Error() != tt.errMsg {
				t.Fatalf("err = %q, want %q", err, tt.errMsg)
			}
		})
	}
}

func TestClientCheckReturnsStatusErrorForNon101(t *testing.T) {
	resp := &http.Response{StatusCode: 403, Header: http.Header{}}
	_, err := (&ClientHandshake{}).Check(resp, "k")
	var se *StatusError
	if !errors.As(err, &se) || se.StatusCode() != 403 || se.Response != resp {
		t.Fatalf("err = %#v", err)
	}
	if !errors.Is(err, ErrInvalidStatus) || !errors.Is(err, ErrInvalidHandshake) || errors.Is(err, ErrInvalidHeader) {
		t.Fatal("StatusError matches the wrong sentinels")
	}
	if err.Error() != "ws: server rejected WebSocket connection: HTTP 403" {
		t.Fatalf("Error() = %q", err)
	}
}

func TestClientCheckNegotiatesSubprotocol(t *testing.T) {
	const key = "dGhlIHNhbXBsZSBub25jZQ=="
	c := &ClientHandshake{Subprotocols: []string{"chat", "superchat"}}
	tests := []struct {
		values []string
		want   string
		errIs  error
		msg    string
	}{
		{nil, "", nil, ""},
		{[]string{"superchat"}, "superchat", nil, ""},
		{[]string{" chat "}, "chat", nil, ""},
		{[]string{"chat, superchat"}, "", ErrInvalidHeader, "ws: multiple subprotocols: chat, superchat"},
		{[]string{"chat", "chat"}, "", ErrInvalidHeader, ""},
		{[]string{"other"}, "", ErrNegotiation, "ws: unsupported subprotocol: other"},
		{[]string{"CHAT"}, "", ErrNegotiation, ""}, // subprotocols are case-sensitive
	}
	for _, tt := range tests {
		resp := goodResponse(key)
		if tt.values != nil {
			resp.Header["Sec-Websocket-Protocol"] = tt.values
		}
		n, err := c.Check(resp, key)
		if tt.errIs == nil {
			if err != nil || n.Subprotocol != tt.want {
				t.Errorf("%q: %+v, %v", tt.values, n, err)
			}
			continue
		}
		if !errors.Is(err, tt.errIs) || (tt.msg != "" && err.Error() != tt.msg) {
			t.Errorf("%q: err = %v", tt.values, err)
		}
	}
}

func TestClientCheckNegotiatesExtensions(t *testing.T) {
	const key = "dGhlIHNhbXBsZSBub25jZQ=="
	var accepted [][]Extension
	var built []*fakeExt
	factory := func(name string, fail error) *fakeClientFactory {
		return &fakeClientFactory{name: name, accept: func(params []Param, acc []Extension) (Extension, error) {
			accepted = append(accepted, acc)
			if fail != nil {
				return nil, fail
			}
			e := &fakeExt{name: name, params: params}
			built = append(built, e)
			return e, nil
		}}
	}
	declined := &NegotiationError{Msg: "bad params"}
	tests := []struct {
		name      string
		factories []ClientExtensionFactory
		header    []string
		want      []string // names of the accepted extensions
		errIs     error
		errMsg    string
	}{
		{"one accepted", []ClientExtensionFactory{factory("a", nil)}, []string{"a; x=1"}, []string{"a"}, nil, ""},
		{"order of the response", []ClientExtensionFactory{factory("a", nil), factory("b", nil)}, []string{"b, a"}, []string{"b", "a"}, nil, ""},
		{"unknown extension", []ClientExtensionFactory{factory("a", nil)}, []string{"z"}, nil, ErrNegotiation, "ws: unsupported extension: z"},
		{"factory declines", []ClientExtensionFactory{factory("a", declined)}, []string{"a"}, nil, ErrNegotiation, "ws: bad params"},
		{"second factory of a name accepts", []ClientExtensionFactory{factory("a", declined), factory("a", nil)}, []string{"a"}, []string{"a"}, nil, ""},
		{"second extension fails releases the first", []ClientExtensionFactory{factory("a", nil), factory("b", declined)}, []string{"a, b"}, nil, ErrNegotiation, ""},
		{"subprotocol failure releases extensions", []ClientExtensionFactory{factory("a", nil)}, []string{"a"}, nil, ErrNegotiation, "ws: no subprotocols supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			accepted, built = nil, nil
			resp := goodResponse(key)
			resp.Header["Sec-Websocket-Extensions"] = tt.header
			if strings.HasPrefix(tt.name, "subprotocol") {
				resp.Header["Sec-Websocket-Protocol"] = []string{"chat"}
			}
			n, err := (&ClientHandshake{Extensions: tt.factories}).Check(resp, key)
			if tt.errIs != nil {
				if !errors.Is(err, tt.errIs) || (tt.errMsg != "" && err.Error() != tt.errMsg) {
					t.Fatalf("err = %v", err)
				}
				if n.Extensions != nil {
					t.Fatal("extensions returned with an error")
				}
				for _, e := range built {
					if e.closed != 1 {
						t.Fatalf("extension %s closed %d times", e.name, e.closed)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for i, e := range n.Extensions {
				names = append(names, e.Name())
				if len(accepted[i]) != i {
					t.Fatalf("factory %d saw %d accepted extensions", i, len(accepted[i]))
				}
			}
			if !reflect.DeepEqual(names, tt.want) {
				t.Fatalf("extensions %q, want %q", names, tt.want)
			}
		})
	}
}
