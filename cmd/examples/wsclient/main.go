package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tetherws/tether/runtime"
	"github.com/tetherws/tether/runtime/proxy"
	"github.com/tetherws/tether/ws"
)

func main() {
	cfg, err := parseArgs(os.Args[1:], os.Stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// After the first Ctrl-C, a second one kills the process at once.
	context.AfterFunc(ctx, stop)
	os.Exit(run(ctx, cfg, os.Stdin, os.Stdout, os.Stderr))
}

// config is the parsed command line.
type config struct {
	URL          string
	Insecure     bool
	Header       http.Header
	Subprotocols []string
	Origin       string
	Proxy        string
	NoProxy      bool
	PingEvery    time.Duration
	Binary       bool
}

// headerFlag collects repeated -H 'Name: value' flags.
type headerFlag struct{ h http.Header }

func (f *headerFlag) String() string { return "" }

func (f *headerFlag) Set(s string) error {
	name, value, ok := strings.Cut(s, ":")
	name = strings.TrimSpace(name)
	if !ok || name == "" || strings.ContainsAny(name, " \t") {
		return fmt.Errorf("want 'Name: value', got %q", s)
	}
	f.h.Add(name, strings.TrimSpace(value))
	return nil
}

// parseArgs parses the command line; usage and errors go to stderr.
func parseArgs(args []string, stderr io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("wsclient", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: wsclient [flags] ws[s]://host[:port]/path")
		fs.PrintDefaults()
	}
	hdr := &headerFlag{h: http.Header{}}
	var subprotocols string
	fs.BoolVar(&cfg.Insecure, "insecure", false, "skip TLS certificate verification")
	fs.Var(hdr, "H", "extra request header 'Name: value' (repeatable)")
	fs.StringVar(&subprotocols, "subprotocol", "", "comma-separated subprotocols to offer")
	fs.StringVar(&cfg.Origin, "origin", "", "Origin header")
	fs.StringVar(&cfg.Proxy, "proxy", "", "proxy URL (default: from the environment)")
	fs.BoolVar(&cfg.NoProxy, "no-proxy", false, "connect directly, ignoring proxy environment variables")
	fs.DurationVar(&cfg.PingEvery, "ping", 0, "send a ping this often and print the round trip time (e.g. 5s)")
	fs.BoolVar(&cfg.Binary, "binary", false, "send input lines as binary messages")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	fail := func(format string, a ...any) (config, error) {
		err := fmt.Errorf(format, a...)
		fmt.Fprintln(stderr, "wsclient:", err)
		fs.Usage()
		return cfg, err
	}
	if fs.NArg() != 1 {
		return fail("want one URL, got %d arguments", fs.NArg())
	}
	cfg.URL = fs.Arg(0)
	if cfg.Proxy != "" && cfg.NoProxy {
		return fail("-proxy and -no-proxy exclude each other")
	}
	if cfg.PingEvery < 0 {
		return fail("-ping must not be negative")
	}
	if len(hdr.h) > 0 {
		cfg.Header = hdr.h
	}
	for p := range strings.SplitSeq(subprotocols, ",") {
		if p = strings.TrimSpace(p); p != "" {
			cfg.Subprotocols = append(cfg.Subprotocols, p)
		}
	}
	return cfg, nil
}

// dialOptions turns the configuration into runtime.DialOptions.
func (cfg config) dialOptions() *runtime.DialOptions {
	o := &runtime.DialOptions{
		Origin:       cfg.Origin,
		Subprotocols: cfg.Subprotocols,
		Header:       cfg.Header,
	}
	if cfg.Insecure {
		o.TLSConfig = &tls.Config{InsecureSkipVerify: true}
	}
	switch {
	case cfg.NoProxy:
		o.Proxy = proxy.Direct
	case cfg.Proxy != "":
		o.Proxy = proxy.URL(cfg.Proxy)
	}
	return o
}

// printer serialises the output of the goroutines of one session.
type printer struct {
	mu       sync.Mutex
	out, err io.Writer
}

func (p *printer) outf(format string, a ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.out, format+"\n", a...)
}

func (p *printer) errf(format string, a ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.err, format+"\n", a...)
}

// maxHex is how many bytes of a binary message are printed.
const maxHex = 64

// formatMessage formats a received message as it is printed.
func formatMessage(m runtime.Message) string {
	if m.IsText() {
		return "< " + m.Text()
	}
	n := len(m.Data)
	if n == 0 {
		return "< (binary) 0 bytes"
	}
	s := fmt.Sprintf("< (binary) %d bytes: %s", n, hex.EncodeToString(m.Data[:min(n, maxHex)]))
	if n > maxHex {
		s += "…"
	}
	return s
}

// rtt formats a round trip time.
func rtt(d time.Duration) string {
	if d >= time.Millisecond {
		return d.Round(10 * time.Microsecond).String()
	}
	return d.Round(time.Microsecond).String()
}

// session is one connection driven by input lines.
type session struct {
	conn  *runtime.Conn
	p     *printer
	cfg   config
	pings sync.WaitGroup
	// closeAsked is the code of a /close command, 0 if none.
	closeAsked ws.CloseCode
}

// run connects to cfg.URL, then sends lines from stdin until EOF, a /close
// command, ctx's end or the server's close, prints what is received to
// stdout, and returns the exit status.
func run(ctx context.Context, cfg config, stdin io.Reader, stdout, stderr io.Writer) int {
	p := &printer{out: stdout, err: stderr}
	conn, _, err := runtime.Dial(ctx, cfg.URL, cfg.dialOptions())
	if err != nil {
		p.errf("Failed to connect to %s: %v.", cfg.URL, err)
		return 1
	}
	defer conn.CloseNow() // only matters on a panic: the loop below closes
	p.outf("Connected to %s.", cfg.URL)
	if sp := conn.Subprotocol(); sp != "" {
		p.outf("Subprotocol: %s.", sp)
	}
	s := &session{conn: conn, p: p, cfg: cfg}

	received := make(chan struct{})
	go func() {
		defer close(received)
		for m := range conn.Messages() {
			p.outf("%s", formatMessage(m))
			m.Release()
		}
	}()

	// The reader goroutine stays blocked on stdin after run returns if
	// stdin stays open; quit stops it from handing over more lines.
	lines := make(chan string)
	readErr := make(chan error, 1)
	quit := make(chan struct{})
	defer close(quit)
	go readLines(stdin, lines, readErr, quit)

	var tick <-chan time.Time
	if cfg.PingEvery > 0 {
		t := time.NewTicker(cfg.PingEvery)
		defer t.Stop()
		tick = t.C
	}

loop:
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				if err := <-readErr; err != nil {
					p.errf("reading input: %v", err)
				}
				_ = conn.Close(ws.CloseNormal, "")
				break loop
			}
			if s.handleLine(line) {
				break loop
			}
		case <-tick:
			s.ping(nil, true)
		case <-ctx.Done():
			_ = conn.Close(ws.CloseNormal, "")
			break loop
		case <-received:
			break loop
		}
	}
	<-received
	s.pings.Wait()

	st := conn.CloseStatus()
	code, reason := st.Code(), st.Reason()
	p.outf("Connection closed: %s.", ws.CloseFrame{Code: code, Reason: reason})
	if cerr := conn.Err(); cerr != nil && !s.closedAsAsked(st) {
		p.errf("wsclient: %v", describe(cerr))
		return 1
	}
	return 0
}

// closedAsAsked reports whether a /close with a code other than 1000 or
// 1001 ended in a complete closing handshake that the client started. As
// with ws.CloseError.OK, the cause (EOF, or the close timeout when the
// server keeps the TCP connection open) does not matter then.
func (s *session) closedAsAsked(st *ws.CloseError) bool {
	return s.closeAsked != 0 && st.Sent != nil && st.Rcvd != nil &&
		!st.RcvdThenSent && st.Sent.Code == s.closeAsked
}

// describe adds the cause to a close error.
func describe(err error) string {
	var ce *ws.CloseError
	if errors.As(err, &ce) && ce.Cause != nil {
		return ce.Error() + ": " + ce.Cause.Error()
	}
	return err.Error()
}

// readLines sends the lines of r on lines, without their line ending, and
// closes lines at the end of r after sending the read error (nil at EOF)
// on errc.
func readLines(r io.Reader, lines chan<- string, errc chan<- error, quit <-chan struct{}) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		select {
		case lines <- strings.TrimSuffix(sc.Text(), "\r"):
		case <-quit:
			return
		}
	}
	errc <- sc.Err()
	close(lines)
}

// handleLine sends a line or runs its command. It returns true once the
// connection is closed.
func (s *session) handleLine(line string) bool {
	ctx := s.conn.Context()
	if !strings.HasPrefix(line, "/") || strings.HasPrefix(line, "//") {
		line = strings.TrimPrefix(line, "/")
		var err error
		if s.cfg.Binary {
			err = s.conn.SendBinary(ctx, []byte(line))
		} else {
			err = s.conn.SendText(ctx, line)
		}
		if err != nil {
			s.p.errf("send failed: %v", err)
		}
		return false
	}
	cmd, arg, _ := strings.Cut(line, " ")
	arg = strings.TrimSpace(arg)
	switch cmd {
	case "/ping":
		var payload []byte
		if arg != "" {
			payload = []byte(arg)
		}
		s.ping(payload, false)
	case "/binary":
		b, err := hex.DecodeString(strings.Join(strings.Fields(arg), ""))
		if err != nil {
			s.p.errf("/binary: %v", err)
			return false
		}
		if err := s.conn.SendBinary(ctx, b); err != nil {
			s.p.errf("send failed: %v", err)
		}
	case "/close":
		code, reason := ws.CloseNormal, ""
		if arg != "" {
			c, rest, _ := strings.Cut(arg, " ")
			n, err := strconv.ParseUint(c, 10, 16)
			if err != nil {
				s.p.errf("/close: bad code %q", c)
				return false
			}
			code, reason = ws.CloseCode(n), strings.TrimSpace(rest)
		}
		if err := (ws.CloseFrame{Code: code, Reason: reason}).Check(); err != nil {
			s.p.errf("/close: %v", err)
			return false
		}
		s.closeAsked = code
		_ = s.conn.Close(code, reason)
		return true
	default:
		s.p.errf("unknown command %s (commands: /ping [payload], /close [code] [reason], /binary hex...; //text sends /text)", cmd)
	}
	return false
}

// ping sends a ping and prints its round trip time when the pong arrives.
// Periodic pings keep quiet when the connection is closing.
func (s *session) ping(payload []byte, periodic bool) {
	s.pings.Add(1)
	go func() {
		defer s.pings.Done()
		d, err := s.conn.Ping(s.conn.Context(), payload)
		switch {
		case err == nil:
			s.p.outf("Pong received: RTT %s.", rtt(d))
		case periodic && (errors.Is(err, ws.ErrClosed) || errors.Is(err, context.Canceled)):
		default:
			s.p.errf("ping failed: %v", err)
		}
	}()
}
