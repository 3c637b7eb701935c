package ws

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"testing/iotest"
)

const validRequest = "GET /chat?x=1 HTTP/1.1\r\n" +
	"Host: example.com\r\n" +
	"Upgrade: websocket\r\n" +
	"Connection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
	"Sec-WebSocket-Version: 13\r\n" +
	"X-Multi: a\r\n" +
	"x-multi: b\r\n" +
	"X-Spaces: \t padded value \t\r\n" +
	"X-Empty:\r\n" +
	"\r\n"

const validResponse = "HTTP/1.1 101 Switching Protocols\r\n" +
	"Upgrade: websocket\r\n" +
	"Connection: Upgrade\r\n" +
	"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" +
	"\r\n"

func TestParseRequestParsesAValidHead(t *testing.T) {
	in := []byte(validRequest + "trailing frame bytes")
	req, n, err := parseRequestAll(t, in, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if n != len(validRequest) {
		t.Fatalf("n = %d, want %d", n, len(validRequest))
	}
	if req.Method != "GET" || req.RequestURI != "/chat?x=1" || req.URL.Path != "/chat" || req.URL.RawQuery != "x=1" {
		t.Fatalf("request line: %s %s %v", req.Method, req.RequestURI, req.URL)
	}
	if req.Proto != "HTTP/1.1" || req.ProtoMajor != 1 || req.ProtoMinor != 1 {
		t.Fatalf("proto %s %d.%d", req.Proto, req.ProtoMajor, req.ProtoMinor)
	}
	if req.Host != "example.com" || req.Header.Get("Host") != "" {
		t.Fatalf("Host %q, header %q", req.Host, req.Header.Get("Host"))
	}
	if got := req.Header.Values("X-Multi"); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Fatalf("X-Multi = %q", got)
	}
	if got := req.Header.Get("X-Spaces"); got != "padded value" {
		t.Fatalf("X-Spaces = %q", got)
	}
	if got, ok := req.Header["X-Empty"]; !ok || got[0] != "" {
		t.Fatalf("X-Empty = %q, %v", got, ok)
	}
	if req.Body != http.NoBody {
		t.Fatal("Body is not http.NoBody")
	}
}

func TestParseRequestNeedsMoreAtEveryTruncation(t *testing.T) {
	for i := 0; i < len(validRequest); i++ {
		_, n, err := parseRequestAll(t, []byte(validRequest[:i]), Limits{})
		if !errors.Is(err, ErrNeedMore) || n != 0 {
			t.Fatalf("prefix of %d bytes: n %d err %v", i, n, err)
		}
	}
}

func TestParseResponseNeedsMoreAtEveryTruncation(t *testing.T) {
	for i := 0; i < len(validResponse); i++ {
		_, n, err := parseResponseAll(t, []byte(validResponse[:i]), Limits{}, false)
		if !errors.Is(err, ErrNeedMore) || n != 0 {
			t.Fatalf("prefix of %d bytes: n %d err %v", i, n, err)
		}
	}
}

// requestWithLine returns a request whose request line is n bytes, CRLF
// included.
func requestWithLine(n int) string {
	fixed := len("GET / HTTP/1.1\r\n")
	return "GET /" + strings.Repeat("a", n-fixed) + " HTTP/1.1\r\nHost: h\r\n\r\n"
}

// requestWithHeaderLine returns a request with one header line of n bytes,
// CRLF included.
func requestWithHeaderLine(n int) string {
	fixed := len("X-Long: \r\n")
	return "GET / HTTP/1.1\r\nHost: h\r\nX-Long: " + strings.Repeat("v", n-fixed) + "\r\n\r\n"
}

// requestWithHeaders returns a request with n header lines.
func requestWithHeaders(n int) string {
	var b strings.Builder
	b.WriteString("GET / HTTP/1.1\r\nHost: h\r\n")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "X-H%d: v\r\n", i)
	}
	b.WriteString("\r\n")
	return b.String()
}

func TestParseRequestLimits(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		lim    Limits
		status int // 0: accepted
	}{
		{"request line of 8192 bytes", requestWithLine(8192), Limits{}, 0},
		{"request line of 8193 bytes", requestWithLine(8193), Limits{}, http.StatusRequestURITooLong},
		{"header line of 8192 bytes", requestWithHeaderLine(8192), Limits{}, 0},
		{"header line of 8193 bytes", requestWithHeaderLine(8193), Limits{}, http.StatusRequestHeaderFieldsTooLarge},
		{"128 headers", requestWithHeaders(128), Limits{}, 0},
		{"129 headers", requestWithHeaders(129), Limits{}, http.StatusRequestHeaderFieldsTooLarge},
		{"custom line limit just under", requestWithLine(100), Limits{MaxLineLength: 100}, 0},
		{"custom line limit just over", requestWithLine(101), Limits{MaxLineLength: 100}, http.StatusRequestURITooLong},
		{"custom header count just under", requestWithHeaders(3), Limits{MaxHeaders: 3}, 0},
		{"custom header count just over", requestWithHeaders(4), Limits{MaxHeaders: 3}, http.StatusRequestHeaderFieldsTooLarge},
		{"negative limits mean defaults", requestWithHeaders(128), Limits{MaxHeaders: -1, MaxLineLength: -1}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, n, err := parseRequestAll(t, []byte(tt.in), tt.lim)
			if tt.status == 0 {
				if err != nil || n != len(tt.in) {
					t.Fatalf("n %d err %v", n, err)
				}
				return
			}
			var he *HandshakeError
			if !errors.As(err, &he) || he.Status != tt.status || !errors.Is(err, ErrSecurityLimit) || !errors.Is(err, ErrInvalidHandshake) {
				t.Fatalf("err = %v (%#v), want status %d", err, he, tt.status)
			}
		})
	}
}

func TestParseRequestFailsAtOnceWhenAnIncompleteLineIsTooLong(t *testing.T) {
	// No LF yet, but the line already cannot fit: no need to wait.
	line := "GET /" + strings.Repeat("a", 8192)
	_, _, err := parseRequestAll(t, []byte(line), Limits{})
	var he *HandshakeError
	if !errors.As(err, &he) || he.Status != http.StatusRequestURITooLong {
		t.Fatalf("err = %v", err)
	}
	// 8191 bytes without LF could still end with CRLF within 8192.
	if _, _, err := parseRequestAll(t, []byte("GET /"+strings.Repeat("a", 8186)), Limits{}); !errors.Is(err, ErrNeedMore) {
		t.Fatalf("8191 bytes: err = %v", err)
	}
	hdr := "GET / HTTP/1.1\r\nX: " + strings.Repeat("v", 8190)
	if _, _, err := parseRequestAll(t, []byte(hdr), Limits{}); !errors.As(err, &he) || he.Status != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("header err = %v", err)
	}
}

func TestMaxHeadSizeBoundsEveryAcceptedHead(t *testing.T) {
	if got := (Limits{}).MaxHeadSize(); got != 8192*130 {
		t.Fatalf("MaxHeadSize = %d", got)
	}
	if got := (Limits{MaxLineLength: 100, MaxHeaders: 3}).MaxHeadSize(); got != 500 {
		t.Fatalf("MaxHeadSize = %d", got)
	}
}

func TestParseRequestRejectsMalformedRequests(t *testing.T) {
	const tail = "Host: h\r\n\r\n"
	tests := []struct {
		name string
		in   string
	}{
		{"bare LF in request line", "GET / HTTP/1.1\n" + tail},
		{"bare LF in header", "GET / HTTP/1.1\r\nHost: h\n\r\n"},
		{"bare LF at end", "GET / HTTP/1.1\r\nHost: h\r\n\n"},
		{"obs-fold with space", "GET / HTTP/1.1\r\nX: a\r\n b\r\n" + tail},
		{"obs-fold with tab", "GET / HTTP/1.1\r\nX: a\r\n\tb\r\n" + tail},
		{"header without colon", "GET / HTTP/1.1\r\nNoColon\r\n" + tail},
		{"header with empty name", "GET / HTTP/1.1\r\n: v\r\n" + tail},
		{"space before colon", "GET / HTTP/1.1\r\nX : v\r\n" + tail},
		{"non-token header name", "GET / HTTP/1.1\r\nX(y): v\r\n" + tail},
		{"control char in value", "GET / HTTP/1.1\r\nX: a\x01b\r\n" + tail},
		{"CR in value", "GET / HTTP/1.1\r\nX: a\rb\r\n" + tail},
		{"DEL in value", "GET / HTTP/1.1\r\nX: a\x7fb\r\n" + tail},
		{"NUL in value", "GET / HTTP/1.1\r\nX: a\x00b\r\n" + tail},
		{"missing target", "GET HTTP/1.1\r\n" + tail},
		{"double space", "GET  / HTTP/1.1\r\n" + tail},
		{"junk", "hello\r\n" + tail},
		{"empty request line", "\r\n" + tail},
		{"non-token method", "G(T / HTTP/1.1\r\n" + tail},
		{"non-ascii method", "GÉT / HTTP/1.1\r\n" + tail},
		{"non-ascii target", "GET /é HTTP/1.1\r\n" + tail},
		{"control char in target", "GET /\x01 HTTP/1.1\r\n" + tail},
		{"HTTP/2.0", "GET / HTTP/2.0\r\n" + tail},
		{"not HTTP", "GET / FTP/1.1\r\n" + tail},
		{"trailing junk after version", "GET / HTTP/1.1 x\r\n" + tail},
		{"relative target", "GET chat HTTP/1.1\r\n" + tail},
		{"opaque absolute target (fuzz)", "0 A:0 HTTP/1.0\r\n" + tail},
		{"opaque target with path", "GET mailto:x/y HTTP/1.1\r\n" + tail},
		{"non-zero Content-Length", "GET / HTTP/1.1\r\nContent-Length: 5\r\n" + tail},
		{"two Content-Length headers", "GET / HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: 0\r\n" + tail},
		{"junk Content-Length", "GET / HTTP/1.1\r\nContent-Length: x\r\n" + tail},
		{"Transfer-Encoding", "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n" + tail},
		{"Transfer-Encoding identity", "GET / HTTP/1.1\r\nTransfer-Encoding: identity\r\n" + tail},
		{"two Host headers", "GET / HTTP/1.1\r\nHost: a\r\n" + tail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, n, err := parseRequestAll(t, []byte(tt.in), Limits{})
			var he *HandshakeError
			if !errors.As(err, &he) || he.Status != http.StatusBadRequest || !errors.Is(err, ErrInvalidMessage) || n != 0 {
				t.Fatalf("n %d err = %v", n, err)
			}
			if !strings.HasPrefix(err.Error(), "ws: did not receive a valid HTTP request: ") {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestParseRequestAcceptsZeroContentLengthAndHTTP10(t *testing.T) {
	req, _, err := parseRequestAll(t, []byte("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"), Limits{})
	if err != nil || req.Host != "h" {
		t.Fatalf("Content-Length 0: %v", err)
	}
	// HTTP/1.0 parses; the handshake then refuses it with 505.
	req, _, err = parseRequestAll(t, []byte("GET / HTTP/1.0\r\nHost: h\r\n\r\n"), Limits{})
	if err != nil || req.ProtoMinor != 0 {
		t.Fatalf("HTTP/1.0: %v", err)
	}
	// No Host header: parsed; the handshake refuses it.
	req, _, err = parseRequestAll(t, []byte("GET / HTTP/1.1\r\n\r\n"), Limits{})
	if err != nil || req.Host != "" {
		t.Fatalf("no Host: %v", err)
	}
	// Header names are canonicalised; obs-text is allowed in values.
	req, _, err = parseRequestAll(t, []byte("GET / HTTP/1.1\r\nsec-websocket-key: k\r\nX: caf\xe9\r\n\r\n"), Limits{})
	if err != nil || req.Header.Get("Sec-WebSocket-Key") != "k" || req.Header.Get("X") != "caf\xe9" {
		t.Fatalf("canonical keys: %v %v", err, req.Header)
	}
}

func TestParseResponseParsesStatusLines(t *testing.T) {
	tests := []struct {
		in     string
		http10 bool
		status int
		text   string
	}{
		{validResponse, false, 101, "101 Switching Protocols"},
		{"HTTP/1.1 404 Not Found\r\n\r\n", false, 404, "404 Not Found"},
		{"HTTP/1.1 200 \r\n\r\n", false, 200, "200 "},
		{"HTTP/1.1 200\r\n\r\n", false, 200, "200 "},
		{"HTTP/1.1 599 Custom\twith tab\r\n\r\n", false, 599, "599 Custom\twith tab"},
		{"HTTP/1.1 100 Continue\r\n\r\n", false, 100, "100 Continue"},
		{"HTTP/1.0 200 Connection established\r\n\r\n", true, 200, "200 Connection established"},
	}
	for _, tt := range tests {
		resp, n, err := parseResponseAll(t, []byte(tt.in+"rest"), Limits{}, tt.http10)
		if err != nil || n != len(tt.in) {
			t.Errorf("ParseResponse(%q) = n %d, %v", tt.in, n, err)
			continue
		}
		if resp.StatusCode != tt.status || resp.Status != tt.text || resp.ContentLength != -1 {
			t.Errorf("ParseResponse(%q) = %d %q cl %d", tt.in, resp.StatusCode, resp.Status, resp.ContentLength)
		}
	}
}

func TestParseResponseRejectsMalformedResponses(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		http10 bool
	}{
		{"HTTP/1.0 without proxy", "HTTP/1.0 101 OK\r\n\r\n", false},
		{"HTTP/2", "HTTP/2 101 OK\r\n\r\n", true},
		{"lower-case protocol", "http/1.1 101 OK\r\n\r\n", false},
		{"no status", "HTTP/1.1\r\n\r\n", false},
		{"status not a number", "HTTP/1.1 abc OK\r\n\r\n", false},
		{"status 99", "HTTP/1.1 099 OK\r\n\r\n", false},
		{"status 600", "HTTP/1.1 600 OK\r\n\r\n", false},
		{"status four digits", "HTTP/1.1 1010 OK\r\n\r\n", false},
		{"status with sign", "HTTP/1.1 +99 OK\r\n\r\n", false},
		{"control in reason", "HTTP/1.1 101 O\x01K\r\n\r\n", false},
		{"DEL in reason", "HTTP/1.1 101 O\x7fK\r\n\r\n", false},
		{"bare LF", "HTTP/1.1 101 OK\n\r\n", false},
		{"obs-fold", "HTTP/1.1 101 OK\r\nX: a\r\n b\r\n\r\n", false},
		{"bad header name", "HTTP/1.1 101 OK\r\nX Y: a\r\n\r\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := parseResponseAll(t, []byte(tt.in), Limits{}, tt.http10)
			if !errors.Is(err, ErrInvalidMessage) || !errors.Is(err, ErrInvalidHandshake) {
				t.Fatalf("err = %v", err)
			}
			if !strings.HasPrefix(err.Error(), "ws: did not receive a valid HTTP response: ") {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestParseResponseLimits(t *testing.T) {
	statusLine := func(n int) string {
		return "HTTP/1.1 200 " + strings.Repeat("r", n-len("HTTP/1.1 200 \r\n")) + "\r\n\r\n"
	}
	withHeaders := func(n int) string {
		var b strings.Builder
		b.WriteString("HTTP/1.1 101 OK\r\n")
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "X-%d: v\r\n", i)
		}
		b.WriteString("\r\n")
		return b.String()
	}
	ok := []string{statusLine(8192), withHeaders(128), "HTTP/1.1 101 OK\r\nX: " + strings.Repeat("v", 8192-len("X: \r\n")) + "\r\n\r\n"}
	for _, in := range ok {
		if _, _, err := parseResponseAll(t, []byte(in), Limits{}, false); err != nil {
			t.Errorf("len %d: %v", len(in), err)
		}
	}
	bad := []string{statusLine(8193), withHeaders(129), "HTTP/1.1 101 OK\r\nX: " + strings.Repeat("v", 8193-len("X: \r\n")) + "\r\n\r\n"}
	for i, in := range bad {
		_, _, err := parseResponseAll(t, []byte(in), Limits{}, false)
		if !errors.Is(err, ErrSecurityLimit) {
			t.Errorf("case %d: err = %v", i, err)
		}
	}
	_, _, err := parseResponseAll(t, []byte(statusLine(8193)), Limits{}, false)
	if err == nil || err.Error() != "ws: status line too long" {
		t.Fatalf("err = %v", err)
	}
}

func respWith(status int, h http.Header) *http.Response {
	if h == nil {
		h = make(http.Header)
	}
	return &http.Response{StatusCode: status, Header: h, ContentLength: -1}
}

func chunked(body string, chunk int) string {
	var b strings.Builder
	for len(body) > 0 {
		n := min(chunk, len(body))
		fmt.Fprintf(&b, "%x\r\n%s\r\n", n, body[:n])
		body = body[n:]
	}
	b.WriteString("0\r\n\r\n")
	return b.String()
}

func TestReadResponseBody(t *testing.T) {
	mib := 1 << 20
	big := strings.Repeat("b", mib)
	tests := []struct {
		name   string
		status int
		h      http.Header
		in     string
		lim    Limits
		want   string
		errIs  error // nil: success
	}{
		{"no body for 101", 101, nil, "frames", Limits{}, "", nil},
		{"no body for 204", 204, http.Header{"Content-Length": {"5"}}, "hello", Limits{}, "", nil},
		{"no body for 304", 304, nil, "hello", Limits{}, "", nil},
		{"content-length", 404, http.Header{"Content-Length": {"5"}}, "hellothere", Limits{}, "hello", nil},
		{"content-length zero", 404, http.Header{"Content-Length": {"0"}}, "x", Limits{}, "", nil},
		{"content-length truncated", 404, http.Header{"Content-Length": {"10"}}, "hello", Limits{}, "", ErrInvalidMessage},
		{"content-length negative", 404, http.Header{"Content-Length": {"-1"}}, "", Limits{}, "", ErrInvalidMessage},
		{"content-length junk", 404, http.Header{"Content-Length": {"5x"}}, "hello", Limits{}, "", ErrInvalidMessage},
		{"content-length with sign", 404, http.Header{"Content-Length": {"+5"}}, "hello", Limits{}, "", ErrInvalidMessage},
		{"content-length twice", 404, http.Header{"Content-Length": {"5", "5"}}, "hello", Limits{}, "", ErrInvalidMessage},
		{"content-length too many digits", 404, http.Header{"Content-Length": {"0000000000000000005"}}, "hello", Limits{}, "", ErrInvalidMessage},
		{"content-length 1 MiB", 404, http.Header{"Content-Length": {"1048576"}}, big, Limits{}, big, nil},
		{"content-length over 1 MiB", 404, http.Header{"Content-Length": {"1048577"}}, big + "b", Limits{}, "", ErrSecurityLimit},
		{"content-length huge refused before reading", 404, http.Header{"Content-Length": {"999999999999999999"}}, "", Limits{}, "", ErrSecurityLimit},
		{"content-length custom limit", 404, http.Header{"Content-Length": {"11"}}, "hello world", Limits{MaxBodySize: 10}, "", ErrSecurityLimit},
		{"chunked", 500, http.Header{"Transfer-Encoding": {"chunked"}}, chunked("hello world", 3), Limits{}, "hello world", nil},
		{"chunked case-insensitive", 500, http.Header{"Transfer-Encoding": {"Chunked"}}, chunked("abc", 2), Limits{}, "abc", nil},
		{"chunked 1 MiB", 500, http.Header{"Transfer-Encoding": {"chunked"}}, chunked(big, 4096), Limits{}, big, nil},
		{"chunked over 1 MiB", 500, http.Header{"Transfer-Encoding": {"chunked"}}, chunked(big+"b", 4096), Limits{}, "", ErrSecurityLimit},
		{"chunked endless", 500, http.Header{"Transfer-Encoding": {"chunked"}}, chunked(big+big, 65536)[:mib+100000], Limits{}, "", ErrSecurityLimit},
		{"chunked garbage", 500, http.Header{"Transfer-Encoding": {"chunked"}}, "zz\r\nhello\r\n", Limits{}, "", ErrInvalidMessage},
		{"chunked truncated", 500, http.Header{"Transfer-Encoding": {"chunked"}}, "5\r\nhel", Limits{}, "", ErrInvalidMessage},
		{"chunk size too many digits", 500, http.Header{"Transfer-Encoding": {"chunked"}}, "00000000000000001\r\nx\r\n0\r\n\r\n", Limits{}, "", ErrInvalidMessage},
		{"other transfer encoding", 500, http.Header{"Transfer-Encoding": {"gzip"}}, "x", Limits{}, "", ErrInvalidMessage},
		{"two transfer encodings", 500, http.Header{"Transfer-Encoding": {"gzip", "chunked"}}, "x", Limits{}, "", ErrInvalidMessage},
		{"until EOF", 403, nil, "forbidden\n", Limits{}, "forbidden\n", nil},
		{"until EOF empty", 403, nil, "", Limits{}, "", nil},
		{"until EOF 1 MiB", 403, nil, big, Limits{}, big, nil},
		{"until EOF over 1 MiB", 403, nil, big + "b", Limits{}, "", ErrSecurityLimit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := respWith(tt.status, tt.h)
			body, err := ReadResponseBody(strings.NewReader(tt.in), resp, tt.lim)
			if tt.errIs != nil {
				if !errors.Is(err, tt.errIs) || !errors.Is(err, ErrInvalidHandshake) {
					t.Fatalf("err = %v, want %v", err, tt.errIs)
				}
				return
			}
			if err != nil || string(body) != tt.want {
				t.Fatalf("body %d bytes, err %v; want %d bytes", len(body), err, len(tt.want))
			}
		})
	}
}

func TestReadResponseBodyReadsOnlyContentLength(t *testing.T) {
	r := strings.NewReader("hello\x81\x00")
	resp := respWith(404, http.Header{"Content-Length": {"5"}})
	body, err := ReadResponseBody(r, resp, Limits{})
	if err != nil || string(body) != "hello" || resp.ContentLength != 5 || r.Len() != 2 {
		t.Fatalf("body %q err %v cl %d left %d", body, err, resp.ContentLength, r.Len())
	}
	// One byte at a time works too.
	resp = respWith(404, http.Header{"Content-Length": {"5"}})
	body, err = ReadResponseBody(iotest.OneByteReader(strings.NewReader("hello")), resp, Limits{})
	if err != nil || string(body) != "hello" {
		t.Fatalf("one byte reader: %q %v", body, err)
	}
}

func TestReadResponseBodyReturnsReadErrors(t *testing.T) {
	boom := errors.New("boom")
	_, err := ReadResponseBody(iotest.ErrReader(boom), respWith(500, nil), Limits{})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	_, err = ReadResponseBody(io.MultiReader(strings.NewReader("ab"), iotest.ErrReader(boom)), respWith(500, http.Header{"Content-Length": {"5"}}), Limits{})
	if !errors.Is(err, ErrInvalidMessage) {
		t.Fatalf("err = %v", err)
	}
}

func TestAppendRequestWritesHandshakeHeadersFirst(t *testing.T) {
	u, _ := url.Parse("ws://example.com:8080/chat?room=1")
	req := &http.Request{
		Method: "GET",
		URL:    u,
		Header: http.Header{
			"Zeta":                  {"z"},
			"Alpha":                 {"a1", "a2"},
			"Upgrade":               {"websocket"},
			"Sec-Websocket-Version": {"13"},
			"Connection":            {"Upgrade"},
			"Sec-Websocket-Key":     {"k"},
		},
	}
	got, err := AppendRequest([]byte(">"), req)
	if err != nil {
		t.Fatal(err)
	}
	want := ">GET /chat?room=1 HTTP/1.1\r\n" +
		"Host: example.com:8080\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-Websocket-Key: k\r\n" +
		"Sec-Websocket-Version: 13\r\n" +
		"Alpha: a1\r\nAlpha: a2\r\n" +
		"Zeta: z\r\n\r\n"
	if string(got) != want {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
	if req.Header.Get("Host") != "" {
		t.Fatal("AppendRequest changed the request's headers")
	}
	// It parses back.
	back, n, err := parseRequestAll(t, got[1:], Limits{})
	if err != nil || n != len(got)-1 || back.Host != "example.com:8080" || back.Header.Get("Alpha") != "a1" {
		t.Fatalf("parse back: %v", err)
	}
	// req.Host wins over the URL's host; nil headers are fine.
	got, err = AppendRequest(nil, &http.Request{Method: "GET", URL: u, Host: "other"})
	if err != nil || string(got) != "GET /chat?room=1 HTTP/1.1\r\nHost: other\r\n\r\n" {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestAppendRequestRefusesHeaderInjection(t *testing.T) {
	u, _ := url.Parse("ws://example.com/")
	tests := []struct {
		name string
		req  *http.Request
	}{
		{"CRLF in value", &http.Request{Method: "GET", URL: u, Header: http.Header{"X": {"a\r\nEvil: 1"}}}},
		{"LF in value", &http.Request{Method: "GET", URL: u, Header: http.Header{"X": {"a\nb"}}}},
		{"CR in value", &http.Request{Method: "GET", URL: u, Header: http.Header{"X": {"a\rb"}}}},
		{"NUL in value", &http.Request{Method: "GET", URL: u, Header: http.Header{"X": {"a\x00b"}}}},
		{"DEL in value", &http.Request{Method: "GET", URL: u, Header: http.Header{"X": {"a\x7fb"}}}},
		{"CRLF in first header", &http.Request{Method: "GET", URL: u, Header: http.Header{"Origin": {"o\r\n"}}}},
		{"CRLF in name", &http.Request{Method: "GET", URL: u, Header: http.Header{"X\r\nEvil": {"1"}}}},
		{"colon in name", &http.Request{Method: "GET", URL: u, Header: http.Header{"X:": {"1"}}}},
		{"empty name", &http.Request{Method: "GET", URL: u, Header: http.Header{"": {"1"}}}},
		{"CRLF in host", &http.Request{Method: "GET", URL: u, Host: "h\r\nEvil: 1"}},
		{"space in target", &http.Request{Method: "GET", URL: &url.URL{Opaque: "/a b"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := AppendRequest(nil, tt.req)
			if err == nil {
				t.Fatal("accepted")
			}
		})
	}
	// Tabs and obs-text are allowed in values.
	if _, err := AppendRequest(nil, &http.Request{Method: "GET", URL: u, Header: http.Header{"X": {"a\tb\xe9"}}}); err != nil {
		t.Fatal(err)
	}
}

func TestAppendResponse(t *testing.T) {
	h := http.Header{
		"Sec-Websocket-Accept": {"acc"},
		"Upgrade":              {"websocket"},
		"Connection":           {"Upgrade"},
		"Server":               {"tether"},
	}
	got, err := AppendResponse(nil, 101, h, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-Websocket-Accept: acc\r\nServer: tether\r\n\r\n"
	if string(got) != want {
		t.Fatalf("got %q", got)
	}
	got, err = AppendResponse(nil, 403, nil, []byte("no\n"))
	if err != nil || string(got) != "HTTP/1.1 403 Forbidden\r\nContent-Length: 3\r\n\r\nno\n" {
		t.Fatalf("got %q, %v", got, err)
	}
	got, err = AppendResponse(nil, 400, h, []byte{})
	if err != nil || !bytes.Contains(got, []byte("Content-Length: 0\r\n")) || h.Get("Content-Length") != "" {
		t.Fatalf("empty body: %q, %v; caller's header changed: %v", got, err, h)
	}
	resp, n, err := parseResponseAll(t, got, Limits{}, false)
	if err != nil || n != len(got) || resp.StatusCode != 400 {
		t.Fatalf("parse back: %v", err)
	}
	for _, bad := range []http.Header{
		{"X": {"a\r\nSet-Cookie: evil"}},
		{"Bad Name": {"v"}},
		{"Upgrade": {"websocket\n"}},
	} {
		if _, err := AppendResponse(nil, 400, bad, []byte("x")); err == nil {
			t.Errorf("AppendResponse accepted %q", bad)
		}
	}
}

func TestParseHeadDoesNotAllocateWhileIncomplete(t *testing.T) {
	// A runtime re-parses the buffer after every read: an incomplete head
	// must cost no garbage, however many headers it already holds.
	head := []byte(requestWithHeaders(128))
	partial := head[:len(head)-1]
	if a := testing.AllocsPerRun(50, func() { _, _, _ = ParseRequest(partial, Limits{}) }); a != 0 {
		t.Fatalf("incomplete request allocates %v times", a)
	}
	resp := []byte(validResponse[:len(validResponse)-2])
	if a := testing.AllocsPerRun(50, func() { _, _, _ = ParseResponse(resp, Limits{}, false) }); a != 0 {
		t.Fatalf("incomplete response allocates %v times", a)
	}
}

func TestParseRequestAcceptsAbsoluteFormTarget(t *testing.T) {
	req, _, err := parseRequestAll(t, []byte("GET http://example.com/chat?x HTTP/1.1\r\nHost: example.com\r\n\r\n"), Limits{})
	if err != nil || req.URL.Host != "example.com" || req.URL.RequestURI() != "/chat?x" {
		t.Fatalf("%v %v", req, err)
	}
}
