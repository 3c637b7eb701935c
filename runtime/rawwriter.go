package runtime

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"net/http"
	"time"
)

// rawResponseWriter lets the standalone server reuse the net/http code path
// of Accept on a connection it read the request from itself.
type rawResponseWriter struct {
	nc       net.Conn
	rest     []byte // bytes read past the request head
	header   http.Header
	status   int
	body     bytes.Buffer
	hijacked bool
}

func (w *rawResponseWriter) Header() http.Header {
	if w.header == nil {
		w.header = make(http.Header)
	}
	return w.header
}

func (w *rawResponseWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *rawResponseWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(b)
}

// Hijack hands the connection over; the bytes read past the request head
// come back through the bufio.Reader.
func (w *rawResponseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.hijacked {
		return nil, nil, errors.New("already hijacked")
	}
	w.hijacked = true
	r := bufio.NewReaderSize(bytes.NewReader(w.rest), max(len(w.rest), 16))
	_, _ = r.Peek(len(w.rest))
	return w.nc, bufio.NewReadWriter(r, nil), nil
}

// finish sends the buffered response and closes the connection.
func (w *rawResponseWriter) finish(timeout time.Duration) {
	status := w.status
	if status == 0 {
		status = http.StatusOK
	}
	h := w.Header()
	h.Set("Connection", "close")
	rejectConn(w.nc, &Response{Status: status, Header: h, Body: w.body.Bytes()}, timeout)
}

var _ http.Hijacker = (*rawResponseWriter)(nil)
