package ws

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
)

// The head of an HTTP/1.1 request or response: finding its end and
// checking its lines as they arrive (headScanner, HeadReader), then
// splitting it into the first line and the header fields once it is
// complete (splitHead).

// headScanner finds the end of a head and applies the limits and the
// syntax rules to each line as soon as the line is complete. It keeps its
// place between calls, so that bytes arriving in pieces are each looked
// at a bounded number of times, however they are chopped.
type headScanner struct {
	lim     Limits // with defaults
	maxHead int    // bound on an incomplete head: lim.MaxHeadSize()
	request bool   // the first line is a request line (414 when too long)

	pos       int // bytes of the input scanned
	lineStart int // offset of the line being scanned
	lines     int // complete lines, the first line included
	end       int // the head's length, final CRLF included, once complete
	err       error

	// scanned counts the bytes looked at, for tests: it stays within a
	// small multiple of the input's length.
	scanned int
}

func newHeadScanner(lim Limits, request bool) headScanner {
	lim = lim.withDefaults()
	return headScanner{lim: lim, maxHead: lim.MaxHeadSize(), request: request}
}

func (s *headScanner) what() string {
	if s.request {
		return "request"
	}
	return "response"
}

// lineTooLong is the error of a line over MaxLineLength.
func (s *headScanner) lineTooLong() error {
	switch {
	case s.lines > 0:
		return limitError(http.StatusRequestHeaderFieldsTooLarge, "header line too long")
	case s.request:
		return limitError(http.StatusRequestURITooLong, "request line too long")
	}
	return limitError(0, "status line too long")
}

// scan scans b[s.pos:]: b is the input so far, of which b[:s.pos] is what
// earlier calls saw. It reports whether the head is complete (its length
// is then s.end), or the first rule it breaks; both stick.
func (s *headScanner) scan(b []byte) (bool, error) {
	if s.err != nil || s.end > 0 {
		return s.end > 0, s.err
	}
	for {
		i := bytes.IndexByte(b[s.pos:], '\n')
		if i < 0 {
			s.scanned += len(b) - s.pos
			s.pos = len(b)
			// A line already this long cannot end in time: no need to
			// wait for its end.
			if len(b)-s.lineStart >= s.lim.MaxLineLength {
				s.err = s.lineTooLong()
			} else if len(b) > s.maxHead {
				s.err = limitError(http.StatusRequestHeaderFieldsTooLarge, "HTTP head too large")
			}
			return false, s.err
		}
		s.scanned += i + 1
		line := b[s.lineStart : s.pos+i+1] // LF included
		s.pos += i + 1
		s.lineStart = s.pos
		if len(line) > s.lim.MaxLineLength {
			s.err = s.lineTooLong()
			return false, s.err
		}
		if len(line) < 2 || line[len(line)-2] != '\r' {
			s.err = invalidMessage(s.what(), "line without CRLF")
			return false, s.err
		}
		line = line[:len(line)-2]
		switch {
		case s.lines == 0:
			// The first line is checked when the head is parsed.
		case len(line) == 0:
			s.end = s.pos
			return true, nil
		case s.lines > s.lim.MaxHeaders:
			s.err = limitError(http.StatusRequestHeaderFieldsTooLarge, "too many HTTP headers")
			return false, s.err
		default:
			s.scanned += len(line)
			if err := checkHeaderLine(line, s.what()); err != nil {
				s.err = err
				return false, err
			}
		}
		s.lines++
	}
}

// checkHeaderLine checks one header line, CRLF removed: no line folding,
// a token for a name, then a colon, and no control character but HTAB in
// the value.
func checkHeaderLine(line []byte, what string) error {
	if line[0] == ' ' || line[0] == '\t' {
		return invalidMessage(what, "obsolete line folding")
	}
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return invalidMessage(what, "invalid HTTP header line "+quoteForError(string(line)))
	}
	name := line[:colon]
	for _, c := range name {
		if !IsTokenChar(c) {
			return invalidMessage(what, "invalid HTTP header name "+quoteForError(string(name)))
		}
	}
	value := bytes.Trim(line[colon+1:], " \t")
	for _, c := range value {
		if c < 0x20 && c != '\t' || c == 0x7f {
			return invalidMessage(what, "invalid HTTP header value "+quoteForError(string(value)))
		}
	}
	return nil
}

// head is a parsed request or response head.
type head struct {
	first  string // request or status line
	header http.Header
}

// splitHead splits a complete head that headScanner accepted into its
// first line and header fields (names canonicalised).
func splitHead(b []byte) head {
	i := bytes.IndexByte(b, '\n')
	h := head{first: string(b[:i-1]), header: make(http.Header)}
	b = b[i+1:]
	for {
		i = bytes.IndexByte(b, '\n')
		line := b[:i-1]
		b = b[i+1:]
		if len(line) == 0 {
			return h
		}
		colon := bytes.IndexByte(line, ':')
		key := http.CanonicalHeaderKey(string(line[:colon]))
		h.header[key] = append(h.header[key], string(bytes.Trim(line[colon+1:], " \t")))
	}
}

// HeadReader reads the head of an HTTP/1.1 request or response as its
// bytes arrive: Feed it what each read returns until it reports done,
// then take the parsed Request or Response, and Rest, the bytes read past
// the head. It enforces the limits of Limits as the bytes come (it fails
// as soon as a line cannot fit, or the header lines are too many), and
// looks at each byte a bounded number of times however the input is
// chopped: a peer that sends a large head one byte at a time costs time
// linear in its size. Its errors are those of ParseRequest and
// ParseResponse, and a head over Limits.MaxHeadSize fails with 431 "HTTP
// head too large".
type HeadReader struct {
	s           headScanner
	buf         []byte
	allowHTTP10 bool
}

// NewRequestReader returns a HeadReader for a request head.
func NewRequestReader(lim Limits) *HeadReader {
	return &HeadReader{s: newHeadScanner(lim, true)}
}

// NewResponseReader returns a HeadReader for a response head. allowHTTP10
// accepts an HTTP/1.0 status line (proxies answer so).
func NewResponseReader(lim Limits, allowHTTP10 bool) *HeadReader {
	return &HeadReader{s: newHeadScanner(lim, false), allowHTTP10: allowHTTP10}
}

// Feed adds b, the next bytes received, and reports whether the head is
// complete, or the error that refuses it (a *HandshakeError with the
// status to answer). Once it has reported either, later calls ignore b
// and report the same.
func (r *HeadReader) Feed(b []byte) (done bool, err error) {
	if r.s.err != nil || r.s.end > 0 {
		return r.s.end > 0, r.s.err
	}
	r.buf = append(r.buf, b...)
	return r.s.scan(r.buf)
}

// fillReadSize is the size of each read of Fill.
const fillReadSize = 4096

// Fill reads from src and feeds what each read returns until the head is
// complete, then returns nil; Rest holds what was read past the head. A
// head that breaks a rule or a limit returns Feed's error. When src fails
// or ends first, the error is a *HandshakeError matching ErrInvalidMessage
// and the read error: "connection closed before the HTTP head" when
// nothing came, "connection closed in the HTTP head" otherwise.
func (r *HeadReader) Fill(src io.Reader) error {
	buf := make([]byte, fillReadSize)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			done, herr := r.Feed(buf[:n])
			if herr != nil {
				return herr
			}
			if done {
				return nil
			}
		}
		if err != nil {
			where := "in"
			if r.Buffered() == 0 {
				where = "before"
			}
			return &HandshakeError{Msg: "connection closed " + where + " the HTTP head: " + err.Error(), Err: fmt.Errorf("%w: %w", ErrInvalidMessage, err)}
		}
	}
}

// Buffered returns the number of bytes fed and kept so far.
func (r *HeadReader) Buffered() int { return len(r.buf) }

// Head returns the complete head, final CRLF included, or nil before Feed
// reported done.
func (r *HeadReader) Head() []byte {
	if r.s.end == 0 {
		return nil
	}
	return r.buf[:r.s.end:r.s.end]
}

// Rest returns the bytes fed past the head (the start of the body, or of
// the WebSocket frames), or nil before Feed reported done.
func (r *HeadReader) Rest() []byte {
	if r.s.end == 0 {
		return nil
	}
	return r.buf[r.s.end:]
}

// notDone is the error of Request and Response before the head is
// complete: the error Feed reported, or ErrNeedMore.
func (r *HeadReader) notDone() error {
	if r.s.err != nil {
		return r.s.err
	}
	return ErrNeedMore
}

// errWrongHead is the error of Request on a response reader, and of
// Response on a request reader.
var errWrongHead = &HandshakeError{Msg: "HeadReader: request and response confused", Err: ErrInvalidMessage}

// Request parses the complete request head, once Feed reported done (it
// returns ErrNeedMore before), with the checks and errors of ParseRequest.
func (r *HeadReader) Request() (*http.Request, error) {
	if !r.s.request {
		return nil, errWrongHead
	}
	if r.s.end == 0 {
		return nil, r.notDone()
	}
	return newRequest(splitHead(r.Head()))
}

// Response parses the complete response head, once Feed reported done (it
// returns ErrNeedMore before), with the checks and errors of
// ParseResponse. The body is not read: see ReadResponseBody.
func (r *HeadReader) Response() (*http.Response, error) {
	if r.s.request {
		return nil, errWrongHead
	}
	if r.s.end == 0 {
		return nil, r.notDone()
	}
	return newResponse(splitHead(r.Head()), r.allowHTTP10)
}
