package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	goruntime "runtime"
	"runtime/debug"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// After the first signal, a second one kills the process at once.
	context.AfterFunc(ctx, stop)
	os.Exit(Main(ctx, os.Args[1:], stdio{in: os.Stdin, out: os.Stdout, err: os.Stderr}))
}

// stdio is a command's standard streams. A stream that is an *os.File on
// a terminal turns on the interactive behaviours (the prompt of connect,
// the live progress line of bench).
type stdio struct {
	in       io.Reader
	out, err io.Writer
}

// Exit statuses.
const (
	exitOK    = 0 // success; for connect, a clean close
	exitFail  = 1 // the connection or the run failed
	exitUsage = 2 // bad command line
)

// command is a subcommand: its name, its one-line summary for tether help,
// and its entry point, which returns the exit status.
type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, io stdio) int
}

// commands lists the subcommands in the order help shows them.
func commands() []command {
	return []command{
		{"connect", "talk to a WebSocket server: interactive on a terminal, a filter in a pipe", runConnect},
		{"serve", "run a WebSocket server: echo, broadcast, or a program per connection", runServe},
		{"bench", "load an echo server with many connections and measure latency", runBench},
		{"version", "print the version", runVersion},
		{"help", "show help for tether or one of its commands", runHelp},
	}
}

// Main runs the tether command line args (without the program name) and
// returns the exit status.
func Main(ctx context.Context, args []string, io stdio) int {
	if len(args) == 0 {
		fmt.Fprint(io.err, mainUsage())
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help":
		fmt.Fprint(io.out, mainUsage())
		return exitOK
	case "-version", "--version":
		return runVersion(ctx, nil, io)
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], io)
		}
	}
	fmt.Fprintf(io.err, "tether: unknown command %q\n\n%s", args[0], mainUsage())
	return exitUsage
}

// mainUsage is the text of tether help.
func mainUsage() string {
	var b strings.Builder
	b.WriteString(`tether - a WebSocket client, server and load generator

Usage:
  tether COMMAND [options] [arguments]

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %-9s %s\n", c.name, c.summary)
	}
	b.WriteString(`
Quick try:
  tether serve :9001 &
  tether connect ws://localhost:9001

Run "tether help COMMAND" or "tether COMMAND -h" for a command's options.
`)
	return b.String()
}

// runHelp is tether help [COMMAND].
func runHelp(ctx context.Context, args []string, io stdio) int {
	switch {
	case len(args) == 0:
		fmt.Fprint(io.out, mainUsage())
		return exitOK
	case len(args) > 1:
		fmt.Fprintln(io.err, "tether help: want at most one command")
		return exitUsage
	}
	for _, c := range commands() {
		if c.name == args[0] {
			if c.name == "help" {
				fmt.Fprint(io.out, mainUsage())
				return exitOK
			}
			return c.run(ctx, []string{"-h"}, io)
		}
	}
	fmt.Fprintf(io.err, "tether help: unknown command %q\n", args[0])
	return exitUsage
}

// version is set at link time (-ldflags "-X main.version=v1.2.3"); when
// empty, the module version that go install recorded is used.
var version string

// versionString returns the version line of tether version.
func versionString() string {
	v, rev := version, ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				rev = s.Value[:12]
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	s := "tether " + v
	if rev != "" {
		s += " " + rev
	}
	return s + " " + goruntime.Version() + " " + goruntime.GOOS + "/" + goruntime.GOARCH
}

// runVersion is tether version.
func runVersion(_ context.Context, args []string, io stdio) int {
	if len(args) > 0 {
		if args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
			fmt.Fprint(io.out, "Usage: tether version\n\nPrints the version of tether, the Go release that built it, and the platform.\n")
			return exitOK
		}
		fmt.Fprintln(io.err, "tether version: takes no arguments")
		return exitUsage
	}
	fmt.Fprintln(io.out, versionString())
	return exitOK
}
