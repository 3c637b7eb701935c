package ws

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
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

// goodRequest returns a valid handshake request.
func goodRequest() *http.Request {
	return &http.Request{
		Method:     "GET",
		URL:        &url.URL{Path: "/"},
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Host:       "example.com",
		Header: http.Header{
			"Upgrade":               {"websocket"},
			"Connection":            {"Upgrade"},
			"Sec-Websocket-Key":     {"dGhlIHNhbXBsZSBub25jZQ=="},
			"Sec-Websocket-Version": {"13"},
		},
	}
}

func TestServerAcceptReturns101Headers(t *testing.T) {
	h, n, err := (&ServerHandshake{}).Accept(goodRequest())
	if err != nil {
		t.Fatal(err)
	}
	want := http.Header{
		"Upgrade":              {"websocket"},
		"Connection":           {"Upgrade"},
		"Sec-Websocket-Accept": {"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="},
	}
	if !reflect.DeepEqual(h, want) || n.Subprotocol != "" || n.Extensions != nil {
		t.Fatalf("h = %v, n = %+v", h, n)
	}
}

func TestServerAcceptChecksRequest(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(r *http.Request)
		status int
		errIs  error
		header http.Header
	}{
		{"POST", func(r *http.Request) { r.Method = "POST" }, 405, ErrInvalidMethod, http.Header{"Allow": {"GET"}}},
		{"lower-case get", func(r *http.Request) { r.Method = "get" }, 405, ErrInvalidMethod, http.Header{"Allow": {"GET"}}},
		{"HTTP/1.0", func(r *http.Request) { r.Proto, r.ProtoMinor = "HTTP/1.0", 0 }, 505, ErrInvalidProtocol, nil},
		{"HTTP/2.0", func(r *http.Request) { r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/2.0", 2, 0 }, 505, ErrInvalidProtocol, nil},
		{"missing Host", func(r *http.Request) { r.Host = "" }, 400, ErrInvalidHost, nil},
		{"missing Connection", func(r *http.Request) { delete(r.Header, "Connection") }, 426, ErrInvalidUpgrade, http.Header{"Upgrade": {"websocket"}}},
		{"Connection keep-alive", func(r *http.Request) { r.Header["Connection"] = []string{"keep-alive"} }, 426, ErrInvalidUpgrade, http.Header{"Upgrade": {"websocket"}}},
		{"malformed Connection", func(r *http.Request) { r.Header["Connection"] = []string{"a b"} }, 426, ErrInvalidUpgrade, http.Header{"Upgrade": {"websocket"}}},
		{"missing Upgrade", func(r *http.Request) { delete(r.Header, "Upgrade") }, 426, ErrInvalidUpgrade, http.Header{"Upgrade": {"websocket"}}},
		{"Upgrade h2c", func(r *http.Request) { r.Header["Upgrade"] = []string{"h2c"} }, 426, ErrInvalidUpgrade, http.Header{"Upgrade": {"websocket"}}},
		{"Upgrade two protocols", func(r *http.Request) { r.Header["Upgrade"] = []string{"websocket, h2c"} }, 426, ErrInvalidUpgrade, http.Header{"Upgrade": {"websocket"}}},
		{"Upgrade with version", func(r *http.Request) { r.Header["Upgrade"] = []string{"websocket/13"} }, 426, ErrInvalidUpgrade, http.Header{"Upgrade": {"websocket"}}},
		{"missing key", func(r *http.Request) { delete(r.Header, "Sec-Websocket-Key") }, 400, ErrInvalidHeader, nil},
		{"two keys", func(r *http.Request) {
			r.Header["Sec-Websocket-Key"] = append(r.Header["Sec-Websocket-Key"], "dGhlIHNhbXBsZSBub25jZQ==")
		}, 400, ErrInvalidHeader, nil},
		{"key not base64", func(r *http.Request) { r.Header["Sec-Websocket-Key"] = []string{"not base64 at all!!!!!!!"} }, 400, ErrInvalidHeader, nil},
		{"key of 15 bytes", func(r *http.Request) { r.Header["Sec-Websocket-Key"] = []string{"dGhlIHNhbXBsZSBub25j"} }, 400, ErrInvalidHeader, nil},
		{"missing version", func(r *http.Request) { delete(r.Header, "Sec-Websocket-Version") }, 400, ErrInvalidHeader, nil},
		{"two versions", func(r *http.Request) { r.Header["Sec-Websocket-Version"] = []string{"13", "13"} }, 400, ErrInvalidHeader, nil},
		{"version 8", func(r *http.Request) { r.Header["Sec-Websocket-Version"] = []string{"8"} }, 426, ErrInvalidHeader, http.Header{"Sec-Websocket-Version": {"13"}}},
		{"version 13 with junk", func(r *http.Request) { r.Header["Sec-Websocket-Version"] = []string{"13, 8"} }, 426, ErrInvalidHeader, http.Header{"Sec-Websocket-Version": {"13"}}},
		{"malformed extensions", func(r *http.Request) { r.Header["Sec-Websocket-Extensions"] = []string{"a;;"} }, 400, ErrInvalidHeader, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := goodRequest()
			tt.edit(r)
			h, n, err := (&ServerHandshake{}).Accept(r)
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
			status, rh, body := RejectResponse(err)
			if status != tt.status {
				t.Fatalf("RejectResponse status %d", status)
			}
			for k, v := range tt.header {
				if !reflect.DeepEqual(rh[k], v) {
					t.Fatalf("RejectResponse header %s = %q", k, rh[k])
				}
			}
			if !strings.HasPrefix(string(body), "Failed to open a WebSocket connection: ") || !strings.HasSuffix(string(body), ".\n") {
				t.Fatalf("body %q", body)
			}
		})
	}
}

func TestServerAcceptIsLenientWhereRFCAllows(t *testing.T) {
	r := goodRequest()
	r.Header["Connection"] = []string{"keep-alive, Upgrade"}
	r.Header["Upgrade"] = []string{"WebSocket"}
	if _, _, err := (&ServerHandshake{}).Accept(r); err != nil {
		t.Fatal(err)
	}
	r = goodRequest()
	r.Header["Connection"] = []string{"keep-alive", "upgrade"}
	if _, _, err := (&ServerHandshake{}).Accept(r); err != nil {
		t.Fatal(err)
	}
}

func TestServerAcceptChecksOrigin(t *testing.T) {
	sh := &ServerHandshake{
		Origins:        []string{"https://example.com"},
		OriginPatterns: []*regexp.Regexp{regexp.MustCompile(`https://[a-z]+\.example\.org`)},
	}
	shMissing := &ServerHandshake{Origins: []string{"https://example.com"}, AllowMissingOrigin: true}
	errCustom := errors.New("nope")
	custom := &ServerHandshake{
		Origins: []string{"https://ignored.example"}, // CheckOrigin replaces the lists
		CheckOrigin: func(r *http.Request) error {
			if r.Header.Get("Origin") == "https://ok" {
				return nil
			}
			return errCustom
		},
	}
	tests := []struct {
		name    string
		sh      *ServerHandshake
		origins []string
		status  int // 0: accepted
	}{
		{"no check configured", &ServerHandshake{}, []string{"https://evil"}, 0},
		{"no check, two origins", &ServerHandshake{}, []string{"a", "b"}, 0},
		{"exact", sh, []string{"https://example.com"}, 0},
		{"exact ignores case", sh, []string{"HTTPS://EXAMPLE.COM"}, 0},
		{"pattern full match", sh, []string{"https://chat.example.org"}, 0},
		{"pattern partial match refused", sh, []string{"https://chat.example.org.evil.com"}, 403},
		{"pattern prefix refused", sh, []string{"xhttps://chat.example.org"}, 403},
		{"other origin", sh, []string{"https://evil.com"}, 403},
		{"missing origin", sh, nil, 403},
		{"missing origin allowed", shMissing, nil, 0},
		{"two origins", sh, []string{"https://example.com", "https://example.com"}, 400},
		{"two origins even when missing is allowed", shMissing, []string{"https://example.com", "https://x"}, 400},
		{"null origin", sh, []string{"null"}, 403},
		{"custom accepts", custom, []string{"https://ok"}, 0},
		{"custom refuses", custom, []string{"https://ignored.example"}, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := goodRequest()
			if tt.origins != nil {
				r.Header["Origin"] = tt.origins
			}
			_, _, err := tt.sh.Accept(r)
			if tt.status == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var he *HandshakeError
			if !errors.As(err, &he) || he.Status != tt.status || !errors.Is(err, ErrInvalidOrigin) {
				t.Fatalf("err = %v, want %d", err, tt.status)
			}
			if st, _, _ := RejectResponse(err); st != tt.status {
				t.Fatalf("RejectResponse status %d", st)
			}
		})
	}
}

func TestServerAcceptSelectsSubprotocol(t *testing.T) {
	errBoom := errors.New("boom")
	tests := []struct {
		name    string
		sh      *ServerHandshake
		offered []string
		want    string
		status  int // 0: accepted
		msg     string
	}{
		{"server has none", &ServerHandshake{}, []string{"chat"}, "", 0, ""},
		{"none either side", &ServerHandshake{Subprotocols: []string{}}, nil, "", 0, ""},
		{"client offers none", &ServerHandshake{Subprotocols: []string{"a", "b"}}, nil, "", 400, "ws: missing subprotocol"},
		{"server preference wins", &ServerHandshake{Subprotocols: []string{"a", "b"}}, []string{"b, a"}, "a", 0, ""},
		{"only overlap", &ServerHandshake{Subprotocols: []string{"a", "b"}}, []string{"c", "b"}, "b", 0, ""},
		{"no overlap", &ServerHandshake{Subprotocols: []string{"a", "b"}}, []string{"c"}, "", 400, "ws: invalid subprotocol; expected one of a, b"},
		{"malformed header", &ServerHandshake{Subprotocols: []string{"a"}}, []string{"a b"}, "", 400, ""},
		{"custom picks", &ServerHandshake{Subprotocols: []string{"a"}, SelectSubprotocol: func(r *http.Request, offered []string) (string, error) {
			return offered[len(offered)-1], nil
		}}, []string{"a, b"}, "b", 0, ""},
		{"custom picks none", &ServerHandshake{SelectSubprotocol: func(*http.Request, []string) (string, error) { return "", nil }}, []string{"a"}, "", 0, ""},
		{"custom negotiation error", &ServerHandshake{SelectSubprotocol: func(*http.Request, []string) (string, error) {
			return "", &NegotiationError{Msg: "no thanks"}
		}}, []string{"a"}, "", 400, "ws: no thanks"},
		{"custom other error", &ServerHandshake{SelectSubprotocol: func(*http.Request, []string) (string, error) { return "", errBoom }}, []string{"a"}, "", 500, ""},
		{"custom picks unoffered", &ServerHandshake{SelectSubprotocol: func(*http.Request, []string) (string, error) { return "zzz", nil }}, []string{"a"}, "", 500, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := goodRequest()
			if tt.offered != nil {
				r.Header["Sec-Websocket-Protocol"] = tt.offered
			}
			h, n, err := tt.sh.Accept(r)
			if tt.status == 0 {
				if err != nil || n.Subprotocol != tt.want || h.Get("Sec-WebSocket-Protocol") != tt.want {
					t.Fatalf("n %+v h %v err %v; want %q", n, h, err, tt.want)
				}
				if _, ok := h["Sec-Websocket-Protocol"]; tt.want == "" && ok {
					t.Fatal("empty Sec-WebSocket-Protocol sent")
				}
				return
			}
			status, _, body := RejectResponse(err)
			if status != tt.status {
				t.Fatalf("err %v gives status %d, want %d", err, status, tt.status)
			}
			if tt.msg != "" && err.Error() != tt.msg {
				t.Fatalf("err = %q, want %q", err, tt.msg)
			}
			if status == 500 {
				if string(body) != "Failed to open a WebSocket connection.\nSee server log for more information.\n" {
					t.Fatalf("500 body %q", body)
				}
				if tt.name == "custom other error" && !errors.Is(err, errBoom) {
					t.Fatalf("cause lost: %v", err)
				}
			}
		})
	}
}

func TestServerAcceptNegotiatesExtensions(t *testing.T) {
	decline := func(params []Param, acc []Extension) ([]Param, Extension, error) {
		return nil, nil, &NegotiationError{Msg: "declined"}
	}
	onlyIfX := func(name string) func([]Param, []Extension) ([]Param, Extension, error) {
		return func(params []Param, acc []Extension) ([]Param, Extension, error) {
			if len(params) == 0 || params[0].Name != "x" {
				return nil, nil, errors.New("want x")
			}
			return []Param{{Name: "x", Value: "ok"}}, &fakeExt{name: name}, nil
		}
	}
	tests := []struct {
		name      string
		factories []ServerExtensionFactory
		offers    []string
		header    string
		want      []string
		calls     []int // Negotiate calls per factory
	}{
		{"no factories", nil, []string{"a"}, "", nil, nil},
		{"no offers", []ServerExtensionFactory{&fakeServerFactory{name: "a"}}, nil, "", nil, []int{0}},
		{"accepted with params echoed", []ServerExtensionFactory{&fakeServerFactory{name: "a"}}, []string{"a; p=1"}, "a; p=1", []string{"a"}, []int{1}},
		{"unknown offer ignored", []ServerExtensionFactory{&fakeServerFactory{name: "a"}}, []string{"z, a"}, "a", []string{"a"}, []int{1}},
		{"declined", []ServerExtensionFactory{&fakeServerFactory{name: "a", negotiate: decline}}, []string{"a"}, "", nil, []int{1}},
		{"duplicate offer skipped once accepted", []ServerExtensionFactory{&fakeServerFactory{name: "a"}}, []string{"a; p=1, a; p=2"}, "a; p=1", []string{"a"}, []int{1}},
		{"later offer accepted after a decline", []ServerExtensionFactory{&fakeServerFactory{name: "a", negotiate: onlyIfX("a")}}, []string{"a; y", "a; x"}, "a; x=ok", []string{"a"}, []int{2}},
		{"second factory of a name tried", []ServerExtensionFactory{&fakeServerFactory{name: "a", negotiate: decline}, &fakeServerFactory{name: "a"}}, []string{"a"}, "a", []string{"a"}, []int{1, 1}},
		{"client order kept", []ServerExtensionFactory{&fakeServerFactory{name: "a"}, &fakeServerFactory{name: "b"}}, []string{"b", "a"}, "b, a", []string{"b", "a"}, []int{1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := goodRequest()
			if tt.offers != nil {
				r.Header["Sec-Websocket-Extensions"] = tt.offers
			}
			h, n, err := (&ServerHandshake{Extensions: tt.factories}).Accept(r)
			if err != nil {
				t.Fatal(err)
			}
			if got := h.Get("Sec-WebSocket-Extensions"); got != tt.header {
				t.Fatalf("header %q, want %q", got, tt.header)
			}
			var names []string
			for _, e := range n.Extensions {
				names = append(names, e.Name())
			}
			if !reflect.DeepEqual(names, tt.want) {
				t.Fatalf("extensions %q, want %q", names, tt.want)
			}
			for i, f := range tt.factories {
				if got := len(f.(*fakeServerFactory).calls); got != tt.calls[i] {
					t.Fatalf("factory %d called %d times, want %d", i, got, tt.calls[i])
				}
			}
		})
	}
}

func TestServerAcceptPassesAcceptedExtensionsToLaterFactories(t *testing.T) {
	var seen []string
	b := &fakeServerFactory{name: "b", negotiate: func(params []Param, acc []Extension) ([]Param, Extension, error) {
		for _, e := range acc {
			seen = append(seen, e.Name())
		}
		return nil, &fakeExt{name: "b"}, nil
	}}
	r := goodRequest()
	r.Header["Sec-Websocket-Extensions"] = []string{"a, b"}
	if _, _, err := (&ServerHandshake{Extensions: []ServerExtensionFactory{&fakeServerFactory{name: "a"}, b}}).Accept(r); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(seen, []string{"a"}) {
		t.Fatalf("b saw %q", seen)
	}
}

func TestServerAcceptReleasesExtensionsWhenSubprotocolFails(t *testing.T) {
	var ext *fakeExt
	f := &fakeServerFactory{name: "a", negotiate: func(params []Param, acc []Extension) ([]Param, Extension, error) {
		ext = &fakeExt{name: "a"}
		return nil, ext, nil
	}}
	r := goodRequest()
	r.Header["Sec-Websocket-Extensions"] = []string{"a"}
	_, n, err := (&ServerHandshake{Extensions: []ServerExtensionFactory{f}, Subprotocols: []string{"chat"}}).Accept(r)
	if !errors.Is(err, ErrNegotiation) || n.Extensions != nil {
		t.Fatalf("err = %v, n = %+v", err, n)
	}
	if ext == nil || ext.closed != 1 {
		t.Fatal("extension not released")
	}
}

func TestRejectResponse(t *testing.T) {
	const prefix = "Failed to open a WebSocket connection: "
	tests := []struct {
		name   string
		err    error
		status int
		body   string
		header http.Header
	}{
		{"426 upgrade adds browser note", &HandshakeError{Status: 426, Msg: "invalid Upgrade header", Err: ErrInvalidUpgrade, Header: http.Header{"Upgrade": {"websocket"}}},
			426, prefix + "invalid Upgrade header.\n\n" + browserNote, http.Header{"Upgrade": {"websocket"}}},
		{"426 version has no browser note", &HandshakeError{Status: 426, Msg: "unsupported version", Err: ErrInvalidHeader, Header: http.Header{"Sec-Websocket-Version": {"13"}}},
			426, prefix + "unsupported version.\n", http.Header{"Sec-Websocket-Version": {"13"}}},
		{"405 with Allow", &HandshakeError{Status: 405, Msg: "bad method", Err: ErrInvalidMethod, Header: http.Header{"Allow": {"GET"}}},
			405, prefix + "bad method.\n", http.Header{"Allow": {"GET"}}},
		{"negotiation error is 400", &NegotiationError{Msg: "missing subprotocol"}, 400, prefix + "missing subprotocol.\n", nil},
		{"wrapped negotiation error is 400", errors.Join(errors.New("ctx"), &NegotiationError{Msg: "x"}), 400, "", nil},
		{"handshake error without status is 500", &HandshakeError{Msg: "client side", Err: ErrInvalidURI}, 500, "", nil},
		{"plain error is 500", errors.New("database down"), 500, "", nil},
		{"handshake error with Err only", &HandshakeError{Status: 403, Err: ErrInvalidOrigin}, 403, prefix + "invalid origin.\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, h, body := RejectResponse(tt.err)
			if status != tt.status {
				t.Fatalf("status %d, want %d", status, tt.status)
			}
			if status == 500 {
				tt.body = "Failed to open a WebSocket connection.\nSee server log for more information.\n"
				if strings.Contains(string(body), "database") {
					t.Fatal("500 body leaks details")
				}
			}
			if tt.body != "" && string(body) != tt.body {
				t.Fatalf("body %q, want %q", body, tt.body)
			}
			if h.Get("Connection") != "close" || h.Get("Content-Type") != "text/plain; charset=utf-8" {
				t.Fatalf("headers %v", h)
			}
			for k, v := range tt.header {
				if !reflect.DeepEqual(h[k], v) {
					t.Fatalf("%s = %q, want %q", k, h[k], v)
				}
			}
			// The response serialises.
			if _, err := AppendResponse(nil, status, h, body); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestRejectResponseDoesNotShareHeaderMapWithError(t *testing.T) {
	he := &HandshakeError{Status: 405, Msg: "m", Header: http.Header{"Allow": {"GET"}}}
	_, h, _ := RejectResponse(he)
	h.Set("Allow", "POST")
	if he.Header.Get("Allow") != "GET" {
		t.Fatal("RejectResponse shares the error's header values")
	}
}

func TestCloseExtensionsClosesOnlyClosers(t *testing.T) {
	a, b := &fakeExt{name: "a"}, &fakeExt{name: "b"}
	CloseExtensions([]Extension{a, noCloseExt{}, b})
	if a.closed != 1 || b.closed != 1 {
		t.Fatalf("closed %d %d", a.closed, b.closed)
	}
	CloseExtensions(nil)
}

type noCloseExt struct{}

func (noCloseExt) Name() string               { return "n" }
func (noCloseExt) Params() []Param            { return nil }
func (noCloseExt) RsvBits() byte              { return 0 }
func (noCloseExt) Encode(*Frame) error        { return nil }
func (noCloseExt) Decode(*Frame, int64) error { return nil }
