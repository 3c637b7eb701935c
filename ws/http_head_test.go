package ws

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

// feedChopped feeds b to r in pieces given by sizes (cycled; 0 or none:
// all at once) until r reports done or an error. It returns what r
// reported last.
func feedChopped(r *HeadReader, b []byte, sizes []byte) (bool, error) {
	if len(b) == 0 {
		return false, nil
	}
	for i := 0; len(b) > 0; i++ {
		k := len(b)
		if len(sizes) > 0 && sizes[i%len(sizes)] > 0 {
			k = min(k, int(sizes[i%len(sizes)]))
		}
		done, err := r.Feed(b[:k])
		b = b[k:]
		if done || err != nil {
			return done, err
		}
	}
	return false, nil
}

// readerResult turns what a HeadReader reported into ParseRequest's
// results: the error, or ErrNeedMore, or the head's length.
func readerResult(r *HeadReader, done bool, err error, b []byte) (int, error) {
	switch {
	case err != nil:
		return 0, err
	case !done:
		return 0, ErrNeedMore
	}
	n := len(r.Head())
	// Rest holds what was fed past the head: feeding stops at the end.
	if !bytes.Equal(r.Head(), b[:n]) || !bytes.HasPrefix(b[n:], r.Rest()) {
		return 0, fmt.Errorf("head %q and rest %q do not split the input", r.Head(), r.Rest())
	}
	return n, nil
}

// sameError reports whether two errors say the same: both nil, or the same
// message and HTTP status, and the same sentinels.
func sameError(a, b error) bool {
	if a == nil || b == nil {
		return a == b
	}
	var ha, hb *HandshakeError
	if errors.As(a, &ha) != errors.As(b, &hb) || ha != nil && ha.Status != hb.Status {
		return false
	}
	for _, s := range []error{ErrNeedMore, ErrSecurityLimit, ErrInvalidMessage, ErrInvalidHandshake} {
		if errors.Is(a, s) != errors.Is(b, s) {
			return false
		}
	}
	return a.Error() == b.Error()
}

// headChops are the ways the tests chop an input for a HeadReader.
var headChops = [][]byte{nil, {1}, {7}, {200, 1, 3}}

// parseRequestAll is ParseRequest, checked against a HeadReader fed the
// same bytes in several chops: they must agree on everything.
func parseRequestAll(t *testing.T, b []byte, lim Limits) (*http.Request, int, error) {
	t.Helper()
	req, n, err := ParseRequest(b, lim)
	for _, chop := range headChops {
		r := NewRequestReader(lim)
		done, ferr := feedChopped(r, b, chop)
		n2, err2 := readerResult(r, done, ferr, b)
		var req2 *http.Request
		if err2 == nil {
			req2, err2 = r.Request()
		}
		if !sameError(err, err2) || err == nil && (n != n2 || !sameRequest(req, req2)) {
			t.Fatalf("chop %v: HeadReader gives n %d, %v; ParseRequest n %d, %v", chop, n2, err2, n, err)
		}
	}
	return req, n, err
}

func sameRequest(a, b *http.Request) bool {
	return a.Method == b.Method && a.RequestURI == b.RequestURI && a.URL.String() == b.URL.String() &&
		a.Proto == b.Proto && a.Host == b.Host && reflect.DeepEqual(a.Header, b.Header)
}

// parseResponseAll is ParseResponse, checked against a HeadReader.
func parseResponseAll(t *testing.T, b []byte, lim Limits, allowHTTP10 bool) (*http.Response, int, error) {
	t.Helper()
	resp, n, err := ParseResponse(b, lim, allowHTTP10)
	for _, chop := range headChops {
		r := NewResponseReader(lim, allowHTTP10)
		done, ferr := feedChopped(r, b, chop)
		n2, err2 := readerResult(r, done, ferr, b)
		var resp2 *http.Response
		if err2 == nil {
			resp2, err2 = r.Response()
		}
		if !sameError(err, err2) || err == nil && (n != n2 || !reflect.DeepEqual(resp, resp2)) {
			t.Fatalf("chop %v: HeadReader gives n %d, %v; ParseResponse n %d, %v", chop, n2, err2, n, err)
		}
	}
	return resp, n, err
}

// bigHead returns a request head of about size bytes: header lines of
// 8000 bytes, within the default limits.
func bigHead(size int) []byte {
	var b strings.Builder
	b.WriteString("GET / HTTP/1.1\r\nHost: h\r\n")
	for i := 0; b.Len() < size-8000; i++ {
		fmt.Fprintf(&b, "X-%03d: %s\r\n", i, strings.Repeat("v", 8000-len("X-000: \r\n")))
	}
	b.WriteString("\r\n")
	return []byte(b.String())
}

// TestHeadReaderWorkIsLinearWhateverTheChop sends a head of 960 KB the
// way an attacker would: most of it at once, then one byte per read. A
// reader that scanned the whole head again after every read would look at
// hundreds of gigabytes; the HeadReader looks at each byte a bounded
// number of times.
func TestHeadReaderWorkIsLinearWhateverTheChop(t *testing.T) {
	head := bigHead(960 << 10)
	if len(head) < 950<<10 {
		t.Fatalf("head of %d bytes", len(head))
	}
	const drip = 20000
	for _, request := range []bool{true, false} {
		in := head
		r := NewRequestReader(Limits{})
		if !request {
			in = append([]byte("HTTP/1.1 101 Switching Protocols\r\n"), head[len("GET / HTTP/1.1\r\n"):]...)
			r = NewResponseReader(Limits{}, false)
		}
		done, err := r.Feed(in[:len(in)-drip])
		for i := len(in) - drip; i < len(in) && !done && err == nil; i++ {
			done, err = r.Feed(in[i : i+1])
		}
		if !done || err != nil {
			t.Fatalf("request %v: done %v, %v", request, done, err)
		}
		if r.s.scanned > 2*len(in) {
			t.Fatalf("request %v: %d bytes scanned for a head of %d", request, r.s.scanned, len(in))
		}
		var perr error
		if request {
			_, perr = r.Request()
		} else {
			_, perr = r.Response()
		}
		if perr != nil {
			t.Fatal(perr)
		}
	}
}

// TestHeadReaderHeadSizeLimit: a head still incomplete past MaxHeadSize
// fails with 431. The line limits keep every head below that bound, so
// the test lowers the bound to reach it.
func TestHeadReaderHeadSizeLimit(t *testing.T) {
	partial := []byte("GET / HTTP/1.1\r\nHost: h\r\nX-A: " + strings.Repeat("a", 60) + "\r\nX-B: bbbbbb")
	for _, extra := range []int{0, 1} {
		r := NewRequestReader(Limits{})
		r.s.maxHead = len(partial) - 1 + extra
		done, err := feedChopped(r, partial, []byte{5})
		var he *HandshakeError
		switch {
		case extra == 1 && (done || err != nil):
			t.Fatalf("just under: done %v err %v", done, err)
		case extra == 0 && (!errors.As(err, &he) || he.Status != http.StatusRequestHeaderFieldsTooLarge ||
			err.Error() != "ws: HTTP head too large" || !errors.Is(err, ErrSecurityLimit)):
			t.Fatalf("just over: %v", err)
		}
	}
	if got, want := (Limits{}).MaxHeadSize(), newHeadScanner(Limits{}, true).maxHead; got != want {
		t.Fatalf("bound %d, MaxHeadSize %d", want, got)
	}
}

func TestHeadReaderKeepsTheRestAndItsVerdict(t *testing.T) {
	r := NewRequestReader(Limits{})
	if _, err := r.Request(); err != ErrNeedMore {
		t.Fatalf("Request before the end: %v", err)
	}
	in := validRequest + "\x81\x00frames"
	if done, err := feedChopped(r, []byte(in), []byte{13}); !done || err != nil {
		t.Fatalf("done %v err %v", done, err)
	}
	if string(r.Head()) != validRequest || r.Buffered() < len(validRequest) || !strings.HasPrefix("\x81\x00frames", string(r.Rest())) {
		t.Fatalf("head %q rest %q", r.Head(), r.Rest())
	}
	rest := string(r.Rest())
	if done, err := r.Feed([]byte("more")); !done || err != nil || string(r.Rest()) != rest {
		t.Fatalf("Feed after done: %v %v, rest %q", done, err, r.Rest())
	}
	if _, err := r.Response(); err == nil {
		t.Fatal("Response of a request reader")
	}
	req, err := r.Request()
	if err != nil || req.Host != "example.com" {
		t.Fatalf("%v %v", req, err)
	}

	bad := NewResponseReader(Limits{}, false)
	_, err = bad.Feed([]byte("HTTP/1.1 101 OK\nX: y\r\n\r\n"))
	if !errors.Is(err, ErrInvalidMessage) {
		t.Fatalf("bare LF: %v", err)
	}
	if done, err2 := bad.Feed([]byte("\r\n")); done || err2 != err {
		t.Fatalf("Feed after an error: %v %v", done, err2)
	}
	if _, err2 := bad.Response(); err2 != err {
		t.Fatalf("Response after an error: %v", err2)
	}
	if _, err := bad.Request(); err == nil {
		t.Fatal("Request of a response reader")
	}
}

// Fill reads a head that arrives a byte at a time, stops there, and keeps
// what came after it.
func TestFillReadsUpToTheEndOfTheHead(t *testing.T) {
	r := NewRequestReader(Limits{})
	src := strings.NewReader(validRequest + "\x81\x00frames")
	if err := r.Fill(iotest.OneByteReader(src)); err != nil {
		t.Fatal(err)
	}
	if string(r.Head()) != validRequest || string(r.Rest()) != "" || src.Len() != len("\x81\x00frames") {
		t.Fatalf("head %q, rest %q, %d bytes left unread", r.Head(), r.Rest(), src.Len())
	}
	req, err := r.Request()
	if err != nil || req.Host != "example.com" {
		t.Fatalf("%v %v", req, err)
	}
	r = NewRequestReader(Limits{})
	if err := r.Fill(strings.NewReader(validRequest + "\x81\x00frames")); err != nil || string(r.Rest()) != "\x81\x00frames" {
		t.Fatalf("in one read: rest %q, err %v", r.Rest(), err)
	}
}

// Fill gives the reader's verdict on a head that breaks the limits,
// without reading to the end of the input.
func TestFillStopsAtTheLimit(t *testing.T) {
	r := NewResponseReader(Limits{MaxLineLength: 100, MaxHeaders: 10}, false)
	head := "HTTP/1.1 101 Switching Protocols\r\n" + strings.Repeat("X-A: b\r\n", 1000)
	src := strings.NewReader(head)
	if err := r.Fill(iotest.OneByteReader(src)); !errors.Is(err, ErrSecurityLimit) {
		t.Fatalf("err = %v, want ErrSecurityLimit", err)
	}
	if src.Len() == 0 {
		t.Fatal("Fill read the whole input before refusing it")
	}
}

// A source that ends before or in the head gives errors that say which,
// and match ErrInvalidMessage and the read error.
func TestFillEndsWithTheSource(t *testing.T) {
	errReset := errors.New("connection reset")
	for _, tt := range []struct {
		src  io.Reader
		msg  string
		read error
	}{
		{strings.NewReader(""), "ws: connection closed before the HTTP head: EOF", io.EOF},
		{strings.NewReader("HTTP/1.1 101 Switching"), "ws: connection closed in the HTTP head: EOF", io.EOF},
		{io.MultiReader(strings.NewReader("HTTP/1.1 1"), iotest.ErrReader(errReset)), "ws: connection closed in the HTTP head: connection reset", errReset},
	} {
		err := NewResponseReader(Limits{}, false).Fill(tt.src)
		var he *HandshakeError
		if err == nil || err.Error() != tt.msg || !errors.As(err, &he) || !errors.Is(err, ErrInvalidMessage) || !errors.Is(err, tt.read) {
			t.Errorf("want %q: got %v", tt.msg, err)
		}
	}
}

func FuzzHeadReader(f *testing.F) {
	f.Add([]byte(validRequest+"rest"), []byte{1}, byte(0))
	f.Add([]byte(validResponse), []byte{3, 1}, byte(1))
	f.Add([]byte("HTTP/1.0 200 OK\r\nX: a\r\n b\r\n\r\n"), []byte{}, byte(3))
	f.Add([]byte("GET / HTTP/1.1\r\nX:"+strings.Repeat("v", 300)+"\r\n\r\n"), []byte{50}, byte(4))
	f.Add([]byte("GET /"+strings.Repeat("a", 300)), []byte{255}, byte(4))
	f.Add([]byte("GET / HTTP/1.1\nHost: h\r\n\r\n"), []byte{2}, byte(0))
	f.Fuzz(func(t *testing.T, b, chop []byte, sel byte) {
		lim := Limits{}
		if sel&4 != 0 {
			lim = Limits{MaxLineLength: 64, MaxHeaders: 4}
		}
		if sel&1 == 0 {
			req, n, err := ParseRequest(b, lim)
			r := NewRequestReader(lim)
			done, ferr := feedChopped(r, b, chop)
			n2, err2 := readerResult(r, done, ferr, b)
			var req2 *http.Request
			if err2 == nil {
				req2, err2 = r.Request()
			}
			if !sameError(err, err2) || err == nil && (n != n2 || !sameRequest(req, req2)) {
				t.Fatalf("HeadReader: n %d, %v; ParseRequest: n %d, %v", n2, err2, n, err)
			}
			if r.s.scanned > 2*len(b) {
				t.Fatalf("%d bytes scanned for %d", r.s.scanned, len(b))
			}
			return
		}
		http10 := sel&2 != 0
		resp, n, err := ParseResponse(b, lim, http10)
		r := NewResponseReader(lim, http10)
		done, ferr := feedChopped(r, b, chop)
		n2, err2 := readerResult(r, done, ferr, b)
		var resp2 *http.Response
		if err2 == nil {
			resp2, err2 = r.Response()
		}
		if !sameError(err, err2) || err == nil && (n != n2 || !reflect.DeepEqual(resp, resp2)) {
			t.Fatalf("HeadReader: n %d, %v; ParseResponse: n %d, %v", n2, err2, n, err)
		}
	})
}
