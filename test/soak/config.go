package soak

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"

	tether "github.com/tetherws/tether"
)

// Config sizes a run. The zero value of a field gives its default.
type Config struct {
	// Conns is the number of client connections. Default 10,000.
	Conns int
	// Messages is the number of messages each connection sends in the
	// steady phase. Default 100.
	Messages int
	// Window is the number of messages each connection keeps in flight
	// (sent, echo not yet received). Default 8.
	Window int
	// Size is the size of each message in bytes, at least HeaderSize.
	// Default 128.
	Size int
	// NoCompression turns permessage-deflate off on both sides (it is
	// negotiated by default).
	NoCompression bool
	// Duration caps the connect and steady phases together: past it the
	// run goes on to Shutdown and fails. Default 10 minutes.
	Duration time.Duration
	// PingInterval and PingTimeout set keepalive on both sides. Zero
	// leaves the library's default (20 s each); negative turns it off.
	PingInterval, PingTimeout time.Duration
	// Sources is the number of loopback addresses the clients dial from
	// (127.0.0.2 and up), each with its own range of ephemeral ports.
	// Default 4; at most 250.
	Sources int
	// Dialers is the number of connections opened at once. Default 64.
	Dialers int
	// ShutdownAfter is how long every client pipelines before the server
	// shuts down (counted once every client has filled its window).
	// Default 1 s; negative: at once.
	ShutdownAfter time.Duration
	// ShutdownTimeout bounds Server.Shutdown (its context). Default 30 s.
	ShutdownTimeout time.Duration
	// StallAfter is the silence after which a connection with messages
	// in flight is reported as stalled, with the kernel's queues of its
	// sockets. Default 10 s; negative: no watch.
	StallAfter time.Duration
	// StallDump, if set, is a directory where the first stall found
	// writes the goroutines of the client process (pprof, debug=2) and
	// the Conn pointers of the stalled clients, to find their reader
	// goroutines in it.
	StallDump string

	// ServerCommand returns the command that runs the server process; the
	// run adds ServerEnv to its environment and uses its standard input
	// and output. Default: this executable, whose main must call
	// ServeChild when ServerEnv is set.
	ServerCommand func() *exec.Cmd
	// Progress, if set, receives a line of progress every
	// ProgressInterval (default 5 s).
	Progress         io.Writer
	ProgressInterval time.Duration
	// LogLevel is the server's log level ("debug", "info", "warn",
	// "error"). Default "warn". Logs go to the standard error.
	LogLevel string
}

// Defaults of Config.
const (
	DefaultConns           = 10000
	DefaultMessages        = 100
	DefaultWindow          = 8
	DefaultSize            = 128
	DefaultDuration        = 10 * time.Minute
	DefaultSources         = 4
	DefaultDialers         = 64
	DefaultShutdownAfter   = time.Second
	DefaultShutdownTimeout = 30 * time.Second
	DefaultStallAfter      = 10 * time.Second
)

// withDefaults returns c with every default applied, or an error for a
// value no run can use.
func (c Config) withDefaults() (Config, error) {
	setInt(&c.Conns, DefaultConns)
	setInt(&c.Messages, DefaultMessages)
	setInt(&c.Window, DefaultWindow)
	setInt(&c.Size, DefaultSize)
	setInt(&c.Sources, DefaultSources)
	setInt(&c.Dialers, DefaultDialers)
	var errs []error
	if c.Duration < 0 || c.ShutdownTimeout < 0 {
		errs = append(errs, errors.New("soak: the duration cap and the shutdown timeout must be positive"))
	}
	setDur(&c.Duration, DefaultDuration)
	setDur(&c.ShutdownAfter, DefaultShutdownAfter)
	setDur(&c.ShutdownTimeout, DefaultShutdownTimeout)
	setDur(&c.StallAfter, DefaultStallAfter)
	setDur(&c.ProgressInterval, 5*time.Second)
	if c.LogLevel == "" {
		c.LogLevel = "warn"
	}
	if c.ServerCommand == nil {
		c.ServerCommand = defaultServerCommand
	}
	if c.Conns < 0 || c.Messages < 0 || c.Window < 0 || c.Dialers < 0 {
		errs = append(errs, errors.New("soak: connections, messages, window and dialers must be positive"))
	}
	if c.Size < HeaderSize || c.Size > tether.DefaultMaxMessageSize {
		errs = append(errs, fmt.Errorf("soak: message size %d: want %d (the sequence header) to %d (the default message size limit)",
			c.Size, HeaderSize, tether.DefaultMaxMessageSize))
	}
	if c.Sources < 0 || c.Sources > 250 {
		errs = append(errs, fmt.Errorf("soak: %d source addresses: want 1 to 250", c.Sources))
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		errs = append(errs, err)
	}
	return c, errors.Join(errs...)
}

// setInt replaces a zero *p with def.
func setInt(p *int, def int) {
	if *p == 0 {
		*p = def
	}
}

// setDur replaces a zero *p with def and a negative one with zero.
func setDur(p *time.Duration, def time.Duration) {
	switch {
	case *p == 0:
		*p = def
	case *p < 0:
		*p = 0
	}
}

// defaultServerCommand runs this executable again.
func defaultServerCommand() *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	return exec.Command(exe)
}
