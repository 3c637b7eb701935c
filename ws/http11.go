package ws

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
)

// Limits bounds what the HTTP reader of the opening handshake accepts.
// Zero fields take the defaults of Python websockets.
type Limits struct {
	// MaxLineLength bounds the request or status line and each header
	// line, CRLF included. Default 8192.
	MaxLineLength int
	// MaxHeaders bounds the number of header lines. Default 128.
	MaxHeaders int
	// MaxBodySize bounds the body of a non-101 response the client reads.
	// Default 1 MiB.
	MaxBodySize int64
}

// Default HTTP limits.
const (
	DefaultMaxLineLength = 8192
	DefaultMaxHeaders    = 128
	DefaultMaxBodySize   = 1 << 20
)

func (l Limits) withDefaults() Limits {
	if l.MaxLineLength <= 0 {
		l.MaxLineLength = DefaultMaxLineLength
	}
	if l.MaxHeaders <= 0 {
		l.MaxHeaders = DefaultMaxHeaders
	}
	if l.MaxBodySize <= 0 {
		l.MaxBodySize = DefaultMaxBodySize
	}
	return l
}

// MaxHeadSize returns the largest request or response head the limits allow;
// a reader never needs to buffer more than this, and HeadReader refuses a
// head that grows past it (431).
func (l Limits) MaxHeadSize() int {
	l = l.withDefaults()
	return l.MaxLineLength * (l.MaxHeaders + 2)
}

func limitError(status int, msg string) error {
	return &HandshakeError{Status: status, Msg: msg, Err: ErrSecurityLimit}
}

func invalidMessage(what string, cause string) error {
	return &HandshakeError{Status: http.StatusBadRequest, Msg: "did not receive a valid HTTP " + what + ": " + cause, Err: ErrInvalidMessage}
}

func isASCIIPrintable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= 0x20 || s[i] >= 0x7f {
			return false
		}
	}
	return s != ""
}

// ParseRequest parses the HTTP request head at the start of b. It returns
// ErrNeedMore while b holds no complete head, but fails at once when the
// part it holds already breaks a limit. It returns the request and the
// number of bytes its head took. Errors are *HandshakeError with the status
// to answer: 414 for a long request line, 431 for a long header line or too
// many headers, 400 for anything malformed, including a request body. To
// read a head as it arrives, HeadReader spares scanning it again after
// every read.
func ParseRequest(b []byte, lim Limits) (*http.Request, int, error) {
	s := newHeadScanner(lim, true)
	if done, err := s.scan(b); !done {
		if err == nil {
			err = ErrNeedMore
		}
		return nil, 0, err
	}
	req, err := newRequest(splitHead(b[:s.end]))
	if err != nil {
		return nil, 0, err
	}
	return req, s.end, nil
}

// newRequest checks the request line and headers of h and builds the
// request.
func newRequest(h head) (*http.Request, error) {
	method, rest, ok1 := strings.Cut(h.first, " ")
	target, proto, ok2 := strings.Cut(rest, " ")
	if !ok1 || !ok2 || !IsToken(method) || !isASCIIPrintable(target) {
		return nil, invalidMessage("request", "invalid request line "+quoteForError(h.first))
	}
	major, minor, ok := http.ParseHTTPVersion(proto)
	if !ok || major != 1 {
		return nil, invalidMessage("request", "unsupported protocol "+quoteForError(proto))
	}
	u, err := url.ParseRequestURI(target)
	// RFC 6455 §4.1: a resource name or an absolute URI with a host; an
	// opaque URI such as "a:b" is neither.
	if err != nil || u.Opaque != "" {
		return nil, invalidMessage("request", "invalid request target "+quoteForError(target))
	}
	if cl := h.header.Values("Content-Length"); len(cl) > 0 && !(len(cl) == 1 && cl[0] == "0") {
		return nil, invalidMessage("request", "unsupported request body")
	}
	if len(h.header.Values("Transfer-Encoding")) > 0 {
		return nil, invalidMessage("request", "unsupported transfer encoding")
	}
	hosts := h.header.Values("Host")
	if len(hosts) > 1 {
		return nil, invalidMessage("request", "more than one Host header")
	}
	req := &http.Request{
		Method:     method,
		URL:        u,
		Proto:      proto,
		ProtoMajor: major,
		ProtoMinor: minor,
		Header:     h.header,
		Body:       http.NoBody,
		RequestURI: target,
	}
	if len(hosts) == 1 {
		req.Host = hosts[0]
		delete(req.Header, "Host")
	}
	return req, nil
}

// ParseResponse parses the HTTP response head at the start of b, like
// ParseRequest. The body is not read: see ReadResponseBody. allowHTTP10
// accepts an HTTP/1.0 status line (proxies answer so).
func ParseResponse(b []byte, lim Limits, allowHTTP10 bool) (*http.Response, int, error) {
	s := newHeadScanner(lim, false)
	if done, err := s.scan(b); !done {
		if err == nil {
			err = ErrNeedMore
		}
		return nil, 0, err
	}
	resp, err := newResponse(splitHead(b[:s.end]), allowHTTP10)
	if err != nil {
		return nil, 0, err
	}
	return resp, s.end, nil
}

// newResponse checks the status line of h and builds the response.
func newResponse(h head, allowHTTP10 bool) (*http.Response, error) {
	proto, rest, ok := strings.Cut(h.first, " ")
	codeStr, reason, _ := strings.Cut(rest, " ")
	if !ok || proto != "HTTP/1.1" && !(allowHTTP10 && proto == "HTTP/1.0") {
		return nil, invalidMessage("response", "unsupported protocol in status line "+quoteForError(h.first))
	}
	code, err := strconv.Atoi(codeStr)
	if err != nil || len(codeStr) != 3 || code < 100 || code > 599 {
		return nil, invalidMessage("response", "invalid status code "+quoteForError(codeStr))
	}
	for i := 0; i < len(reason); i++ {
		if c := reason[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return nil, invalidMessage("response", "invalid reason phrase "+quoteForError(reason))
		}
	}
	major, minor, _ := http.ParseHTTPVersion(proto)
	return &http.Response{
		Status:        codeStr + " " + reason,
		StatusCode:    code,
		Proto:         proto,
		ProtoMajor:    major,
		ProtoMinor:    minor,
		Header:        h.header,
		ContentLength: -1,
		Body:          http.NoBody,
	}, nil
}

// ReadResponseBody reads the body of a response parsed by ParseResponse
// from r, which continues where the head ended: none for 1xx, 204 and 304;
// chunked; Content-Length; or up to EOF. A body longer than
// lim.MaxBodySize fails with an error matching ErrSecurityLimit, and its
// first MaxBodySize bytes (what arrived of them) are returned with it.
func ReadResponseBody(r io.Reader, resp *http.Response, lim Limits) ([]byte, error) {
	lim = lim.withDefaults()
	max := lim.MaxBodySize
	if resp.StatusCode < 200 || resp.StatusCode == 204 || resp.StatusCode == 304 {
		return nil, nil
	}
	tooBig := limitError(0, fmt.Sprintf("body too large: over %d bytes", max))
	if te := resp.Header.Values("Transfer-Encoding"); len(te) > 0 {
		if len(te) != 1 || !strings.EqualFold(te[0], "chunked") {
			return nil, invalidMessage("response", "unsupported transfer encoding "+quoteForError(strings.Join(te, ", ")))
		}
		body, err := io.ReadAll(io.LimitReader(httputil.NewChunkedReader(r), max+1))
		if int64(len(body)) > max {
			return body[:max], tooBig
		}
		if err != nil {
			return nil, invalidMessage("response", "invalid chunked body: "+err.Error())
		}
		return body, nil
	}
	if cl := resp.Header.Values("Content-Length"); len(cl) > 0 {
		if len(cl) != 1 || len(cl[0]) > 18 {
			return nil, invalidMessage("response", "invalid Content-Length")
		}
		n, err := strconv.ParseInt(cl[0], 10, 64)
		if err != nil || !isDigits(cl[0]) {
			return nil, invalidMessage("response", "invalid Content-Length "+quoteForError(cl[0]))
		}
		if n > max {
			body, _ := io.ReadAll(io.LimitReader(r, max))
			return body, tooBig
		}
		resp.ContentLength = n
		body := make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil {
			return nil, invalidMessage("response", "truncated body: "+err.Error())
		}
		return body, nil
	}
	body, err := io.ReadAll(io.LimitReader(r, max+1))
	if int64(len(body)) > max {
		return body[:max], tooBig
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return body, err
	}
	return body, nil
}

// isDigits reports whether s is 1*DIGIT (RFC 9110 Content-Length): no
// sign, no space.
func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// validHeaderValue reports whether v may be sent as a header value: HTAB,
// SP, visible ASCII and obs-text (no CR, LF or other controls).
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// CheckHeader reports the first field of h that cannot be written in an
// HTTP/1.1 head: a name that is not a token, or a value with a control
// character (CR and LF among them, which would split the head). The error
// matches ErrInvalidHeader.
func CheckHeader(h http.Header) error {
	for k, vs := range h {
		if err := checkField(k, vs); err != nil {
			return err
		}
	}
	return nil
}

// checkField checks one header field for CheckHeader and appendHeaders.
func checkField(k string, vs []string) error {
	if !IsToken(k) {
		return fmt.Errorf("%w: name %q is not a token", ErrInvalidHeader, k)
	}
	for _, v := range vs {
		if !validHeaderValue(v) {
			return fmt.Errorf("%w: %s has a control character in %q", ErrInvalidHeader, k, v)
		}
	}
	return nil
}

// firstHeaders are written first, in this order, by AppendRequest and
// AppendResponse; the rest follow sorted by name.
var firstHeaders = []string{
	"Host", "Date", "Authorization", "Origin", "Upgrade", "Connection",
	"Sec-Websocket-Key", "Sec-Websocket-Version", "Sec-Websocket-Accept",
	"Sec-Websocket-Extensions", "Sec-Websocket-Protocol",
}

func appendHeaders(dst []byte, h http.Header) ([]byte, error) {
	write := func(k string, vs []string) error {
		if err := checkField(k, vs); err != nil {
			return err
		}
		for _, v := range vs {
			dst = append(dst, k...)
			dst = append(dst, ": "...)
			dst = append(dst, v...)
			dst = append(dst, "\r\n"...)
		}
		return nil
	}
	for _, k := range firstHeaders {
		if err := write(k, h[k]); err != nil {
			return dst, err
		}
	}
	keys := make([]string, 0, len(h))
	for k := range h {
		if !isFirstHeader(k) {
			keys = append(keys, k)
		}
	}
	sortStrings(keys)
	for _, k := range keys {
		if err := write(k, h[k]); err != nil {
			return dst, err
		}
	}
	return append(dst, "\r\n"...), nil
}

func isFirstHeader(k string) bool {
	for _, f := range firstHeaders {
		if f == k {
			return true
		}
	}
	return false
}

// AppendRequest serialises a handshake request head: the request line with
// req.URL's RequestURI, Host from req.Host (or req.URL.Host), then the
// headers, the WebSocket ones first. Header values with CR, LF or other
// control characters are refused (header injection).
func AppendRequest(dst []byte, req *http.Request) ([]byte, error) {
	target := req.URL.RequestURI()
	if !isASCIIPrintable(target) {
		return dst, fmt.Errorf("ws: invalid request target %q", target)
	}
	dst = append(dst, req.Method...)
	dst = append(dst, ' ')
	dst = append(dst, target...)
	dst = append(dst, " HTTP/1.1\r\n"...)
	h := req.Header.Clone()
	if h == nil {
		h = make(http.Header)
	}
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	h.Set("Host", host)
	return appendHeaders(dst, h)
}

// AppendResponse serialises a response head with this status and headers
// (and the status text of net/http), the WebSocket headers first. If body
// is not nil, Content-Length is set and the body follows.
func AppendResponse(dst []byte, status int, h http.Header, body []byte) ([]byte, error) {
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(status), 10)
	dst = append(dst, ' ')
	dst = append(dst, http.StatusText(status)...)
	dst = append(dst, "\r\n"...)
	if body != nil {
		h = h.Clone()
		if h == nil {
			h = make(http.Header)
		}
		h.Set("Content-Length", strconv.Itoa(len(body)))
	}
	dst, err := appendHeaders(dst, h)
	if err != nil {
		return dst, err
	}
	return append(dst, body...), nil
}
