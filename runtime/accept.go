package runtime

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tetherws/tether/runtime/internal/h2stream"
	"github.com/tetherws/tether/runtime/internal/netctx"
	"github.com/tetherws/tether/ws"
)

// errTLSHandshake is the error of a server's failed TLS handshake.
var errTLSHandshake = errors.New("tether: TLS handshake")

// Response is an HTTP response a server sends instead of upgrading, or the
// response to an opening handshake as the hooks see it.
type Response struct {
	// Status is the HTTP status code.
	Status int
	// Header holds the response header fields.
	Header http.Header
	// Body is sent after the head of a response that is not an upgrade.
	Body []byte
}

// ServerOptions configure Accept and Server.
type ServerOptions struct {
	Options

	// Handshake holds the checks and negotiation of the opening
	// handshake: Origin checks, subprotocols, extensions. Compression,
	// when not disabled, is added after Handshake.Extensions.
	//
	// Unless Handshake lists the origins allowed (Origins,
	// OriginPatterns) or checks them itself (CheckOrigin), a handshake
	// from a browser page of another origin gets 403: the Origin header,
	// when present, must name this server as the browser reached it
	// (scheme, host and port: ws.IsSameOrigin). This stops cross-site
	// WebSocket hijacking, a page of another site opening a connection
	// with the user's cookies. Clients that send no Origin (programs,
	// not browsers) are accepted. Behind a proxy that changes the Host
	// header, list the public origins in Handshake.Origins.
	Handshake ws.ServerHandshake

	// InsecureSkipOriginCheck accepts handshakes from pages of any
	// origin when Handshake has no Origin check of its own. Any web page
	// the user visits can then talk to the server as the user: only for
	// servers that authenticate nothing by cookie or client certificate,
	// or check the origin in ProcessRequest.
	InsecureSkipOriginCheck bool

	// ServerHeader is the Server header; empty means ws.DefaultUserAgent.
	ServerHeader string
	// OmitServerHeader sends no Server header.
	OmitServerHeader bool

	// ProcessRequest runs before the handshake checks. It may inspect or
	// change r (its headers). Returning a Response answers with it instead
	// of upgrading (health checks, authentication). Returning an error
	// answers 500 and logs it. A hook that authenticates the user calls
	// SetUsername(ctx, name) for Conn.Username. Router.ProcessRequest
	// and the BasicAuth and DigestAuth of package auth are such hooks;
	// ChainProcessRequest runs several.
	ProcessRequest func(ctx context.Context, r *http.Request) (*Response, error)
	// ProcessResponse runs on the response about to be sent, 101 or a
	// rejection. It may change resp in place or return a replacement (nil
	// keeps resp). An error answers 500 and logs it.
	ProcessResponse func(ctx context.Context, r *http.Request, resp *Response) (*Response, error)
}

// ProcessRequestFunc is the type of ServerOptions.ProcessRequest.
type ProcessRequestFunc = func(ctx context.Context, r *http.Request) (*Response, error)

// ChainProcessRequest returns a ProcessRequest hook that runs hooks in
// order and stops at the first that returns a response or an error, e.g.
// routing, then authentication. nil hooks are skipped.
func ChainProcessRequest(hooks ...ProcessRequestFunc) ProcessRequestFunc {
	return func(ctx context.Context, r *http.Request) (*Response, error) {
		for _, h := range hooks {
			if h == nil {
				continue
			}
			if resp, err := h(ctx, r); resp != nil || err != nil {
				return resp, err
			}
		}
		return nil, nil
	}
}

type usernameKey struct{}

// withUsernameSlot returns a context for ProcessRequest in which
// SetUsername records a user name in *slot.
func withUsernameSlot(ctx context.Context, slot *string) context.Context {
	return context.WithValue(ctx, usernameKey{}, slot)
}

// SetUsername records the user name that a ProcessRequest hook has
// authenticated; Conn.Username returns it. ctx is the one the hook got;
// elsewhere SetUsername does nothing. The hooks of package auth call it.
func SetUsername(ctx context.Context, username string) {
	if slot, ok := ctx.Value(usernameKey{}).(*string); ok {
		*slot = username
	}
}

// handshakeResult is the outcome of the server side of a handshake.
type handshakeResult struct {
	resp     *Response
	neg      ws.Negotiated
	upgraded bool
	username string
	id       string // the connection's id, in the handshake's log lines
	why      error  // why the handshake was refused, when tether refused it
}

// serverHandshake runs the hooks, checks and negotiation of the handshake
// of r, then asks admit, if set, whether the connection may open: a
// server that began shutting down meanwhile, or is full, answers with a
// response that replaces the upgrade. It never writes.
func serverHandshake(r *http.Request, o *ServerOptions, opts resolved, admit func() *Response) handshakeResult {
	ctx := r.Context()
	log := func(msg string, err error) { opts.Logger.Error(msg, "err", err, "remote", r.RemoteAddr) }
	res := handshakeResult{id: newID()}
	h2, accepted := isH2(r), false // RFC 8441 over HTTP/2: 200, not 101
	if o.ProcessRequest != nil {
		// SetUsername in the hook records the authenticated user name.
		resp, err := o.ProcessRequest(withUsernameSlot(ctx, &res.username), r)
		switch {
		case err != nil:
			log("process_request failed", err)
			res.resp, res.why = internalError(), err
		case resp != nil:
			res.resp = resp
		}
	}
	if res.resp == nil {
		hs := o.Handshake
		hs.SameOrigin = hs.SameOrigin || !o.InsecureSkipOriginCheck
		var h http.Header
		var neg ws.Negotiated
		var err error
		if hs.Extensions, err = serverExtensions(o); err == nil {
			if h2 {
				h, neg, err = hs.AcceptH2(r)
			} else {
				h, neg, err = hs.Accept(r)
			}
		}
		if err != nil {
			status, rh, body := ws.RejectResponse(err)
			if status == http.StatusInternalServerError {
				log("opening handshake failed", err)
			}
			res.resp, res.why = &Response{Status: status, Header: rh, Body: body}, err
		} else {
			res.resp = &Response{Status: http.StatusSwitchingProtocols, Header: h}
			if h2 {
				res.resp.Status = http.StatusOK
			}
			res.neg, accepted = neg, true
		}
	}
	if res.resp.Header == nil {
		res.resp.Header = make(http.Header)
	}
	if !o.OmitServerHeader {
		sh := o.ServerHeader
		if sh == "" {
			sh = ws.DefaultUserAgent
		}
		res.resp.Header.Set("Server", sh)
	}
	if o.ProcessResponse != nil {
		resp, err := o.ProcessResponse(ctx, r, res.resp)
		switch {
		case err != nil:
			log("process_response failed", err)
			res.resp, res.why = internalError(), err
		case resp != nil:
			res.resp = resp
		}
	}
	if res.resp.Header == nil { // a hook's response may have none
		res.resp.Header = make(http.Header)
	}
	if err := checkResponse(res.resp, accepted && !h2); err != nil {
		log("invalid response from a hook", err)
		res.resp, res.why = internalError(), err
	}
	// Only the handshake that passed opens the connection: a hook may
	// change its 101 into a rejection, not the other way round.
	res.upgraded = accepted && res.resp.Status == http.StatusSwitchingProtocols
	if h2 {
		// Over HTTP/2 only a handshake that passed opens, with its 200:
		// a hook's 200 (a health check) is an ordinary response.
		res.upgraded = accepted && res.resp.Status == http.StatusOK
	}
	if !res.upgraded {
		ws.CloseExtensions(res.neg.Extensions)
		res.neg = ws.Negotiated{}
	}
	if res.upgraded && admit != nil {
		if resp := admit(); resp != nil {
			ws.CloseExtensions(res.neg.Extensions)
			why := errors.New("tether: " + strings.TrimSpace(string(resp.Body)))
			res = handshakeResult{id: res.id, why: why, resp: resp}
		}
	}
	logServerHandshake(opts.Logger, r, res)
	return res
}

// checkResponse checks a response before it is written, since hooks may
// have built or changed it: a final status net/http could write (200–599),
// or 101 for the upgrade when upgrade is set; header fields that cannot
// split the head.
func checkResponse(resp *Response, upgrade bool) error {
	switch st := resp.Status; {
	case st == http.StatusSwitchingProtocols && upgrade:
	case st < 200 || st > 599:
		return fmt.Errorf("tether: status %d is neither a final HTTP status (200-599) nor the 101 of a handshake that passed", st)
	}
	if err := ws.CheckHeader(resp.Header); err != nil {
		return fmt.Errorf("tether: response header: %w", err)
	}
	return nil
}

// check reports options that would make every handshake fail.
func (o *ServerOptions) check() error {
	if err := ws.CheckHeader(http.Header{"Server": {o.ServerHeader}}); err != nil {
		return fmt.Errorf("tether: ServerOptions.ServerHeader: %w", err)
	}
	return nil
}

// internalError is the 500 answering a failed hook.
func internalError() *Response {
	return plainResponse(http.StatusInternalServerError, "Failed to open a WebSocket connection.\nSee server log for more information.\n")
}

// plainResponse is a response with a plain-text body that closes the
// connection.
func plainResponse(status int, text string) *Response {
	return &Response{
		Status: status,
		Header: http.Header{"Content-Type": {"text/plain; charset=utf-8"}, "Connection": {"close"}},
		Body:   []byte(text),
	}
}

// Accept upgrades an HTTP request served by net/http to a WebSocket
// connection. On failure it has already answered the request with the
// right status and a plain-text reason, and returns the error. Mount it on
// any mux:
//
//	http.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
//		conn, err := runtime.Accept(w, r, nil)
//		if err != nil { return }
//		defer conn.Close(ws.CloseNormal, "")
//		...
//	})
//
// Over HTTP/2, Accept takes RFC 8441 requests (extended CONNECT with
// :protocol websocket; see ws.ServerHandshake.AcceptH2), answers 200 and
// runs the connection on the request's stream. net/http's HTTP/2 server
// passes such requests to handlers only with GODEBUG=http2xconnect=1
// (import package runtime/xconnect, or set the environment variable).
// The stream ends when the handler returns, so over HTTP/2 the handler
// must not return before the connection has ended: close it, or wait for
// <-conn.Done(), before returning (the deferred Close above does). If it
// returns early, the connection fails. Server.ServeHTTP does this for
// you.
func Accept(w http.ResponseWriter, r *http.Request, o *ServerOptions) (*Conn, error) {
	if o == nil {
		o = &ServerOptions{}
	}
	opts := o.Options.resolve()
	if err := o.check(); err != nil {
		opts.Logger.Error("cannot accept connections", "err", err)
		http.Error(w, "Failed to open a WebSocket connection.", http.StatusInternalServerError)
		return nil, err
	}
	return accept(w, r, o, opts, nil)
}

// accept answers r, served by net/http, and upgrades it when the
// handshake passes: HTTP/1.1 by hijacking the connection, HTTP/2 on the
// request's stream. admit, if set, is serverHandshake's.
func accept(w http.ResponseWriter, r *http.Request, o *ServerOptions, opts resolved, admit func() *Response) (*Conn, error) {
	res := serverHandshake(r, o, opts, admit)
	if !res.upgraded {
		copyResponseHeader(w.Header(), res.resp.Header, isH2(r))
		w.WriteHeader(res.resp.Status)
		_, _ = w.Write(res.resp.Body)
		return nil, refused(res, r, opts)
	}
	if isH2(r) {
		return acceptH2(w, r, res, opts)
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		ws.CloseExtensions(res.neg.Extensions)
		http.Error(w, "WebSocket upgrade needs an HTTP/1.1 connection that can be hijacked", http.StatusInternalServerError)
		return nil, errors.New("tether: response writer cannot be hijacked")
	}
	nc, brw, err := hj.Hijack()
	if err != nil {
		ws.CloseExtensions(res.neg.Extensions)
		return nil, fmt.Errorf("tether: hijack: %w", err)
	}
	var leftover []byte
	if n := brw.Reader.Buffered(); n > 0 {
		leftover, _ = brw.Reader.Peek(n)
		leftover = append([]byte(nil), leftover...)
	}
	// http.Server's deadlines do not bound a WebSocket connection.
	_ = nc.SetDeadline(time.Time{})
	// Request().Context() keeps the request's values but not its
	// cancellation.
	return upgrade(nc, r.WithContext(context.WithoutCancel(r.Context())), res, opts, leftover, func() {})
}

// acceptConn runs the opening handshake of the standalone Server on a
// connection it accepted: it reads the request itself, then upgrades, or
// answers and closes the connection. ctx bounds the handshake.
func acceptConn(ctx context.Context, nc net.Conn, o *ServerOptions, opts resolved, admit func() *Response) (*Conn, error) {
	// Once only: after the connection starts, its deadlines are its own.
	stop := sync.OnceFunc(netctx.Bind(ctx, nc))
	defer stop()
	if tc, ok := nc.(*tls.Conn); ok {
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = nc.Close()
			return nil, fmt.Errorf("%w: %w", errTLSHandshake, err)
		}
	}
	hr := ws.NewRequestReader(opts.Limits)
	rest, err := readHead(nc, hr)
	var req *http.Request
	if err == nil {
		req, err = hr.Request()
	}
	if err != nil {
		var he *ws.HandshakeError
		if errors.As(err, &he) && he.Status != 0 && ctx.Err() == nil {
			status, h, body := ws.RejectResponse(err)
			observeRejected(opts.Observer, RejectEvent{Side: ws.Server, Status: status, Err: err, Remote: remoteString(nc)})
			rejectConn(nc, &Response{Status: status, Header: h, Body: body}, opts.CloseTimeout)
		} else {
			_ = nc.Close()
		}
		return nil, err
	}
	req.RemoteAddr = remoteString(nc)
	if tc, ok := nc.(*tls.Conn); ok {
		st := tc.ConnectionState()
		req.TLS = &st
	}
	req = req.WithContext(ctx)
	res := serverHandshake(req, o, opts, admit)
	if !res.upgraded {
		err := refused(res, req, opts)
		h := res.resp.Header.Clone()
		h.Set("Connection", "close")
		rejectConn(nc, &Response{Status: res.resp.Status, Header: h, Body: res.resp.Body}, opts.CloseTimeout)
		return nil, err
	}
	// The request's context only bounded the handshake, and it carries no
	// values: Background, so that the connection does not keep the
	// handshake's timer and context alive. (WithContext copies the request
	// as the hooks left it: path values and all.) A request that no hook
	// saw, on a connection without TLS, is kept as the bytes received,
	// parsed again if Request asks: a quarter of the memory.
	if o.ProcessRequest == nil && o.ProcessResponse == nil && req.TLS == nil {
		return upgradeWith(nc, nil, bytes.Clone(hr.Head()), res, opts, rest, stop)
	}
	return upgrade(nc, req.WithContext(context.Background()), res, opts, rest, stop)
}

// upgrade sends the 101 response of an accepted HTTP/1.1 handshake on nc
// and starts the connection; leftover holds the bytes read past the
// request head. stop, called once the response is sent, ends the
// handshake's hold on nc's deadlines.
func upgrade(nc net.Conn, r *http.Request, res handshakeResult, opts resolved, leftover []byte, stop func()) (*Conn, error) {
	return upgradeWith(nc, r, nil, res, opts, leftover, stop)
}

// upgradeWith is upgrade with the request as parsed (r) or as received
// (reqHead, when r is nil).
func upgradeWith(nc net.Conn, r *http.Request, reqHead []byte, res handshakeResult, opts resolved, leftover []byte, stop func()) (*Conn, error) {
	res.resp.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	out, err := ws.AppendResponse(nil, res.resp.Status, res.resp.Header, nil)
	if err == nil {
		_, err = nc.Write(out)
	}
	if err != nil {
		ws.CloseExtensions(res.neg.Extensions)
		_ = nc.Close()
		return nil, fmt.Errorf("tether: writing handshake response: %w", err)
	}
	stop()
	c := newConn(connParams{
		nc: nc, side: ws.Server, opts: opts, negotiated: res.neg,
		request: r, reqHead: reqHead, leftover: leftover, username: res.username,
		respHead: out, id: res.id,
	})
	c.logAt(slog.LevelInfo, "connection open")
	return c, nil
}

// refused logs a handshake answered with a status instead of an upgrade,
// reports it to the observer, and returns the error that reports it.
func refused(res handshakeResult, r *http.Request, opts resolved) error {
	status := res.resp.Status
	opts.Logger.Info("connection rejected", "status", status, "remote", r.RemoteAddr)
	observeRejected(opts.Observer, RejectEvent{Side: ws.Server, Status: status, Err: res.why, Request: r, Remote: r.RemoteAddr})
	return &ws.HandshakeError{Status: status, Msg: fmt.Sprintf("connection rejected (%d %s)", status, http.StatusText(status)), Err: ws.ErrInvalidHandshake}
}

// rejectConn answers a raw connection with resp, then closes it gently:
// half-close, and wait up to timeout for the client to go.
func rejectConn(nc net.Conn, resp *Response, timeout time.Duration) {
	resp.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	out, err := ws.AppendResponse(nil, resp.Status, resp.Header, resp.Body)
	if err != nil {
		out, _ = ws.AppendResponse(nil, http.StatusInternalServerError, internalError().Header, internalError().Body)
	}
	_ = nc.SetWriteDeadline(time.Now().Add(timeout))
	_, _ = nc.Write(out)
	lingerClose(nc, timeout)
}

// lingerClose half-closes nc and reads (discarding, at most 64 KiB) until
// the peer closes or timeout passes, so that the peer reads everything we
// sent instead of a reset.
func lingerClose(nc net.Conn, timeout time.Duration) {
	if cw, ok := nc.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
		_ = nc.SetReadDeadline(time.Now().Add(timeout))
		var buf [512]byte
		for total := 0; total < 64<<10; {
			n, err := nc.Read(buf[:])
			total += n
			if err != nil {
				break
			}
		}
	}
	_ = nc.Close()
}

// WebSockets over HTTP/2 (RFC 8441), server side. net/http's HTTP/2
// server hands an extended CONNECT request to the handler like any other
// request; Accept answers it with 200 and runs the connection on the
// stream: the request body is what the client sends, the response body
// what the server sends. The stream lives as long as the handler does, so
// the handler must not return before the connection has ended (Done).

// isH2 reports whether r came over HTTP/2 or later: its opening handshake
// is RFC 8441's (ws.ServerHandshake.AcceptH2), not an HTTP/1.1 upgrade.
func isH2(r *http.Request) bool { return r.ProtoMajor >= 2 }

// h2Forbidden are the connection-specific headers HTTP/2 forbids (RFC 9113
// §8.2.2). net/http's HTTP/2 server would send most of them as they are,
// and turns "Connection: close" into a GOAWAY for the whole connection,
// which must not happen to the other streams because one handshake failed.
var h2Forbidden = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true,
	"Transfer-Encoding": true, "Upgrade": true,
}

// copyResponseHeader copies src into dst, leaving out, for an HTTP/2
// response, the connection-specific headers.
func copyResponseHeader(dst, src http.Header, h2 bool) {
	for k, v := range src {
		if h2 && h2Forbidden[http.CanonicalHeaderKey(k)] {
			continue
		}
		dst[k] = v
	}
}

// acceptH2 sends the 200 response of an accepted RFC 8441 handshake and
// starts the connection on the stream.
func acceptH2(w http.ResponseWriter, r *http.Request, res handshakeResult, opts resolved) (*Conn, error) {
	copyResponseHeader(w.Header(), res.resp.Header, true)
	w.WriteHeader(res.resp.Status)
	rc := http.NewResponseController(w)
	if err := rc.Flush(); err != nil {
		ws.CloseExtensions(res.neg.Extensions)
		return nil, fmt.Errorf("tether: sending the HTTP/2 response: %w", err)
	}
	// http.Server's ReadTimeout and WriteTimeout are per stream in HTTP/2:
	// they would end the connection, as deadlines do a hijacked one.
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	nc := h2stream.NewServerConn(w, r, rc)
	c := newConn(connParams{
		nc: nc, side: ws.Server, opts: opts, negotiated: res.neg,
		request: r.WithContext(context.WithoutCancel(r.Context())), username: res.username, id: res.id,
		response: &http.Response{
			StatusCode: res.resp.Status, Status: fmt.Sprintf("%d %s", res.resp.Status, http.StatusText(res.resp.Status)),
			Header: res.resp.Header, Proto: r.Proto, ProtoMajor: r.ProtoMajor, ProtoMinor: r.ProtoMinor,
		},
	})
	c.logAt(slog.LevelInfo, "connection open", "proto", r.Proto)
	return c, nil
}
