package runtime

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"time"

	"github.com/tetherws/tether/runtime/internal/netctx"
	"github.com/tetherws/tether/ws"
)

// Handler serves one connection. ctx is cancelled when the connection
// ends. Returning nil closes the connection with 1000; returning an error
// (or panicking) logs it and closes with 1011.
type Handler func(ctx context.Context, c *Conn) error

// ErrServerClosed is returned by Serve, ListenAndServe and
// ListenAndServeTLS after Shutdown.
var ErrServerClosed = errors.New("tether: server closed")

// Server serves WebSocket connections on any net.Listener (TCP, Unix,
// TLS, a preexisting listener) or as an http.Handler, keeps track of them,
// and shuts down gracefully: Shutdown stops accepting, answers handshakes
// in progress with 503, closes every connection with 1001 and waits for
// the handlers.
//
// Its zero value serves safely: browser pages of other origins get 403
// (see ServerOptions.Handshake; InsecureSkipOriginCheck turns that off).
type Server struct {
	// Handler serves each connection.
	Handler Handler
	// Options configure the handshake and the connections.
	Options ServerOptions
	// TLSConfig, if set, makes Serve run TLS over the listener;
	// ListenAndServeTLS adds its certificate to a copy. When it names no
	// protocol in NextProtos, ALPN offers http/1.1.
	TLSConfig *tls.Config
	// CloseCode and CloseReason are sent to every connection on Shutdown.
	// Default 1001 (going away); 1012 (service restart) is the other
	// usual choice.
	CloseCode   ws.CloseCode
	CloseReason string

	// MaxConnections bounds the connections open at once; 0 means no
	// limit. While that many are open, a handshake that passes every
	// check is answered 503 Service Unavailable, with a Retry-After
	// header, instead of opening one more.
	MaxConnections int
	// MaxHandshakes bounds the opening handshakes in progress; 0 means
	// no limit. Serve counts the connections whose request it is reading
	// and answering (a client that sends its request slowly holds a place
	// for up to OpenTimeout); while that many are in progress, each
	// listener's loop holds the connection it accepted last until a place
	// frees, and accepts no more: the kernel's listen queue holds the
	// next ones. ServeHTTP counts the requests it is handling and answers
	// 503 with a Retry-After header past the bound. Set it before the
	// first Serve or ServeHTTP.
	MaxHandshakes int
	// RetryAfter is the delay the 503 answers of MaxConnections and
	// MaxHandshakes ask clients to wait (Retry-After, in whole seconds,
	// rounded up); 0 means DefaultRetryAfter.
	RetryAfter time.Duration

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*Conn]struct{}
	raw       map[net.Conn]struct{} // connections in the handshake
	admitted  int                   // handshakes let through under MaxConnections, not open yet
	slots     chan struct{}         // one per handshake in progress, under MaxHandshakes; nil without
	closed    chan struct{}         // closed by Shutdown
	handlers  sync.WaitGroup
	shutdown  bool
	stats     serverCounters
}

func (s *Server) init() {
	if s.listeners == nil {
		s.listeners = make(map[net.Listener]struct{})
		s.conns = make(map[*Conn]struct{})
		s.raw = make(map[net.Conn]struct{})
		s.closed = make(chan struct{})
		if s.MaxHandshakes > 0 {
			s.slots = make(chan struct{}, s.MaxHandshakes)
		}
	}
}

func (s *Server) shuttingDown() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.shutdown
}

// ListenAndServe listens on the TCP address addr and serves.
func (s *Server) ListenAndServe(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("tether: %w", err)
	}
	return s.Serve(ln)
}

// ListenAndServeTLS listens on addr and serves TLS with the certificate and
// key in these files (and TLSConfig, if set).
func (s *Server) ListenAndServeTLS(addr, certFile, keyFile string) error {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return fmt.Errorf("tether: loading the TLS certificate: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("tether: %w", err)
	}
	return s.serve(tls.NewListener(ln, s.tlsConfig(cert)))
}

// tlsConfig returns the TLS configuration the server runs: a copy of
// TLSConfig (or an empty one) with certs added, which offers http/1.1 by
// ALPN when it names no protocol.
func (s *Server) tlsConfig(certs ...tls.Certificate) *tls.Config {
	cfg := netctx.TLSConfig(s.TLSConfig, "", "http/1.1")
	cfg.Certificates = append(cfg.Certificates, certs...)
	return cfg
}

// Serve accepts connections on ln until Shutdown, and serves each in its
// own goroutine; with TLSConfig set, it runs TLS over ln. It returns
// ErrServerClosed after Shutdown, and at once, closing ln, an error
// matching ws.ErrInvalidHeader for a ServerHeader that no response could
// carry.
func (s *Server) Serve(ln net.Listener) error {
	if s.TLSConfig != nil {
		ln = tls.NewListener(ln, s.tlsConfig())
	}
	return s.serve(ln)
}

// serve is the accept loop of Serve.
func (s *Server) serve(ln net.Listener) error {
	if err := s.Options.check(); err != nil {
		_ = ln.Close()
		return err
	}
	s.mu.Lock()
	s.init()
	if s.shutdown {
		s.mu.Unlock()
		_ = ln.Close()
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	log := loggerOr(s.Options.Logger)
	log.Info("server listening", "addr", ln.Addr().String())
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.shuttingDown() {
				return ErrServerClosed
			}
			if isTemporary(err) {
				// E.g. too many open files: wait a little and retry.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				log.Error("accept failed; retrying", "err", err, "delay", delay)
				time.Sleep(delay)
				continue
			}
			s.mu.Lock()
			delete(s.listeners, ln)
			s.mu.Unlock()
			return fmt.Errorf("tether: accept: %w", err)
		}
		delay = 0
		// Under MaxHandshakes, the connection waits here for a place;
		// meanwhile this loop accepts nothing more (the kernel queues
		// the next ones), and the other listeners' loops go on.
		if !s.waitSlot() {
			_ = nc.Close()
			return ErrServerClosed
		}
		s.mu.Lock()
		if s.shutdown {
			s.mu.Unlock()
			s.freeSlot()
			_ = nc.Close()
			continue
		}
		s.raw[nc] = struct{}{}
		s.handlers.Add(1)
		s.mu.Unlock()
		go s.serveConn(nc)
	}
}

// isTemporary reports accept errors worth retrying, as net/http does.
func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// serveConn runs the handshake on a raw connection, then starts the
// handler on a goroutine of its own and returns. The handshake (HTTP
// parsing, hooks, negotiation) grows this goroutine's stack; the handler
// goroutine, which lives as long as the connection, starts with a small
// one (a stack only shrinks to a quarter of what is in use when the
// garbage collector runs, so the grown stack would stay).
func (s *Server) serveConn(nc net.Conn) {
	var admitted bool
	c := s.open(nc, &admitted)
	s.track(c, admitted)
	if c == nil {
		s.handlers.Done()
		return
	}
	go s.serveHandler(c)
}

// open runs the opening handshake of a raw connection; *admitted tells
// whether admit let it through.
func (s *Server) open(nc net.Conn, admitted *bool) *Conn {
	opts := s.Options.Options.resolve()
	defer func() {
		s.mu.Lock()
		delete(s.raw, nc)
		s.mu.Unlock()
		s.freeSlot()
	}()
	ctx := context.Background()
	if opts.OpenTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.OpenTimeout)
		defer cancel()
	}
	c, err := acceptConn(ctx, nc, &s.Options, opts, s.admit(admitted))
	if err != nil {
		s.handshakeFailed(remoteString(nc), err, opts.Logger)
		return nil
	}
	return c
}

// serveHandler runs the handler of an open connection, closes the
// connection after it and forgets it. The handler's goroutine starts
// here: the frames down to the handler are kept few and small (see
// runHandler).
func (s *Server) serveHandler(c *Conn) {
	s.handlerReturned(c, s.runHandler(c))
}

// handlerReturned closes c with code once its handler has returned, and
// forgets it.
func (s *Server) handlerReturned(c *Conn, code ws.CloseCode) {
	defer s.handlers.Done()
	_ = c.Close(code, "")
	s.mu.Lock()
	delete(s.conns, c)
	s.connEndedLocked(c)
	s.mu.Unlock()
}

// track adds c, if not nil, to the open connections, and settles the
// place admit kept for it (admitted). A connection whose handshake
// passed the shutdown check just before Shutdown began is not in the
// list Shutdown closed: it is closed here.
func (s *Server) track(c *Conn, admitted bool) {
	s.mu.Lock()
	if admitted {
		s.admitted--
	}
	if c == nil {
		s.mu.Unlock()
		return
	}
	s.conns[c] = struct{}{}
	s.stats.opened.Add(1)
	late := s.shutdown
	s.mu.Unlock()
	if late {
		go func() { _ = c.Close(s.closeCode(), s.CloseReason) }()
	}
}

func (s *Server) closeCode() ws.CloseCode {
	if s.CloseCode == 0 {
		return ws.CloseGoingAway
	}
	return s.CloseCode
}

// runHandler calls Handler and returns the code to close with: 1000, or
// 1011 after an error or a panic. It is one small frame between the
// goroutine's start and the handler, so that a handler that sends (and so
// may write the socket inline, a deep call chain) still fits in the 2 KiB
// stack a goroutine starts with: Go never shrinks the 4 KiB stack of a
// goroutine parked, as an idle handler is, in a channel receive.
func (s *Server) runHandler(c *Conn) (code ws.CloseCode) {
	code = ws.CloseInternalError // unless the handler returns
	defer handlerPanicked(c)
	if s.Handler != nil {
		if err := s.Handler(c.ctx, c); err != nil {
			return handlerFailed(c, err)
		}
	}
	return ws.CloseNormal
}

// handlerFailed logs the error a handler returned, unless it says the
// connection was closed, and returns the code to close with.
func handlerFailed(c *Conn, err error) ws.CloseCode {
	if errors.Is(err, ws.ErrClosed) {
		return ws.CloseNormal
	}
	c.logAt(slog.LevelError, "connection handler failed", "err", err)
	return ws.CloseInternalError
}

// handlerPanicked logs the panic of a handler, if it panicked: deferred
// by runHandler, which then returns 1011.
func handlerPanicked(c *Conn) {
	if r := recover(); r != nil {
		c.logAt(slog.LevelError, "connection handler failed", "panic", r, "stack", string(debug.Stack()))
	}
}

// ServeHTTP makes the server an http.Handler: it upgrades the request and
// runs Handler, tracking the connection for Shutdown.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.init()
	if s.shutdown {
		s.mu.Unlock()
		http.Error(w, "Server is shutting down.", http.StatusServiceUnavailable)
		return
	}
	s.handlers.Add(1)
	s.mu.Unlock()
	opts := s.Options.Options.resolve()
	if err := s.Options.check(); err != nil {
		s.handlers.Done()
		opts.Logger.Error("cannot accept connections", "err", err)
		http.Error(w, "Failed to open a WebSocket connection.", http.StatusInternalServerError)
		return
	}
	if !s.trySlot() {
		s.handlers.Done()
		resp := s.busy("Too many connections being opened; try again later.\n")
		copyResponseHeader(w.Header(), resp.Header, isH2(r))
		w.WriteHeader(resp.Status)
		_, _ = w.Write(resp.Body)
		_ = refused(handshakeResult{resp: resp, why: errors.New("tether: too many handshakes in progress")}, r, opts)
		return
	}
	var admitted bool
	c, err := accept(w, r, &s.Options, opts, s.admit(&admitted))
	s.freeSlot()
	s.track(c, admitted)
	if err != nil {
		s.handlers.Done()
		s.handshakeFailed(r.RemoteAddr, err, opts.Logger)
		return
	}
	s.serveHandler(c)
}

// Connections returns the open connections.
func (s *Server) Connections() []*Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Conn, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c)
	}
	return out
}

// Shutdown stops the server gracefully: it closes the listeners, answers
// handshakes still in progress with 503, closes every connection with
// CloseCode (1001 by default) concurrently, and waits for every handler to
// return. If ctx ends first, the remaining connections are aborted and
// Shutdown returns an error wrapping ctx.Err().
//
// What it promises for data in flight, as Conn.Close does (and Python's
// close): on each connection the close frame follows the messages already
// queued, which are sent, not dropped; from then on sends fail with
// ErrClosing, so the close frame waits behind at most the queue
// (Options.WriteLimit, plus the frame being written) and is never starved
// by a handler that keeps sending. Messages that arrive after Shutdown
// began are still delivered while they fit in Messages. Each connection's
// closing handshake is bounded by CloseTimeout, so Shutdown returns within
// about CloseTimeout of its call unless a handler ignores its ended
// connection.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.init()
	first := !s.shutdown
	if first {
		close(s.closed)
	}
	s.shutdown = true
	for ln := range s.listeners {
		_ = ln.Close()
	}
	clear(s.listeners)
	conns := make([]*Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	if first && s.Options.Logger != nil {
		s.Options.Logger.Info("server closing")
	}
	code := s.closeCode()
	for _, c := range conns {
		go func() { _ = c.Close(code, s.CloseReason) }()
	}
	waited := make(chan struct{})
	go func() { s.handlers.Wait(); close(waited) }()
	select {
	case <-waited:
		if first && s.Options.Logger != nil {
			s.Options.Logger.Info("server closed")
		}
		return nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	for c := range s.conns {
		go c.CloseNow()
	}
	for nc := range s.raw {
		_ = nc.Close()
	}
	s.mu.Unlock()
	<-waited
	return fmt.Errorf("tether: shutdown: %w", ctx.Err())
}
