package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/tetherws/tether"
)

const connectHelp = `NAME
    tether connect - talk to a WebSocket server

SYNOPSIS
    tether connect [options] URL

DESCRIPTION
    Opens a WebSocket connection to URL (ws://, wss://, or an IRI) and
    exchanges messages with it until either side closes.

    When standard input and output are both a terminal, the session is
    interactive: a "> " prompt with line editing and history (arrow keys,
    Ctrl-A/E, Ctrl-W, Ctrl-U, Ctrl-R...). Each line typed is sent as a text
    message (binary with --binary). A received text message is printed as
    "< text", a binary one as "< (binary) N bytes: " and a hex preview of at
    most 64 bytes. Messages are printed above the line being typed, which
    stays intact. Ctrl-D on an empty line, Ctrl-C or /quit closes with 1000
    and waits for the closing handshake; the close status is printed last.

    Otherwise tether connect is a filter: each line of standard input is a
    text message (with --binary, each chunk read is a binary message, sent
    as it is), and each received message is written to standard output:
    text followed by a newline, binary in hex on one line (with --binary,
    its bytes as they are). Lines starting with "/" are data, not commands.
    After standard input ends, tether connect keeps receiving until the
    server closes, or until --wait has passed without a message, then
    closes with 1000. Status lines (connected, pong, closed) go to standard
    error.

COMMANDS
    On a terminal, lines starting with "/" are commands:

    /ping [payload]          send a ping and print the round trip time
    /close [code] [reason]   close with code (default 1000) and reason
    /binary HEX              send the bytes as a binary message
                             (spaces between hex digits are allowed)
    /quit                    close with 1000 and exit (as Ctrl-D)
    /help                    list the commands
    //text                   send "/text": a leading "//" sends one "/"

OPTIONS
    -H, --header 'Name: value'
                  add a request header (repeatable)
    --subprotocol a,b
                  offer these subprotocols, in order of preference
                  (repeatable)
    --origin URL  send this Origin header
    --proxy URL   connect through this proxy (http, https, socks5,
                  socks5h, socks4, socks4a); default: from the
                  environment (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY)
    --no-proxy    connect directly, ignoring the proxy environment
    -k, --insecure
                  do not verify the server's TLS certificate (wss://)
    --no-compression
                  do not offer permessage-deflate
    --open-timeout D
                  bound on the opening handshake (default 10s)
    --ping D      send a ping every D and print the round trip time
    --binary      send binary messages instead of text
    --json        print one JSON object per event instead of text:
                  {"event":"open"|"message"|"pong"|"notice"|"error"|"close",
                  "time":...}; a message has "type" and "text" or
                  "binary" (base64) and "size"; a pong "rtt_ms"; a
                  rejected handshake "status" and "body"; a close "code",
                  "reason" and "clean"
    --wait D      in a pipe, how long to wait for more messages after
                  standard input ends, counted from the last message
                  (default 1s); 0 closes at once, a negative value waits
                  for the server to close
    -h, --help    show this help

EXIT STATUS
    0  the connection closed cleanly: close frames exchanged with 1000,
       1001 or 1005, or the code asked for with /close acknowledged
    1  the connection could not be opened (the server's response and its
       body are printed on a rejection) or did not close cleanly
    2  bad command line

EXAMPLES
    tether connect ws://localhost:9001
    tether connect -H 'Authorization: Bearer t0ken' wss://api.example.com/feed
    printf 'a\nb\n' | tether connect ws://localhost:9001
    tether connect --json ws://localhost:9001 < requests.txt > events.jsonl
`

// connectConfig is the parsed command line of tether connect.
type connectConfig struct {
	url    string
	client clientFlags
	ping   time.Duration
	binary bool
	json   bool
	wait   time.Duration
}

// parseConnect parses tether connect's command line; ok is false when the
// command should exit with status code at once.
func parseConnect(args []string, io stdio) (cfg connectConfig, code int, ok bool) {
	pos, err := parse(connectFlags(&cfg), connectHelp, args, io.out, io.err)
	if err != nil {
		return cfg, parseStatus(err), false
	}
	if len(pos) != 1 {
		return cfg, usageError(io.err, "connect", "want one URL, got %d arguments", len(pos)), false
	}
	cfg.url = pos[0]
	if err := cfg.client.check(); err != nil {
		return cfg, usageError(io.err, "connect", "%v", err), false
	}
	if cfg.ping < 0 {
		return cfg, usageError(io.err, "connect", "--ping must not be negative"), false
	}
	return cfg, exitOK, true
}

// connectFlags returns the flags of tether connect, set in cfg.
func connectFlags(cfg *connectConfig) *flag.FlagSet {
	fs := flag.NewFlagSet("connect", flag.ContinueOnError)
	cfg.client.register(fs)
	fs.DurationVar(&cfg.ping, "ping", 0, "")
	fs.BoolVar(&cfg.binary, "binary", false, "")
	fs.BoolVar(&cfg.json, "json", false, "")
	fs.DurationVar(&cfg.wait, "wait", time.Second, "")
	return fs
}

// runConnect is tether connect.
func runConnect(ctx context.Context, args []string, io stdio) int {
	cfg, code, ok := parseConnect(args, io)
	if !ok {
		return code
	}
	return connect(ctx, cfg, io)
}

// terminal returns the file of a stream that is a terminal.
func terminal(s any) (*os.File, bool) {
	f, ok := s.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil, false
	}
	return f, true
}

// connect dials cfg.url and runs the session, interactive when stdin and
// stdout are a terminal; it returns the exit status.
func connect(ctx context.Context, cfg connectConfig, io stdio) int {
	in, inTTY := terminal(io.in)
	out, outTTY := terminal(io.out)
	interactive := inTTY && outTTY

	var rep reporter
	switch {
	case cfg.json:
		rep = newJSONReporter(io.out)
	case interactive:
		rep = &textReporter{msgs: io.out, info: io.out, interactive: true}
	default:
		rep = &textReporter{msgs: io.out, info: io.err, rawBinary: cfg.binary}
	}
	conn, _, err := tether.Dial(ctx, cfg.url, cfg.client.dialOptions())
	if err != nil {
		rep.failed(cfg.url, err)
		return exitFail
	}
	defer conn.CloseNow() // only matters on a panic: the session closes
	rep.opened(cfg.url, conn)
	s := &session{conn: conn, rep: rep, cfg: cfg, received: make(chan struct{}), activity: make(chan struct{}, 1)}
	if interactive {
		return s.interactive(ctx, in, out)
	}
	return s.pipe(ctx, io.in)
}

// session is one connection of tether connect.
type session struct {
	conn     *tether.Conn
	rep      reporter
	cfg      connectConfig
	pings    sync.WaitGroup
	received chan struct{} // closed once Messages is closed
	activity chan struct{} // signalled on each message received
	// closeAsked is the code of a /close command, 0 if none.
	closeAsked tether.CloseCode
}

// receive reports every message until the connection ends, then closes
// s.received.
func (s *session) receive() {
	defer close(s.received)
	for m := range s.conn.Messages() {
		s.rep.message(m)
		m.Release()
		select {
		case s.activity <- struct{}{}:
		default:
		}
	}
}

// ticker returns the channel of the --ping ticker (nil without one) and
// its stop function.
func (s *session) ticker() (<-chan time.Time, func()) {
	if s.cfg.ping <= 0 {
		return nil, func() {}
	}
	t := time.NewTicker(s.cfg.ping)
	return t.C, t.Stop
}

// ping sends a ping and reports its round trip time when the pong
// arrives. Periodic pings keep quiet when the connection is closing.
func (s *session) ping(payload []byte, periodic bool) {
	s.pings.Go(func() {
		d, err := s.conn.Ping(s.conn.Context(), payload)
		switch {
		case err == nil:
			s.rep.pong(d)
		case periodic && (errors.Is(err, tether.ErrClosed) || errors.Is(err, context.Canceled)):
		default:
			s.rep.notice("ping failed: %v", err)
		}
	})
}

// send sends one message of input.
func (s *session) send(data []byte, binary bool) {
	ctx := s.conn.Context()
	var err error
	if binary {
		err = s.conn.SendBinary(ctx, data)
	} else {
		err = s.conn.SendText(ctx, string(data))
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		s.rep.notice("send failed: %v", err)
	}
}

// end waits for the connection to end, reports its close status, and
// returns the exit status.
func (s *session) end() int {
	<-s.received
	s.pings.Wait()
	st := s.conn.CloseStatus()
	err := s.conn.Err()
	if err != nil && s.closedAsAsked(st) {
		err = nil
	}
	s.rep.closed(st, err)
	if err != nil {
		return exitFail
	}
	return exitOK
}

// closedAsAsked reports whether a /close with a code other than 1000 or
// 1001 ended in a complete closing handshake that the client started. As
// with CloseError.OK, the cause (EOF, or the close timeout when the
// server keeps the TCP connection open) does not matter then.
func (s *session) closedAsAsked(st *tether.CloseError) bool {
	return s.closeAsked != 0 && st.Sent != nil && st.Rcvd != nil &&
		!st.RcvdThenSent && st.Sent.Code == s.closeAsked
}

// readInput sends what r gives on ch: its lines without their line ending,
// or with chunks set, each read as it comes. At the end of r it closes ch
// after sending the read error (nil at EOF) on errc. quit stops it.
func readInput(r io.Reader, chunks bool, ch chan<- []byte, errc chan<- error, quit <-chan struct{}) {
	var err error
	if chunks {
		err = readChunks(r, ch, quit)
	} else {
		err = readLines(r, ch, quit)
	}
	if errors.Is(err, errQuit) {
		return
	}
	errc <- err
	close(ch)
}
