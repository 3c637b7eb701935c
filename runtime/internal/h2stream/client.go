package h2stream

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/tetherws/tether/ws"
)

// ErrUnsupported is the cause of a failed RoundTrip with a server that
// does not do WebSockets over HTTP/2: it did not select "h2" with TLS
// ALPN, answered the cleartext (h2c) preface in HTTP/1.1, or did not
// advertise SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441 §3). It comes
// wrapped in a *ws.HandshakeError.
var ErrUnsupported = errors.New("tether: server does not support WebSockets over HTTP/2 (RFC 8441)")

const (
	streamID      = 1       // the client's first stream: the only one
	window        = 1 << 20 // receive window, per stream and per connection
	defaultWindow = 65535   // RFC 9113 §6.9.2
	maxFrame      = 16384   // the frame size we accept (the default)
)

// Client is the client's end of an RFC 8441 stream as a net.Conn, on an
// HTTP/2 connection of its own: NewClient, then RoundTrip with the
// handshake request, then Read and Write the WebSocket's bytes. A
// goroutine reads the frames (and answers SETTINGS and PING) until the
// connection closes; received DATA waits in a buffer bounded by the
// receive window, which is reopened as Read consumes it, so a reader that
// stops pushes back on the server.
type Client struct {
	nc   net.Conn
	br   *bufio.Reader // what fr reads
	fr   *http2.Framer
	wmu  sync.Mutex // serializes frame writes
	done chan struct{}

	mu   sync.Mutex
	cond sync.Cond // on mu: data, window, end, deadline

	// receiving
	buf     []byte // received DATA, unread from off on
	off     int
	unacked int  // bytes read but not yet given back in WINDOW_UPDATE
	eof     bool // END_STREAM received
	rerr    error
	resp    *http.Response

	// sending
	sendConn, sendStream int64
	peerInitial          int64
	peerMaxFrame         int
	sentEnd, reset       bool
	closed               bool

	settingsSeen, extConnect bool
	loop                     bool // the read loop runs

	rdl, wdl       time.Time
	rtimer, wtimer *time.Timer
}

// NewClient returns the client's end of a stream on nc, a new connection
// to the server (over TLS, which must have selected "h2" with ALPN, or
// cleartext with prior knowledge). lim bounds the response's header list
// (Limits.MaxHeadSize).
func NewClient(nc net.Conn, lim ws.Limits) *Client {
	c := &Client{
		nc:           nc,
		done:         make(chan struct{}),
		sendConn:     defaultWindow,
		sendStream:   defaultWindow,
		peerInitial:  defaultWindow,
		peerMaxFrame: maxFrame,
	}
	c.cond.L = &c.mu
	c.br = bufio.NewReaderSize(nc, 4096)
	c.fr = http2.NewFramer(nc, c.br)
	c.fr.SetReuseFrames()
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	c.fr.MaxHeaderListSize = uint32(min(uint64(lim.MaxHeadSize()), math.MaxUint32))
	return c
}

// RoundTrip opens the HTTP/2 connection (preface and settings), sends req,
// the extended CONNECT of ws.ClientHandshake.RequestH2, and reads until the
// response headers; from then on a goroutine reads the connection's
// frames until Close. Call it once. The response's body, if any, is what
// Read returns next. A server that does not do RFC 8441 gives a
// *ws.HandshakeError matching ErrUnsupported; other failures are
// *ws.HandshakeErrors too, or the network error.
func (c *Client) RoundTrip(req *http.Request) (*http.Response, error) {
	if tc, ok := c.nc.(interface{ ConnectionState() tls.ConnectionState }); ok {
		if p := tc.ConnectionState().NegotiatedProtocol; p != "h2" {
			return nil, &ws.HandshakeError{Msg: "TLS ALPN selected " + strconv.Quote(p) + ", not h2: " + ErrUnsupported.Error(), Err: ErrUnsupported}
		}
	}
	_, err := io.WriteString(c.nc, http2.ClientPreface)
	if err == nil {
		err = c.fr.WriteSettings(
			http2.Setting{ID: http2.SettingEnablePush, Val: 0},
			http2.Setting{ID: http2.SettingInitialWindowSize, Val: window},
			http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: c.fr.MaxHeaderListSize},
		)
	}
	if err == nil {
		err = c.fr.WriteWindowUpdate(0, window-defaultWindow)
	}
	// An HTTP/1.1 server may answer and close before our writes end.
	if status := c.http1Answer(); status != "" {
		return nil, &ws.HandshakeError{Msg: "server answered in HTTP/1.1 (" + strconv.Quote(status) + "): " + ErrUnsupported.Error(), Err: ErrUnsupported}
	} else if err != nil {
		return nil, err
	}
	// RFC 8441 §3: wait for the server's SETTINGS (its first frame) to
	// know whether it takes extended CONNECT.
	for !c.settingsSeen {
		f, err := c.fr.ReadFrame()
		if err != nil {
			return nil, handshakeError("reading the server's SETTINGS", err)
		}
		if _, ok := f.(*http2.SettingsFrame); !ok {
			return nil, &ws.HandshakeError{Msg: "HTTP/2 server did not start with SETTINGS", Err: ws.ErrInvalidMessage}
		}
		if err := c.handle(f); err != nil {
			return nil, handshakeError("reading the server's SETTINGS", err)
		}
	}
	if !c.extConnect {
		return nil, &ws.HandshakeError{Msg: "no SETTINGS_ENABLE_CONNECT_PROTOCOL: " + ErrUnsupported.Error() +
			" (a Go net/http server needs GODEBUG=http2xconnect=1; see package runtime/xconnect)", Err: ErrUnsupported}
	}
	if err := c.writeHeaders(req); err != nil {
		return nil, err
	}
	for {
		c.mu.Lock()
		resp, rerr := c.resp, c.rerr
		c.mu.Unlock()
		if resp != nil {
			c.loop = true
			go c.readLoop()
			return resp, nil
		}
		if rerr != nil {
			return nil, handshakeError("waiting for the response", rerr)
		}
		f, err := c.fr.ReadFrame()
		if err == nil {
			err = c.handle(f)
		}
		if err != nil {
			return nil, handshakeError("reading the response", err)
		}
	}
}

// http1Answer returns the status line (up to 64 bytes) of a server that
// answered the preface in HTTP/1.x, or "". Waiting for 7 bytes cannot
// hang: an HTTP/2 server's first frame, SETTINGS, has at least 9.
func (c *Client) http1Answer() string {
	const prefix = "HTTP/1."
	if b, _ := c.br.Peek(len(prefix)); string(b) != prefix {
		return ""
	}
	b, _ := c.br.Peek(min(c.br.Buffered(), 64))
	line, _, _ := strings.Cut(string(b), "\r\n")
	return line
}

func handshakeError(what string, err error) error {
	return &ws.HandshakeError{Msg: "HTTP/2: " + what + ": " + err.Error(), Err: fmt.Errorf("%w: %w", ws.ErrInvalidMessage, err)}
}

// writeHeaders sends req's HEADERS (and CONTINUATION) frames: the
// pseudo-headers of RFC 8441 §4, then the header fields.
func (c *Client) writeHeaders(req *http.Request) error {
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	enc.SetMaxDynamicTableSize(0) // one header block: no use for the dynamic table
	write := func(k, v string) { _ = enc.WriteField(hpack.HeaderField{Name: k, Value: v}) }
	write(":method", http.MethodConnect)
	write(":protocol", req.Header.Get(ws.ProtocolPseudoHeader))
	write(":scheme", req.URL.Scheme)
	write(":authority", req.Host)
	write(":path", req.URL.RequestURI())
	for k, vs := range req.Header {
		if k == ws.ProtocolPseudoHeader {
			continue
		}
		if !httpguts.ValidHeaderFieldName(k) {
			return &ws.HandshakeError{Msg: "invalid header field name " + strconv.Quote(k), Err: ws.ErrInvalidHeader}
		}
		lk := strings.ToLower(k)
		for _, v := range vs {
			if !httpguts.ValidHeaderFieldValue(v) {
				return &ws.HandshakeError{Msg: "invalid header field value for " + strconv.Quote(k), Err: ws.ErrInvalidHeader}
			}
			if lk == "user-agent" && v == "" {
				continue // OmitUserAgent
			}
			write(lk, v)
		}
	}
	c.mu.Lock()
	max := c.peerMaxFrame
	c.mu.Unlock()
	c.wmu.Lock()
	defer c.wmu.Unlock()
	b := block.Bytes()
	for first := true; first || len(b) > 0; first = false {
		chunk := b[:min(len(b), max)]
		b = b[len(chunk):]
		var err error
		if first {
			err = c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: streamID, BlockFragment: chunk, EndHeaders: len(b) == 0})
		} else {
			err = c.fr.WriteContinuation(streamID, len(b) == 0, chunk)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// readLoop reads frames until the connection fails or closes.
func (c *Client) readLoop() {
	defer close(c.done)
	for {
		f, err := c.fr.ReadFrame()
		if err == nil {
			err = c.handle(f)
		}
		if err != nil {
			c.fail(err)
			return
		}
	}
}

// fail records the end of the connection and wakes every waiter. A
// connection error is reported to the server with GOAWAY.
func (c *Client) fail(err error) {
	var ce http2.ConnectionError
	if errors.As(err, &ce) {
		c.wmu.Lock()
		_ = c.fr.WriteGoAway(0, http2.ErrCode(ce), nil)
		c.wmu.Unlock()
	}
	c.mu.Lock()
	if c.rerr == nil {
		c.rerr = err
	}
	c.cond.Broadcast()
	c.mu.Unlock()
}

// handle processes one frame from the server.
func (c *Client) handle(f http2.Frame) error {
	switch f := f.(type) {
	case *http2.SettingsFrame:
		if f.IsAck() {
			return nil
		}
		c.mu.Lock()
		first := !c.settingsSeen
		c.settingsSeen = true
		err := f.ForeachSetting(func(s http2.Setting) error {
			if err := s.Valid(); err != nil {
				return err
			}
			switch s.ID {
			case http2.SettingInitialWindowSize:
				c.sendStream += int64(s.Val) - c.peerInitial
				c.peerInitial = int64(s.Val)
			case http2.SettingMaxFrameSize:
				c.peerMaxFrame = int(s.Val)
			case http2.SettingEnableConnectProtocol:
				// Only the first SETTINGS counts, as in net/http: the
				// request is sent after it.
				if first {
					c.extConnect = s.Val == 1
				}
			}
			return nil
		})
		c.cond.Broadcast()
		c.mu.Unlock()
		if err != nil {
			return err
		}
		return c.write(func() error { return c.fr.WriteSettingsAck() })
	case *http2.PingFrame:
		if f.IsAck() {
			return nil
		}
		return c.write(func() error { return c.fr.WritePing(true, f.Data) })
	case *http2.WindowUpdateFrame:
		c.mu.Lock()
		defer c.mu.Unlock()
		switch f.StreamID {
		case 0:
			c.sendConn += int64(f.Increment)
			if c.sendConn > math.MaxInt32 {
				return http2.ConnectionError(http2.ErrCodeFlowControl)
			}
		case streamID:
			c.sendStream += int64(f.Increment)
		}
		c.cond.Broadcast()
		return nil
	case *http2.MetaHeadersFrame:
		if f.StreamID != streamID {
			return http2.ConnectionError(http2.ErrCodeProtocol)
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.resp != nil { // trailers
			if !f.StreamEnded() {
				return http2.ConnectionError(http2.ErrCodeProtocol)
			}
			c.eof = true
			c.cond.Broadcast()
			return nil
		}
		status, err := strconv.Atoi(f.PseudoValue("status"))
		if err != nil || status < 100 || status > 999 {
			return fmt.Errorf("%w: invalid :status %q", ws.ErrInvalidMessage, f.PseudoValue("status"))
		}
		if status < 200 {
			return nil // informational: the final response follows
		}
		h := make(http.Header)
		for _, hf := range f.RegularFields() {
			h.Add(hf.Name, hf.Value)
		}
		c.resp = &http.Response{
			Status: strconv.Itoa(status) + " " + http.StatusText(status), StatusCode: status,
			Proto: "HTTP/2.0", ProtoMajor: 2, Header: h, Body: http.NoBody, ContentLength: -1,
		}
		c.eof = f.StreamEnded()
		c.cond.Broadcast()
		return nil
	case *http2.DataFrame:
		n := int(f.Length) // with padding: all of it counts against the windows
		c.mu.Lock()
		defer c.mu.Unlock()
		if f.StreamID != streamID || c.resp == nil || c.eof {
			return http2.ConnectionError(http2.ErrCodeProtocol)
		}
		if len(c.buf)-c.off+c.unacked+n > window {
			return http2.ConnectionError(http2.ErrCodeFlowControl)
		}
		data := f.Data()
		c.unacked += n - len(data)
		if len(c.buf)+len(data) > cap(c.buf) && c.off > 0 {
			c.buf = c.buf[:copy(c.buf, c.buf[c.off:])]
			c.off = 0
		}
		c.buf = append(c.buf, data...)
		c.eof = f.StreamEnded()
		c.cond.Broadcast()
		return nil
	case *http2.RSTStreamFrame:
		if f.StreamID != streamID {
			return nil
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		c.reset = true
		// net/http's server ends a response with END_STREAM and then
		// resets the stream with NO_ERROR when the request body is still
		// open: the end of the stream, not a failure.
		if !c.eof || f.ErrCode != http2.ErrCodeNo {
			if c.rerr == nil {
				c.rerr = fmt.Errorf("tether: HTTP/2 stream reset by the server: %w", http2.StreamError{StreamID: f.StreamID, Code: f.ErrCode})
			}
		}
		c.cond.Broadcast()
		return nil
	case *http2.GoAwayFrame:
		if f.LastStreamID < streamID {
			return fmt.Errorf("tether: HTTP/2 server went away before the stream (%v)", f.ErrCode)
		}
		if f.ErrCode != http2.ErrCodeNo {
			return fmt.Errorf("tether: HTTP/2 server went away (%v)", f.ErrCode)
		}
		return nil // a graceful GOAWAY: the stream runs on
	case *http2.PushPromiseFrame:
		return http2.ConnectionError(http2.ErrCodeProtocol) // push is off
	}
	return nil // PRIORITY, unknown frames
}

// write runs a frame write under wmu.
func (c *Client) write(f func() error) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return f()
}

// expired reports whether the deadline t is set and has passed.
func expired(t time.Time) bool { return !t.IsZero() && !time.Now().Before(t) }

// Read reads the stream's DATA: io.EOF after the server's END_STREAM,
// os.ErrDeadlineExceeded past the read deadline.
func (c *Client) Read(b []byte) (int, error) {
	c.mu.Lock()
	for c.off == len(c.buf) && !c.eof && c.rerr == nil && !c.closed && !expired(c.rdl) {
		c.cond.Wait()
	}
	switch {
	case c.closed:
		c.mu.Unlock()
		return 0, net.ErrClosed
	case c.off < len(c.buf):
	case c.eof:
		c.mu.Unlock()
		return 0, io.EOF
	case c.rerr != nil:
		err := c.rerr
		c.mu.Unlock()
		return 0, err
	default:
		c.mu.Unlock()
		return 0, os.ErrDeadlineExceeded
	}
	n := copy(b, c.buf[c.off:])
	c.off += n
	if c.off == len(c.buf) {
		c.off = 0
		c.buf = c.buf[:0]
		if cap(c.buf) > 64<<10 {
			c.buf = nil // an idle connection keeps no large buffer
		}
	}
	c.unacked += n
	var update int
	if c.unacked >= window/4 && !c.eof && c.rerr == nil {
		update, c.unacked = c.unacked, 0
	}
	c.mu.Unlock()
	if update > 0 {
		err := c.write(func() error {
			if err := c.fr.WriteWindowUpdate(0, uint32(update)); err != nil {
				return err
			}
			return c.fr.WriteWindowUpdate(streamID, uint32(update))
		})
		if err != nil {
			c.fail(err)
		}
	}
	return n, nil
}

// writeErrLocked is why the stream cannot be written, or nil.
func (c *Client) writeErrLocked() error {
	switch {
	case c.closed:
		return net.ErrClosed
	case c.sentEnd:
		return errors.New("tether: HTTP/2 stream: write after CloseWrite")
	case c.reset:
		return errors.New("tether: HTTP/2 stream: write after the server ended the stream")
	case c.rerr != nil:
		return c.rerr
	}
	return nil
}

// Write sends b in DATA frames as the flow-control windows allow.
func (c *Client) Write(b []byte) (int, error) {
	total := 0
	for len(b) > 0 {
		c.mu.Lock()
		for c.writeErrLocked() == nil && (c.sendConn <= 0 || c.sendStream <= 0) && !expired(c.wdl) {
			c.cond.Wait()
		}
		if err := c.writeErrLocked(); err != nil {
			c.mu.Unlock()
			return total, err
		}
		if c.sendConn <= 0 || c.sendStream <= 0 {
			c.mu.Unlock()
			return total, os.ErrDeadlineExceeded
		}
		n := int(min(int64(len(b)), c.sendConn, c.sendStream, int64(c.peerMaxFrame)))
		c.sendConn -= int64(n)
		c.sendStream -= int64(n)
		c.mu.Unlock()
		if err := c.write(func() error { return c.fr.WriteData(streamID, false, b[:n]) }); err != nil {
			return total, err
		}
		total += n
		b = b[n:]
	}
	return total, nil
}

// CloseWrite ends the client's side of the stream (END_STREAM), the
// HTTP/2 form of a TCP half-close.
func (c *Client) CloseWrite() error {
	c.mu.Lock()
	if err := c.writeErrLocked(); err != nil {
		c.mu.Unlock()
		if c.sentEnd || c.reset {
			return nil
		}
		return err
	}
	c.sentEnd = true
	c.mu.Unlock()
	return c.write(func() error { return c.fr.WriteData(streamID, true, nil) })
}

// Close closes the HTTP/2 connection, which ends the stream, and waits for
// the read loop.
func (c *Client) Close() error {
	c.mu.Lock()
	already := c.closed
	c.closed = true
	for _, t := range []*time.Timer{c.rtimer, c.wtimer} {
		if t != nil {
			t.Stop()
		}
	}
	c.cond.Broadcast()
	c.mu.Unlock()
	err := c.nc.Close()
	if c.loop {
		<-c.done
	}
	if already {
		return net.ErrClosed
	}
	return err
}

// LocalAddr returns the local address of the HTTP/2 connection.
func (c *Client) LocalAddr() net.Addr { return c.nc.LocalAddr() }

// RemoteAddr returns the server's address.
func (c *Client) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// SetDeadline sets the read and write deadlines of the stream (not of the
// HTTP/2 connection: an expired deadline fails the waiting Read or Write
// with os.ErrDeadlineExceeded and leaves the stream usable).
func (c *Client) SetDeadline(t time.Time) error {
	c.setDeadline(&c.rdl, &c.rtimer, t)
	c.setDeadline(&c.wdl, &c.wtimer, t)
	return nil
}

// SetReadDeadline sets the stream's read deadline (see SetDeadline).
func (c *Client) SetReadDeadline(t time.Time) error {
	c.setDeadline(&c.rdl, &c.rtimer, t)
	return nil
}

// SetWriteDeadline sets the stream's write deadline (see SetDeadline).
func (c *Client) SetWriteDeadline(t time.Time) error {
	c.setDeadline(&c.wdl, &c.wtimer, t)
	return nil
}

func (c *Client) setDeadline(dl *time.Time, timer **time.Timer, t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	*dl = t
	if *timer != nil {
		(*timer).Stop()
		*timer = nil
	}
	if !t.IsZero() && !c.closed {
		*timer = time.AfterFunc(time.Until(t), func() {
			c.mu.Lock()
			c.cond.Broadcast()
			c.mu.Unlock()
		})
	}
	c.cond.Broadcast()
}
