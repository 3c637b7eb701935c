package runtime

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
)

// Debug lines for the opening handshake, as Python's websockets writes
// them: the request line, then one line per header field, then the
// status line and the response's fields; "> " for what this side sent,
// "< " for what it received. Each line carries the connection's id (the
// one the connection gets if the handshake opens it) and the remote
// address. The values of fields that carry credentials are not logged.

// handshakeLog is where one handshake's lines go.
type handshakeLog struct {
	log   *slog.Logger
	attrs []slog.Attr
}

// newHandshakeLog returns the log of the handshake of connection id with
// remote, and whether Debug is on (when it is off, nothing is built).
func newHandshakeLog(log *slog.Logger, id, remote string) (handshakeLog, bool) {
	if !log.Enabled(context.Background(), slog.LevelDebug) {
		return handshakeLog{}, false
	}
	return handshakeLog{log: log, attrs: []slog.Attr{slog.String("conn", id), slog.String("remote", remote)}}, true
}

// secretFields are the header fields whose values are not logged.
var secretFields = map[string]bool{
	"Authorization": true, "Proxy-Authorization": true, "Cookie": true, "Set-Cookie": true,
}

// request logs a request sent (dir '>') or received ('<').
func (l handshakeLog) request(dir byte, r *http.Request) {
	proto := r.Proto
	if proto == "" {
		proto = "HTTP/1.1"
	}
	l.line(dir, r.Method+" "+r.URL.RequestURI()+" "+proto)
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	if host != "" {
		l.line(dir, "Host: "+host)
	}
	l.header(dir, r.Header)
}

// response logs a response sent (dir '>') or received ('<').
func (l handshakeLog) response(dir byte, proto string, status int, h http.Header) {
	if proto == "" {
		proto = "HTTP/1.1"
	}
	l.line(dir, proto+" "+strconv.Itoa(status)+" "+http.StatusText(status))
	l.header(dir, h)
}

// header logs the fields of h, sorted by name.
func (l handshakeLog) header(dir byte, h http.Header) {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range h[k] {
			if secretFields[http.CanonicalHeaderKey(k)] {
				v = "[redacted]"
			}
			l.line(dir, k+": "+v)
		}
	}
}

func (l handshakeLog) line(dir byte, s string) {
	l.log.LogAttrs(context.Background(), slog.LevelDebug, string(dir)+" "+s, l.attrs...)
}

// logServerHandshake logs, at Debug, the request a server received and
// the response it is about to send.
func logServerHandshake(log *slog.Logger, r *http.Request, res handshakeResult) {
	hl, ok := newHandshakeLog(log, res.id, r.RemoteAddr)
	if !ok {
		return
	}
	hl.request('<', r)
	proto := "HTTP/1.1"
	if isH2(r) {
		proto = r.Proto
	}
	hl.response('>', proto, res.resp.Status, res.resp.Header)
}

// logClientHandshake logs, at Debug, the request a client sent and the
// response it received (p holds those it got to).
func logClientHandshake(log *slog.Logger, id, remote string, p connParams) {
	hl, ok := newHandshakeLog(log, id, remote)
	if !ok {
		return
	}
	if p.request != nil {
		hl.request('>', p.request)
	}
	if r := p.response; r != nil {
		hl.response('<', r.Proto, r.StatusCode, r.Header)
	}
}
