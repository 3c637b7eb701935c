package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/tetherws/tether"
)

// headerFlag collects repeated -H 'Name: value' flags.
type headerFlag struct{ h http.Header }

func (f *headerFlag) String() string { return "" }

func (f *headerFlag) Set(s string) error {
	name, value, ok := strings.Cut(s, ":")
	name = strings.TrimSpace(name)
	if !ok || name == "" || strings.ContainsAny(name, " \t") {
		return fmt.Errorf("want 'Name: value', got %q", s)
	}
	if f.h == nil {
		f.h = http.Header{}
	}
	f.h.Add(name, strings.TrimSpace(value))
	return nil
}

// listFlag collects a repeatable flag whose values may also be
// comma-separated lists.
type listFlag []string

func (f *listFlag) String() string { return strings.Join(*f, ",") }

func (f *listFlag) Set(s string) error {
	for v := range strings.SplitSeq(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*f = append(*f, v)
		}
	}
	return nil
}

// clientFlags are the dialing flags that connect and bench share.
type clientFlags struct {
	header        headerFlag
	subprotocols  listFlag
	origin        string
	proxy         string
	noProxy       bool
	insecure      bool
	noCompression bool
	openTimeout   time.Duration
}

// register adds the client flags to fs.
func (c *clientFlags) register(fs *flag.FlagSet) {
	fs.Var(&c.header, "H", "")
	fs.Var(&c.header, "header", "")
	fs.Var(&c.subprotocols, "subprotocol", "")
	fs.StringVar(&c.origin, "origin", "", "")
	fs.StringVar(&c.proxy, "proxy", "", "")
	fs.BoolVar(&c.noProxy, "no-proxy", false, "")
	fs.BoolVar(&c.insecure, "k", false, "")
	fs.BoolVar(&c.insecure, "insecure", false, "")
	fs.BoolVar(&c.noCompression, "no-compression", false, "")
	fs.DurationVar(&c.openTimeout, "open-timeout", tether.DefaultOpenTimeout, "")
}

// check validates the client flags.
func (c *clientFlags) check() error {
	if c.proxy != "" && c.noProxy {
		return errors.New("--proxy and --no-proxy exclude each other")
	}
	if c.openTimeout <= 0 {
		return errors.New("--open-timeout must be positive")
	}
	return nil
}

// dialOptions turns the client flags into tether.DialOptions.
func (c *clientFlags) dialOptions() *tether.DialOptions {
	o := &tether.DialOptions{
		Origin:       c.origin,
		Subprotocols: c.subprotocols,
		Header:       c.header.h,
	}
	o.OpenTimeout = c.openTimeout
	o.DisableCompression = c.noCompression
	if c.insecure {
		o.TLSConfig = &tls.Config{InsecureSkipVerify: true}
	}
	switch {
	case c.noProxy:
		o.Proxy = tether.ProxyDirect
	case c.proxy != "":
		o.Proxy = tether.ProxyURL(c.proxy)
	}
	return o
}

// errHelp is returned by parse when the command line asked for help, which
// parse has printed.
var errHelp = flag.ErrHelp

// parse parses args with fs, letting flags follow the arguments
// ("tether connect URL -H 'A: b'"); "--" ends the flags. It returns the
// arguments. On -h it prints help to stdout and returns errHelp; on an
// error it prints the error and a hint to stderr.
func parse(fs *flag.FlagSet, help string, args []string, out, errw io.Writer) ([]string, error) {
	fs.SetOutput(errw)
	fs.Usage = func() {}
	var pos []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(out, help)
			return nil, errHelp
		}
		if err != nil {
			fmt.Fprintf(errw, "Run 'tether %s -h' for help.\n", fs.Name())
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// usageError prints a command line error with a hint and returns the
// usage exit status.
func usageError(w io.Writer, cmd string, format string, a ...any) int {
	fmt.Fprintf(w, "tether %s: %s\nRun 'tether %s -h' for help.\n", cmd, fmt.Sprintf(format, a...), cmd)
	return exitUsage
}

// parseStatus turns parse's error into the exit status.
func parseStatus(err error) int {
	if errors.Is(err, errHelp) {
		return exitOK
	}
	return exitUsage
}
