package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/tetherws/tether"
	"github.com/tetherws/tether/compress"
)

const serveHelp = `NAME
    tether serve - run a WebSocket server

SYNOPSIS
    tether serve [options] [ADDR]

DESCRIPTION
    Listens on ADDR (host:port, :port or a port; default :9001) and
    accepts WebSocket connections on every path. What it does with them
    depends on the mode:

    --echo        (the default) send every message back to its sender,
                  text as text and binary as binary
    --broadcast   send every message to every connected client, the
                  sender included; the message is framed once for all
                  clients (and compressed once, without context takeover)
    --exec CMD    run CMD with /bin/sh -c for each connection, as
                  websocketd does: each line the program writes to its
                  standard output is a text message to the client (binary
                  when it is not UTF-8), and each message from the client
                  is written to the program's standard input, followed by
                  a newline. The program's standard error goes to tether's.
                  When the program exits, the connection closes with 1000
                  if its status was 0 and with 1011 ("exit status N")
                  otherwise; when the connection ends first, the program
                  (its whole process group) gets SIGTERM, then SIGKILL a
                  second later. The program's environment has
                  TETHER_REMOTE_ADDR (the client's address),
                  TETHER_REQUEST_URI (the path and query it asked for) and
                  TETHER_ORIGIN (its Origin header, if any).

    On SIGINT or SIGTERM the server shuts down gracefully: it stops
    accepting, closes every connection with 1001 (going away) and waits
    for them, at most --shutdown-timeout; a second signal stops it at once.

OPTIONS
    --echo, --broadcast, --exec CMD
                  the mode (one of them; see above)
    --tls-cert FILE, --tls-key FILE
                  serve wss:// with this certificate chain and key (PEM)
    --origin ORIGIN
                  accept only browsers from this origin, such as
                  https://example.com; "*" matches any run of characters
                  but "/" (https://*.example.com). Repeatable. Without it,
                  every origin is accepted.
    --allow-no-origin
                  with --origin, also accept requests without an Origin
                  header (programs rather than browsers)
    --no-compression
                  do not negotiate permessage-deflate
    --max-size N  largest message accepted, in bytes (default 1048576);
                  a larger one closes the connection with 1009
    --shutdown-timeout D
                  how long a graceful shutdown may take (default 10s)
    -v, --verbose log every connection and its end to standard error
    -h, --help    show this help

EXIT STATUS
    0  the server shut down after a signal
    1  the server could not listen or failed
    2  bad command line

EXAMPLES
    tether serve :9001
    tether serve --broadcast 127.0.0.1:8080
    tether serve --exec 'tr a-z A-Z' :9001
    tether serve --tls-cert cert.pem --tls-key key.pem :8443
`

// serveConfig is the parsed command line of tether serve.
type serveConfig struct {
	addr            string
	mode            string // "echo", "broadcast" or "exec"
	exec            string
	tlsCert, tlsKey string
	origins         listFlag
	allowNoOrigin   bool
	noCompression   bool
	maxSize         int64
	shutdownTimeout time.Duration
	verbose         bool
}

// parseServe parses tether serve's command line; ok is false when the
// command should exit with status code at once.
func parseServe(args []string, io stdio) (cfg serveConfig, code int, ok bool) {
	var echo, broadcast bool
	pos, err := parse(serveFlags(&cfg, &echo, &broadcast), serveHelp, args, io.out, io.err)
	if err != nil {
		return cfg, parseStatus(err), false
	}
	fail := func(format string, a ...any) (serveConfig, int, bool) {
		return cfg, usageError(io.err, "serve", format, a...), false
	}
	switch len(pos) {
	case 0:
		cfg.addr = ":9001"
	case 1:
		cfg.addr = pos[0]
		if !strings.Contains(cfg.addr, ":") {
			cfg.addr = ":" + cfg.addr
		}
	default:
		return fail("want at most one address, got %d arguments", len(pos))
	}
	modes := 0
	cfg.mode = "echo"
	for _, m := range []struct {
		on   bool
		name string
	}{{echo, "echo"}, {broadcast, "broadcast"}, {cfg.exec != "", "exec"}} {
		if m.on {
			modes++
			cfg.mode = m.name
		}
	}
	if modes > 1 {
		return fail("--echo, --broadcast and --exec exclude each other")
	}
	if (cfg.tlsCert == "") != (cfg.tlsKey == "") {
		return fail("--tls-cert and --tls-key go together")
	}
	if cfg.allowNoOrigin && len(cfg.origins) == 0 {
		return fail("--allow-no-origin needs --origin")
	}
	if cfg.maxSize <= 0 {
		return fail("--max-size must be positive")
	}
	if cfg.shutdownTimeout <= 0 {
		return fail("--shutdown-timeout must be positive")
	}
	return cfg, exitOK, true
}

// serveFlags returns the flags of tether serve, set in cfg, echo and
// broadcast.
func serveFlags(cfg *serveConfig, echo, broadcast *bool) *flag.FlagSet {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.BoolVar(echo, "echo", false, "")
	fs.BoolVar(broadcast, "broadcast", false, "")
	fs.StringVar(&cfg.exec, "exec", "", "")
	fs.StringVar(&cfg.tlsCert, "tls-cert", "", "")
	fs.StringVar(&cfg.tlsKey, "tls-key", "", "")
	fs.Var(&cfg.origins, "origin", "")
	fs.BoolVar(&cfg.allowNoOrigin, "allow-no-origin", false, "")
	fs.BoolVar(&cfg.noCompression, "no-compression", false, "")
	fs.Int64Var(&cfg.maxSize, "max-size", tether.DefaultMaxMessageSize, "")
	fs.DurationVar(&cfg.shutdownTimeout, "shutdown-timeout", 10*time.Second, "")
	fs.BoolVar(&cfg.verbose, "v", false, "")
	fs.BoolVar(&cfg.verbose, "verbose", false, "")
	return fs
}

// runServe is tether serve.
func runServe(ctx context.Context, args []string, io stdio) int {
	cfg, code, ok := parseServe(args, io)
	if !ok {
		return code
	}
	return serve(ctx, cfg, io, nil)
}

// serve runs the server until ctx ends, then shuts it down; it calls
// ready, if set, with the server's URL once it listens. It returns the
// exit status.
func serve(ctx context.Context, cfg serveConfig, io stdio, ready func(url string)) int {
	level := slog.LevelWarn
	if cfg.verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(io.err, &slog.HandlerOptions{Level: level}))
	fail := func(format string, a ...any) int {
		fmt.Fprintf(io.err, "tether serve: "+format+"\n", a...)
		return exitFail
	}

	opts := tether.ServerOptions{}
	opts.Logger = log
	opts.MaxMessageSize = cfg.maxSize
	opts.DisableCompression = cfg.noCompression
	patterns, err := originPatterns(cfg.origins)
	if err != nil {
		return fail("%v", err)
	}
	opts.Handshake.OriginPatterns = patterns
	opts.Handshake.AllowMissingOrigin = cfg.allowNoOrigin
	// A test and development tool, as websocketd is: without --origin,
	// pages of every origin may connect (a library Server accepts only
	// its own origin by default).
	opts.InsecureSkipOriginCheck = len(patterns) == 0

	var handler tether.Handler
	switch cfg.mode {
	case "broadcast":
		// Compressed without context takeover on the server's side, a
		// broadcast message is compressed once for every client.
		opts.Compression = &compress.Options{ServerNoContextTakeover: true}
		handler = (&broadcaster{conns: make(map[*tether.Conn]struct{})}).handle
	case "exec":
		handler = execHandler(cfg.exec, io.err)
	default:
		handler = echo
	}
	var closedLogs sync.WaitGroup // the "connection closed" lines still to print
	handler = logged(handler, log, &closedLogs)

	srv := &tether.Server{Handler: handler, Options: opts}
	scheme := "ws"
	if cfg.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.tlsCert, cfg.tlsKey)
		if err != nil {
			return fail("%v", err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		scheme = "wss"
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fail("%v", err)
	}
	url := scheme + "://" + displayAddr(ln.Addr()) + "/"
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(io.err, "tether serve: listening on %s (%s); Ctrl-C to stop\n", url, cfg.mode)
	if ready != nil {
		ready(url)
	}

	select {
	case err := <-served:
		return fail("%v", err)
	case <-ctx.Done():
	}
	fmt.Fprintln(io.err, "tether serve: shutting down (closing connections with 1001)")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.shutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	closedLogs.Wait()
	if serr := <-served; !errors.Is(serr, tether.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		return fail("shutdown: %v", err)
	}
	return exitOK
}

// displayAddr turns a listening address into a host:port to connect to:
// an unspecified host (":9001", "[::]:9001") becomes localhost.
func displayAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// originPatterns turns the --origin values into patterns that match a
// whole Origin header, "*" matching any run of characters but "/".
func originPatterns(origins []string) ([]*regexp.Regexp, error) {
	var res []*regexp.Regexp
	for _, o := range origins {
		parts := strings.Split(o, "*")
		for i, p := range parts {
			parts[i] = regexp.QuoteMeta(p)
		}
		re, err := regexp.Compile("(?i)^" + strings.Join(parts, "[^/]*") + "$")
		if err != nil {
			return nil, fmt.Errorf("--origin %q: %w", o, err)
		}
		res = append(res, re)
	}
	return res, nil
}

// logged wraps a handler with the logs of --verbose; pending counts the
// "connection closed" lines not printed yet, which Shutdown waits for.
func logged(h tether.Handler, log *slog.Logger, pending *sync.WaitGroup) tether.Handler {
	if !log.Enabled(context.Background(), slog.LevelInfo) {
		return h
	}
	return func(ctx context.Context, c *tether.Conn) error {
		log.Info("connection opened", "id", c.ID(), "remote", c.RemoteAddr().String(), "uri", c.Request().RequestURI)
		err := h(ctx, c)
		pending.Add(1)
		go func() {
			defer pending.Done()
			<-c.Done()
			st := c.CloseStatus()
			log.Info("connection closed", "id", c.ID(), "code", int(st.Code()), "reason", st.Reason())
		}()
		return err
	}
}

// echo is the handler of --echo: every message goes back to its sender.
func echo(ctx context.Context, c *tether.Conn) error {
	for m := range c.Messages() {
		err := c.SendMessage(ctx, m)
		m.Release()
		if err != nil {
			return nil // the connection is ending
		}
	}
	return nil
}

// broadcaster is the state of --broadcast: the open connections.
type broadcaster struct {
	mu    sync.Mutex
	conns map[*tether.Conn]struct{}
	list  []*tether.Conn // a snapshot of conns, rebuilt after a change
}

// handle adds c, broadcasts each of its messages, and removes c.
func (b *broadcaster) handle(ctx context.Context, c *tether.Conn) error {
	b.change(func() { b.conns[c] = struct{}{} })
	defer b.change(func() { delete(b.conns, c) })
	for m := range c.Messages() {
		err := tether.Broadcast(ctx, b.snapshot(), m.Type, m.Data)
		m.Release()
		if err != nil {
			return nil // ctx ended: the connection is ending
		}
	}
	return nil
}

func (b *broadcaster) change(f func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	f()
	b.list = nil
}

func (b *broadcaster) snapshot() []*tether.Conn {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.list == nil {
		b.list = make([]*tether.Conn, 0, len(b.conns))
		for c := range b.conns {
			b.list = append(b.list, c)
		}
	}
	return b.list
}
