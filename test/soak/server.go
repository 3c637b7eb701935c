package soak

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	goruntime "runtime"
	"strings"
	"sync/atomic"
	"time"

	tether "github.com/tetherws/tether"
)

// ServerEnv is the environment variable that makes a soak executable the
// server process: its value is the server's configuration (JSON), and the
// executable's main must then call ServeChild with it.
const ServerEnv = "TETHER_SOAK_SERVER"

// serverConfig is what the server process is told by the driver.
type serverConfig struct {
	NoCompression   bool          `json:"no_compression"`
	PingInterval    time.Duration `json:"ping_interval"`
	PingTimeout     time.Duration `json:"ping_timeout"`
	ShutdownTimeout time.Duration `json:"shutdown_timeout"`
	LogLevel        string        `json:"log_level"`
}

// connOptions are the connection options of both sides.
func connOptions(noCompression bool, pingInterval, pingTimeout time.Duration, log *slog.Logger) tether.Options {
	return tether.Options{
		DisableCompression: noCompression,
		PingInterval:       pingInterval,
		PingTimeout:        pingTimeout,
		Logger:             log,
	}
}

// The messages between the driver and the server process: the server
// writes a serverHello, then answers each command line ("stats",
// "shutdown", "quit") with one JSON object.
type (
	serverHello struct {
		Addr       string `json:"addr"`
		PID        int    `json:"pid"`
		FileLimit  uint64 `json:"file_limit"`
		GOMAXPROCS int    `json:"gomaxprocs"`
		Err        string `json:"err,omitempty"`
	}
	serverStats struct {
		Proc       procStat          `json:"proc"`
		Open       int               `json:"open"`       // connections open
		Echoed     uint64            `json:"echoed"`     // messages echoed so far
		Ended      uint64            `json:"ended"`      // connections whose handler returned
		Goroutines int               `json:"goroutines"` // goroutines of the process
		HeapInuse  uint64            `json:"heap_inuse"` // bytes, runtime.MemStats
		StackInuse uint64            `json:"stack_inuse"`
		NumGC      uint32            `json:"num_gc"`
		SendErrors map[string]uint64 `json:"send_errors,omitempty"` // by kind
		Closes     map[string]uint64 `json:"closes,omitempty"`      // ended connections by close frames
		Err        string            `json:"err,omitempty"`
	}
	shutdownResult struct {
		Duration time.Duration `json:"duration_ns"`
		Err      string        `json:"err,omitempty"`
	}
)

// echoServer is the server's handler and its counters.
type echoServer struct {
	echoed     atomic.Uint64
	ended      atomic.Uint64
	sendErrors tally
	closes     tally
}

// handle echoes every message of c, in order, until the connection ends.
// Once a send fails because the connection is closing or has ended (ctx,
// the connection's context, is then cancelled: messages still buffered
// in Messages are read after the end), it stops echoing and drains
// Messages; any other send error ends the handler (and the connection,
// with 1011).
func (e *echoServer) handle(ctx context.Context, c *tether.Conn) error {
	defer e.ended.Add(1)
	echoing := true
	for m := range c.Messages() {
		if echoing {
			err := c.SendMessage(ctx, m)
			switch {
			case err == nil:
				e.echoed.Add(1)
			case errors.Is(err, tether.ErrClosed), ctx.Err() != nil:
				e.sendErrors.addErr(kindOf(err), err)
				echoing = false
			default:
				e.sendErrors.addErr(kindOf(err), err)
				m.Release()
				e.closes.add("handler failed")
				return fmt.Errorf("soak: echo: %w", err)
			}
		}
		m.Release()
	}
	<-c.Done()
	e.closes.add(closeCodes(c.CloseStatus()))
	return nil
}

// stats returns the server's figures now.
func (e *echoServer) stats(srv *tether.Server) serverStats {
	s := serverStats{
		Open:       len(srv.Connections()),
		Echoed:     e.echoed.Load(),
		Ended:      e.ended.Load(),
		Goroutines: goruntime.NumGoroutine(),
		SendErrors: e.sendErrors.snapshot(),
		Closes:     e.closes.snapshot(),
	}
	var ms goruntime.MemStats
	goruntime.ReadMemStats(&ms)
	s.HeapInuse, s.StackInuse, s.NumGC = ms.HeapInuse, ms.StackInuse, ms.NumGC
	p, err := readProcStat()
	s.Proc = p
	if err != nil {
		s.Err = err.Error()
	}
	return s
}

// ServeChild is the main function of the server process: config is the
// value of ServerEnv. It serves on a loopback port, writes a hello line
// with the address to out, then answers the driver's commands from in
// until "quit" or the end of in (the driver is gone), and shuts the
// server down if that was not done yet.
func ServeChild(config string, in io.Reader, out io.Writer) error {
	var sc serverConfig
	if err := json.Unmarshal([]byte(config), &sc); err != nil {
		return fmt.Errorf("soak: server configuration: %w", err)
	}
	level, err := parseLevel(sc.LogLevel)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})).With("process", "soak server")
	enc := json.NewEncoder(out)
	hello := serverHello{PID: os.Getpid(), GOMAXPROCS: goruntime.GOMAXPROCS(0)}
	if hello.FileLimit, err = raiseFileLimit(); err != nil {
		log.Warn("cannot raise the file limit", "err", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		hello.Err = err.Error()
		_ = enc.Encode(hello)
		return fmt.Errorf("soak: listen: %w", err)
	}
	e := &echoServer{}
	srv := &tether.Server{
		Handler: e.handle,
		Options: tether.ServerOptions{Options: connOptions(sc.NoCompression, sc.PingInterval, sc.PingTimeout, log)},
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	hello.Addr = ln.Addr().String()
	if err := enc.Encode(hello); err != nil {
		_ = srv.Shutdown(context.Background())
		<-served
		return fmt.Errorf("soak: writing to the driver: %w", err)
	}
	shut := false
	lines := bufio.NewScanner(in)
commands:
	for lines.Scan() {
		var reply any
		switch cmd := strings.TrimSpace(lines.Text()); cmd {
		case "stats":
			reply = e.stats(srv)
		case "shutdown":
			reply = shutdown(srv, sc.ShutdownTimeout)
			shut = true
		case "quit":
			break commands
		default:
			reply = serverStats{Err: "unknown command " + cmd}
		}
		if err := enc.Encode(reply); err != nil {
			log.Error("cannot write to the driver", "err", err)
			break
		}
	}
	if !shut {
		// The driver is gone or done without a shutdown: a few seconds,
		// then the connections are aborted.
		_ = shutdown(srv, 5*time.Second)
	}
	if err := <-served; !errors.Is(err, tether.ErrServerClosed) {
		return fmt.Errorf("soak: serve: %w", err)
	}
	return nil
}

// shutdown runs Server.Shutdown bounded by timeout and times it.
func shutdown(srv *tether.Server, timeout time.Duration) shutdownResult {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	err := srv.Shutdown(ctx)
	r := shutdownResult{Duration: time.Since(start)}
	if err != nil {
		r.Err = err.Error()
	}
	return r
}

// parseLevel returns the slog level of a name.
func parseLevel(name string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(name)); err != nil {
		return 0, fmt.Errorf("soak: log level %q: %w", name, err)
	}
	return l, nil
}
