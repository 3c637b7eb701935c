package runtime

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/tetherws/tether/keepalive"
	"github.com/tetherws/tether/runtime/internal/rawio"
	"github.com/tetherws/tether/ws"
)

// Conn is an open WebSocket connection. Its methods are safe for concurrent
// use by many goroutines, but Messages has one stream of messages: share it
// by ranging in one goroutine and fanning out.
type Conn struct {
	nc   net.Conn
	side ws.Side
	opts resolved
	log  *slog.Logger
	id   string

	subprotocol string
	request     *http.Request
	response    *http.Response
	// respHead is the 101 response a server sent, as written: Response
	// parses it on first use (headOnce), which spares every connection
	// whose response nobody looks at a parsed header map. reqHead is
	// likewise the request of a server's handshake that no hook saw or
	// changed, as received: Request parses it on first use.
	respHead []byte
	reqHead  []byte
	headOnce sync.Once
	username string
	exts     []ws.Extension

	// rio is the non-blocking I/O of TCP and Unix sockets (nil for TLS
	// and other transports): see package rawio and "the write token" in
	// the writer.
	rio *rawio.IO

	// mu guards proto, the write queues, the write token, the writer's
	// state and the close timer.
	mu         sync.Mutex
	proto      *ws.Protocol
	ctrlQ      []outFrame // pings and pongs: written before data
	dataQ      []outFrame // data and close frames, in order
	queued     int        // bytes in ctrlQ and dataQ
	writing    bool       // the write token: someone is writing the socket
	werr       error      // an inline write failed; the writer ends the connection
	halfClosed bool       // the writer has half-closed the transport
	ended      bool       // the reader has returned: wake is closed
	moving     bool       // the idle sweeper woke the reader to move (see idleSweeper)
	spaceCh    chan struct{}
	closeTimer *time.Timer
	endTimer   *time.Timer // sends a deferred close frame (reader.deferClose)
	endBy      time.Time   // when it goes out at the latest
	endDrained bool        // Messages was drained at the last look of checkEnd
	cause      error       // why the connection was aborted, if it was

	wake    chan struct{} // wakes the writer goroutine (capacity 1)
	sendSem chan struct{} // one message is sent at a time; made on first use (under mu)

	msgs chan Message
	done chan struct{}
	// appClosed is closed when the application calls Close or the
	// connection is aborted: from then on the reader never blocks on a
	// full Messages channel (it drops what does not fit), so that the
	// peer's close frame or the socket error is read promptly.
	appClosed     chan struct{}
	appClosedOnce sync.Once
	ctx           context.Context
	cancel        context.CancelCauseFunc

	// group runs the writer and keepalive goroutines (see run); its
	// context is ctx, which the first error in the group cancels.
	group errgroup.Group
	// qw is the writer goroutine's scratch space.
	qw  queueWriter
	err error // set before done is closed

	pingMu   sync.Mutex
	pings    []pendingPing
	ka       *keepalive.Loop // nil when keepalive is off
	latency  atomic.Int64
	finished atomic.Bool // set (after err) when the connection has ended
	// bytesIn counts the bytes read from the peer; held is set while the
	// reader waits for the application to take a message. Keepalive
	// reads both (connPinger.Activity).
	bytesIn atomic.Uint64
	held    atomic.Bool
	// readClosed is set by CloseRead: the reader drops data messages.
	readClosed atomic.Bool
	// undelivered counts the messages (pieces, when streaming) the reader
	// dropped from the first one that Messages could not take; only the
	// reader writes it, and finish reads it after the reader has ended.
	undelivered int
	appClosing  atomic.Bool // Close or CloseNow was called: drops are the application's choice
	// ending is set, before Messages is closed early, when the input
	// ended with the peer's close frame or a violation and the close
	// frame owed to the peer waits for the application
	// (reader.deferClose); Err reports it meanwhile.
	ending atomic.Pointer[ws.CloseError]
	// msgsClosed is set by the reader when it closed Messages early.
	msgsClosed bool
	// want is a NextReader call waiting for a message, delivering is set
	// while the reader sends one on Messages, reading is the stream of the
	// last message NextReader returned (see reader.stream for the rule).
	want       atomic.Pointer[nextReq]
	delivering atomic.Bool
	reading    atomic.Pointer[msgStream]

	// connLog is log with the connection's attributes, made on first use
	// (Logger); loggedState is the state the last "= connection is"
	// line logged (under mu).
	connLog     atomic.Pointer[slog.Logger]
	loggedState ws.State
	// obs is Options.Observer; stats the counters of Stats; outType the
	// type of the message being sent (under mu); opened when the
	// handshake ended.
	obs     *Observer
	stats   connCounters
	outType ws.Opcode
	opened  time.Time

	leftover []byte // bytes read past the handshake
	// sweepSeen is bytesIn when the idle sweeper last looked (under
	// sweeper.mu); moves counts the reader's moves (see idleSweeper).
	sweepSeen uint64
	moves     atomic.Uint32
}

type pendingPing struct {
	payload string
	sent    time.Time
	ch      chan time.Duration  // Ping's; nil for a keepalive ping
	fn      func(time.Duration) // the keepalive's (keepalive.Pinger)
}

// connParams are what the handshake hands to newConn.
type connParams struct {
	nc         net.Conn
	side       ws.Side
	opts       resolved
	negotiated ws.Negotiated
	request    *http.Request
	response   *http.Response
	respHead   []byte
	reqHead    []byte // the request as received, when request is nil
	leftover   []byte
	username   string
	parent     context.Context
	id         string // the id the handshake logged under, or "" for a new one
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40 // UUID version 4
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// newConn builds a connection after a successful handshake and starts its
// goroutines.
func newConn(p connParams) *Conn {
	c := &Conn{
		nc:          p.nc,
		side:        p.side,
		opts:        p.opts,
		id:          p.id,
		subprotocol: p.negotiated.Subprotocol,
		exts:        p.negotiated.Extensions,
		request:     p.request,
		response:    p.response,
		respHead:    p.respHead,
		reqHead:     p.reqHead,
		username:    p.username,
		msgs:        make(chan Message, p.opts.MaxQueue),
		done:        make(chan struct{}),
		appClosed:   make(chan struct{}),
		wake:        make(chan struct{}, 1),
		leftover:    p.leftover,
		rio:         rawio.New(p.nc),
		log:         p.opts.Logger,
		obs:         p.opts.Observer,
		opened:      time.Now(),
	}
	if c.id == "" {
		c.id = newID()
	}
	if p.parent != nil {
		c.ctx, c.cancel = context.WithCancelCause(context.WithoutCancel(p.parent))
	} else {
		c.ctx, c.cancel = context.WithCancelCause(context.Background())
	}
	c.proto = ws.NewProtocol(p.side, ws.Config{
		MaxMessageSize: p.opts.MaxMessageSize,
		MaxFrameSize:   p.opts.MaxFrameSize,
		Extensions:     p.negotiated.Extensions,
		DeferClose:     true, // see reader.deferClose
	})
	c.ka = c.newKeepalive()
	if c.debugOn() {
		c.logStateLocked() // no other goroutine has c yet
	}
	if c.obs != nil && c.obs.Opened != nil {
		c.obs.Opened(c)
	}
	go c.run()
	return c
}

func remoteString(nc net.Conn) string {
	if a := nc.RemoteAddr(); a != nil {
		return a.String()
	}
	return ""
}

// ID returns the connection's unique id (a UUID), also logged as "conn".
func (c *Conn) ID() string { return c.id }

// Messages returns the channel of received messages. It is closed when the
// connection ends, or as soon as the peer has sent its last frame (its
// close frame, or a violation of the protocol): Err and CloseStatus then
// say how the connection ended. While the application answers the last
// messages the connection is still open for sending; the close frame the
// peer is owed follows those answers (see Close).
//
// Read it, or call CloseRead. The channel holds Options.MaxQueue
// messages; while it is full the reader stops reading the socket
// (backpressure), so nothing more from the peer is read: not its pings,
// nor its close frame. A peer that pings and waits for the pong (Python
// websockets does, every 20 s by default) then fails the connection with
// 1011 "keepalive ping timeout", and this side learns of it only when it
// reads again. (This side's own keepalive does not fail a peer whose pong
// may be waiting unread behind messages the application has not taken.)
// A connection that only sends calls CloseRead.
func (c *Conn) Messages() <-chan Message { return c.msgs }

// Done is closed when the connection has ended and its goroutines have
// returned.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Context returns a context cancelled when the connection ends.
func (c *Conn) Context() context.Context { return c.ctx }

// Err returns nil while the connection is open and after a clean closing
// handshake (close frames with 1000, 1001 or 1005 both ways) in which
// every message received was delivered; otherwise an error matching a
// *ws.CloseError with the close frames sent and received and the cause,
// which also matches ErrUndelivered when received messages were dropped
// because the connection was aborted while Messages was full. Messages
// are dropped from the first one Messages could not take, so what was
// delivered is always a prefix of what the peer sent. (After Close or
// CloseNow, dropping what the application no longer reads is not
// reported.)
//
// Called once Messages is closed and drained, Err waits for the end of
// the connection (sending the close frame the peer is owed, if the
// application has not closed): the application has seen the last message.
func (c *Conn) Err() error {
	if c.finished.Load() {
		return c.err
	}
	if c.ending.Load() != nil && len(c.msgs) == 0 {
		c.endNow()
		return c.err
	}
	return nil
}

// endNow sends the close frame the peer is owed after the end of its
// input, and waits for the end of the connection (within CloseTimeout).
func (c *Conn) endNow() {
	c.sendPendingClose()
	<-c.done
}

// CloseStatus returns the close frames received and sent, valid once Done
// is closed (nil for a frame not exchanged), whether or not the close was
// clean. Like Err, called once Messages is closed and drained, it waits
// for the end of the connection.
func (c *Conn) CloseStatus() *ws.CloseError {
	if c.ending.Load() != nil && len(c.msgs) == 0 && !c.finished.Load() {
		c.endNow()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.proto.CloseError(c.cause)
}

// Side returns the side the connection plays, ws.Client or ws.Server.
func (c *Conn) Side() ws.Side { return c.side }

// Subprotocol returns the negotiated subprotocol, or "".
func (c *Conn) Subprotocol() string { return c.subprotocol }

// Extensions returns the negotiated extensions.
func (c *Conn) Extensions() []ws.Extension { return c.exts }

// Request returns the opening handshake request.
func (c *Conn) Request() *http.Request {
	if c.reqHead != nil {
		c.parseHeads()
	}
	return c.request
}

// Response returns the opening handshake response: the one received by a
// client, the one sent by a server.
func (c *Conn) Response() *http.Response {
	if c.respHead != nil || c.reqHead != nil {
		c.parseHeads()
	}
	return c.response
}

// parseHeads parses, once, the handshake's request and response kept as
// bytes (reqHead, respHead).
func (c *Conn) parseHeads() {
	c.headOnce.Do(func() {
		if c.reqHead != nil {
			r, _, err := ws.ParseRequest(c.reqHead, c.opts.Limits)
			if err != nil { // cannot happen: it was parsed before
				r = &http.Request{Method: http.MethodGet, URL: &url.URL{}, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: http.Header{}, Body: http.NoBody}
			}
			r.RemoteAddr = remoteString(c.nc)
			c.request = r
		}
		if c.respHead != nil {
			r, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(c.respHead)), c.request)
			if err != nil { // cannot happen: tether wrote it
				r = &http.Response{StatusCode: http.StatusSwitchingProtocols, Status: "101 Switching Protocols",
					Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: http.Header{}, Request: c.request}
			}
			r.Body = nil // a 101 has none
			c.response = r
		}
	})
}

// Username returns the user name authenticated during the handshake, or "".
func (c *Conn) Username() string { return c.username }

// LocalAddr returns the local network address.
func (c *Conn) LocalAddr() net.Addr { return c.nc.LocalAddr() }

// RemoteAddr returns the remote network address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// NetConn returns the underlying connection. Reading or writing it breaks
// the protocol; it is there for inspecting TLS state or socket options.
// tether uses the read deadline of a TCP or Unix socket itself (to move an
// idle reader to a smaller stack): a read deadline set through NetConn
// does not last.
func (c *Conn) NetConn() net.Conn { return c.nc }

// Latency returns the round-trip time measured by the last answered ping
// (0 before any).
func (c *Conn) Latency() time.Duration { return time.Duration(c.latency.Load()) }

// State returns the protocol state.
func (c *Conn) State() ws.State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.proto.State()
}

// Logger returns the connection's logger, with its id ("conn") and
// remote address ("remote").
func (c *Conn) Logger() *slog.Logger {
	if l := c.connLog.Load(); l != nil {
		return l
	}
	l := c.log
	if l != discardLogger {
		l = l.With("conn", c.id, "remote", remoteString(c.nc))
	}
	c.connLog.CompareAndSwap(nil, l)
	return c.connLog.Load()
}

// run is the reader goroutine, and the owner of the connection's
// errgroup: it starts the writer and keepalive goroutines in the group,
// reads until the connection ends, then cancels the group's context (the
// connection's), closes the writer's wake-up channel, waits for both
// (Group.Wait) and finishes the connection.
//
// The first error in the group cancels the context (as
// errgroup.WithContext does; the group uses the connection's own context
// rather than deriving one, which would cost a context per connection);
// a failing writer also aborts the socket (abort), which ends the read,
// and the reader's end stops the others. A keepalive timeout fails the
// connection with 1011 and the closing handshake ends it as usual.
//
// An idle connection's writer and keepalive goroutines are each parked on
// one channel receive, which keeps them at Go's smallest stack (2 KiB);
// the reader waits on the socket without holding a read buffer, and on a
// TCP or Unix socket it moves to a fresh goroutine once the connection
// has been idle for a while (see idleSweeper), so that the stack it grew
// while parsing does not stay with an idle connection.
func (c *Conn) run() {
	c.group.Go(c.writeLoop)
	c.group.Go(c.keepaliveLoop)
	r := &reader{c: c}
	if len(c.leftover) > 0 {
		b := c.leftover
		c.leftover = nil
		r.feed(b)
	}
	if c.rio != nil {
		c.readOn(r)
		return
	}
	c.endRead(r, c.readLoop(r))
}

// endRead ends the connection once its input has ended (rerr): the
// rest of run, on whichever goroutine the reader last ran.
func (c *Conn) endRead(r *reader, rerr error) {
	r.releaseMessage()
	c.abort(nil) // unblock a writer blocked on the socket
	c.mu.Lock()
	c.ended = true
	close(c.wake)
	c.mu.Unlock()
	if c.ka != nil {
		c.ka.Stop()
	}
	c.cancel(nil)
	_ = c.group.Wait()
	c.finish(rerr)
}
