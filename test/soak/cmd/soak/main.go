package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/tetherws/tether/test/soak"
)

func main() {
	if config, ok := os.LookupEnv(soak.ServerEnv); ok {
		if err := soak.ServeChild(config, os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	var c soak.Config
	noCompression := false
	flag.IntVar(&c.Conns, "conns", soak.DefaultConns, "client connections")
	flag.IntVar(&c.Messages, "messages", soak.DefaultMessages, "messages per connection in the steady phase")
	flag.IntVar(&c.Window, "window", soak.DefaultWindow, "messages in flight per connection")
	flag.IntVar(&c.Size, "size", soak.DefaultSize, fmt.Sprintf("message size in bytes (at least %d)", soak.HeaderSize))
	flag.BoolFunc("compression", "permessage-deflate on both sides: true (default) or false", func(s string) error {
		switch s {
		case "true", "on", "1":
			noCompression = false
		case "false", "off", "0":
			noCompression = true
		default:
			return fmt.Errorf("want true or false, not %q", s)
		}
		return nil
	})
	flag.DurationVar(&c.Duration, "duration", soak.DefaultDuration, "cap on the connect and steady phases (past it the run fails)")
	flag.DurationVar(&c.PingInterval, "ping-interval", 0, "keepalive interval on both sides (0: the library's default, 20s; negative, such as -1s: off)")
	flag.DurationVar(&c.PingTimeout, "ping-timeout", 0, "keepalive timeout on both sides (0: the library's default, 20s)")
	flag.IntVar(&c.Sources, "sources", soak.DefaultSources, "loopback addresses the clients dial from (127.0.0.2 and up)")
	flag.IntVar(&c.Dialers, "dialers", soak.DefaultDialers, "connections opened at once")
	flag.DurationVar(&c.ShutdownAfter, "shutdown-after", soak.DefaultShutdownAfter, "pipelining time before Server.Shutdown")
	flag.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", soak.DefaultShutdownTimeout, "bound on Server.Shutdown, and on the clients' end after it")
	flag.DurationVar(&c.StallAfter, "stall-after", soak.DefaultStallAfter, "report a connection with messages in flight and no echo for this long (negative: never)")
	flag.StringVar(&c.StallDump, "stall-dump", "", "directory where the first stall writes the client process's goroutines (pprof debug=2)")
	flag.DurationVar(&c.ProgressInterval, "progress", 5*time.Second, "interval of the progress lines on the standard error (negative: none)")
	flag.StringVar(&c.LogLevel, "log", "warn", "the server's log level (debug, info, warn, error)")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "soak: unexpected arguments %q\n", flag.Args())
		os.Exit(2)
	}
	c.NoCompression = noCompression
	if c.ProgressInterval >= 0 {
		c.Progress = os.Stderr
	}
	rep, err := soak.Run(c)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	rep.WriteText(os.Stdout)
	fmt.Printf("%s\n", rep.JSON())
	if !rep.Pass {
		os.Exit(1)
	}
}
