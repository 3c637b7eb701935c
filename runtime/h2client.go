package runtime

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"

	"github.com/tetherws/tether/runtime/internal/h2stream"
	"github.com/tetherws/tether/ws"
)

// ErrHTTP2Unsupported is the cause of a Dial with DialOptions.HTTP2 that
// reached a server that does not do WebSockets over HTTP/2: it did not
// select "h2" with TLS ALPN, or did not advertise
// SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441 §3). It comes wrapped in a
// *ws.HandshakeError.
var ErrHTTP2Unsupported = h2stream.ErrUnsupported

// handshakeClientH2 runs the RFC 8441 handshake on nc: HTTP/2 preface and
// settings, the extended CONNECT request, the response; then starts the
// connection on the stream.
func handshakeClientH2(ctx context.Context, nc net.Conn, u *url.URL, o *DialOptions, opts resolved) (*Conn, *http.Response, error) {
	stop := withDeadline(ctx, nc)
	defer stop()
	exts, err := clientExtensions(o)
	if err != nil {
		return nil, nil, err
	}
	hs := ws.ClientHandshake{
		Origin:        o.Origin,
		Subprotocols:  o.Subprotocols,
		Extensions:    exts,
		Header:        o.Header,
		UserAgent:     o.UserAgent,
		OmitUserAgent: o.OmitUserAgent,
	}
	req, err := hs.RequestH2(u)
	if err != nil {
		return nil, nil, err
	}
	hc := h2stream.NewClient(nc, opts.Limits)
	resp, err := hc.RoundTrip(req)
	if err != nil {
		hc.Close()
		return nil, nil, err
	}
	resp.Request = req
	neg, err := hs.CheckH2(resp)
	if err != nil {
		var se *ws.StatusError
		if errors.As(err, &se) {
			if body, berr := ws.ReadResponseBody(hc, resp, opts.Limits); berr == nil {
				se.Body = body
			}
		}
		hc.Close()
		return nil, resp, err
	}
	stop()
	c := newConn(connParams{
		nc: hc, side: ws.Client, opts: opts, negotiated: neg,
		request: req, response: resp,
	})
	c.log.Debug("= connection open", "proto", "HTTP/2.0")
	return c, resp, nil
}
