package ws

import (
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

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
