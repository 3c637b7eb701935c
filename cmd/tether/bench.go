package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/tetherws/tether"
)

const benchHelp = `NAME
    tether bench - load an echo server and measure it

SYNOPSIS
    tether bench [options] URL

DESCRIPTION
    Opens --conns connections to URL, an echo server (such as tether serve
    --echo), and sends messages on each of them, checking that every reply
    is the message sent, byte for byte and in order. All connections are
    opened first (at most --dial-concurrency handshakes at once); the
    measurement starts when the last one is open and lasts --duration, or
    until each connection has had --count replies.

    Without --rate the load is a closed loop: each connection keeps
    --inflight messages on the way and sends the next one when a reply
    arrives. With --rate each connection sends that many messages per
    second whatever the replies, and latency is counted from the time a
    message was due, not from when it could be sent, so that a stalled
    server shows in the latency rather than hiding it.

    Messages are --size bytes of generated ASCII, unique per connection and
    sequence number, or the files of --corpus DIR in turn. While it runs,
    a progress line is redrawn on a terminal (standard error), or printed
    every --progress when standard error is not a terminal. At the end it
    prints messages per second, megabytes per second, the latency (p50,
    p90, p99, p99.9, max, from a histogram that keeps every value to within
    0.4% in bounded memory), the errors by kind and the close codes. Ctrl-C
    ends the run early and still reports.

    To open more connections than one source address has ports, or to keep
    a run clear of sockets left in TIME_WAIT by the one before, spread
    them over several local addresses with --local-addr (on Linux all of
    127.0.0.0/8 is the loopback). Each connection takes a file descriptor
    in tether bench and one in the server: run the server in another
    process when the open files limit is near.

OPTIONS
    -c, --conns N     connections (default 1)
    --size N          message size in bytes (default 64)
    --corpus DIR      send the files of DIR, in name order, instead of
                      generated messages
    --text            send text messages (default binary); a corpus must
                      then be UTF-8
    --rate R          messages per second per connection (default 0: a
                      closed loop)
    --inflight K      messages on the way per connection in a closed loop
                      (default 1)
    -d, --duration D  how long to send (default 10s)
    -n, --count N     replies per connection to wait for, instead of
                      --duration
    --dial-concurrency N
                      handshakes at once while opening (default 100)
    --local-addr LIST source addresses for the connections, in turn:
                      addresses and ranges such as
                      127.0.0.1-127.0.0.40, comma-separated or repeated
    --timeout D       how long a reply may take (default 10s): a message
                      still without a reply then counts as "no reply", and
                      its connection stops (later replies could not be
                      matched)
    --progress D      progress interval (default 1s; 0 turns it off)
    --json            print the result as one JSON object
    -H, --header 'Name: value', --subprotocol a,b, --origin URL,
    --proxy URL, --no-proxy, -k, --insecure, --no-compression,
    --open-timeout D  as for tether connect
    -h, --help        show this help

EXIT STATUS
    0  every message came back intact and every connection closed cleanly
    1  an error: a connection failed to open, a reply was missing or
       wrong, or a connection did not close cleanly
    2  bad command line

EXAMPLES
    tether serve --echo :9001 &
    tether bench -c 100 -d 10s ws://localhost:9001
    tether bench -c 10000 --rate 1 --no-compression \
        --local-addr 127.0.0.1-127.0.0.20 ws://localhost:9001
    tether bench -c 50 --corpus ./messages --text --json wss://example.com/echo
`

// benchConfig is the parsed command line of tether bench.
type benchConfig struct {
	url             string
	client          clientFlags
	conns           int
	size            int
	corpus          string
	text            bool
	rate            float64
	inflight        int
	duration        time.Duration
	count           int
	dialConcurrency int
	localAddrs      listFlag
	progress        time.Duration
	json            bool
	timeout         time.Duration
}

// parseBench parses tether bench's command line; ok is false when the
// command should exit with status code at once.
func parseBench(args []string, io stdio) (cfg benchConfig, code int, ok bool) {
	pos, err := parse(benchFlags(&cfg), benchHelp, args, io.out, io.err)
	if err != nil {
		return cfg, parseStatus(err), false
	}
	fail := func(format string, a ...any) (benchConfig, int, bool) {
		return cfg, usageError(io.err, "bench", format, a...), false
	}
	if len(pos) != 1 {
		return fail("want one URL, got %d arguments", len(pos))
	}
	cfg.url = pos[0]
	if err := cfg.client.check(); err != nil {
		return fail("%v", err)
	}
	switch {
	case cfg.conns < 1:
		return fail("--conns must be at least 1")
	case cfg.size < 0 || cfg.size > 64<<20:
		return fail("--size must be between 0 and 64 MiB")
	case cfg.rate < 0:
		return fail("--rate must not be negative")
	case cfg.inflight < 1:
		return fail("--inflight must be at least 1")
	case cfg.count < 0:
		return fail("--count must not be negative")
	case cfg.count == 0 && cfg.duration <= 0:
		return fail("--duration must be positive")
	case cfg.dialConcurrency < 1:
		return fail("--dial-concurrency must be at least 1")
	case cfg.progress < 0:
		return fail("--progress must not be negative")
	case cfg.timeout <= 0:
		return fail("--timeout must be positive")
	}
	return cfg, exitOK, true
}

// benchFlags returns the flags of tether bench, set in cfg.
func benchFlags(cfg *benchConfig) *flag.FlagSet {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	cfg.client.register(fs)
	fs.IntVar(&cfg.conns, "c", 1, "")
	fs.IntVar(&cfg.conns, "conns", 1, "")
	fs.IntVar(&cfg.size, "size", 64, "")
	fs.StringVar(&cfg.corpus, "corpus", "", "")
	fs.BoolVar(&cfg.text, "text", false, "")
	fs.Float64Var(&cfg.rate, "rate", 0, "")
	fs.IntVar(&cfg.inflight, "inflight", 1, "")
	fs.DurationVar(&cfg.duration, "d", 10*time.Second, "")
	fs.DurationVar(&cfg.duration, "duration", 10*time.Second, "")
	fs.IntVar(&cfg.count, "n", 0, "")
	fs.IntVar(&cfg.count, "count", 0, "")
	fs.IntVar(&cfg.dialConcurrency, "dial-concurrency", 100, "")
	fs.Var(&cfg.localAddrs, "local-addr", "")
	fs.DurationVar(&cfg.progress, "progress", time.Second, "")
	fs.BoolVar(&cfg.json, "json", false, "")
	fs.DurationVar(&cfg.timeout, "timeout", 10*time.Second, "")
	return fs
}

// runBench is tether bench.
func runBench(ctx context.Context, args []string, io stdio) int {
	cfg, code, ok := parseBench(args, io)
	if !ok {
		return code
	}
	msgs, err := loadMessages(cfg)
	if err != nil {
		fmt.Fprintf(io.err, "tether bench: %v\n", err)
		return exitFail
	}
	addrs, err := parseLocalAddrs(cfg.localAddrs)
	if err != nil {
		return usageError(io.err, "bench", "%v", err)
	}
	res := bench(ctx, cfg, msgs, addrs, io)
	if cfg.json {
		res.writeJSON(io.out)
	} else {
		res.writeText(io.out)
	}
	if res.failed() {
		return exitFail
	}
	return exitOK
}

// loadMessages reads the corpus of --corpus, sorted by file name; it
// returns nil for generated messages.
func loadMessages(cfg benchConfig) ([][]byte, error) {
	if cfg.corpus == "" {
		return nil, nil
	}
	entries, err := os.ReadDir(cfg.corpus)
	if err != nil {
		return nil, fmt.Errorf("--corpus: %w", err)
	}
	var msgs [][]byte
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(cfg.corpus, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("--corpus: %w", err)
		}
		if cfg.text && !utf8.Valid(b) {
			return nil, fmt.Errorf("--corpus: %s is not UTF-8 and --text is set", e.Name())
		}
		msgs = append(msgs, b)
	}
	if len(msgs) == 0 {
		return nil, fmt.Errorf("--corpus: no regular file in %s", cfg.corpus)
	}
	return msgs, nil
}

// maxLocalAddrs bounds the addresses of --local-addr.
const maxLocalAddrs = 1 << 16

// parseLocalAddrs expands --local-addr: addresses and first-last ranges.
func parseLocalAddrs(list []string) ([]net.IP, error) {
	var ips []net.IP
	for _, item := range list {
		first, last, isRange := strings.Cut(item, "-")
		a, err := netip.ParseAddr(strings.TrimSpace(first))
		if err != nil {
			return nil, fmt.Errorf("--local-addr %q: %w", item, err)
		}
		b := a
		if isRange {
			if b, err = netip.ParseAddr(strings.TrimSpace(last)); err != nil {
				return nil, fmt.Errorf("--local-addr %q: %w", item, err)
			}
			if a.BitLen() != b.BitLen() || b.Less(a) {
				return nil, fmt.Errorf("--local-addr %q: not a range from low to high of one family", item)
			}
		}
		for ip := a; ; ip = ip.Next() {
			if len(ips) == maxLocalAddrs {
				return nil, fmt.Errorf("--local-addr: more than %d addresses", maxLocalAddrs)
			}
			ips = append(ips, net.IP(ip.AsSlice()))
			if ip == b {
				break
			}
		}
	}
	return slices.Clip(ips), nil
}

// bench runs the load and returns its result.
func bench(ctx context.Context, cfg benchConfig, msgs [][]byte, addrs []net.IP, io stdio) *result {
	r := newRun(cfg, msgs)
	prog := newProgress(r, io.err, cfg.progress)
	defer prog.stop()

	// Open every connection, at most dialConcurrency at once; each worker
	// then waits for the start.
	sem := make(chan struct{}, cfg.dialConcurrency)
	var dials, workers sync.WaitGroup
	dialStart := time.Now()
	for id := range cfg.conns {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			r.dialFailed(context.Cause(ctx))
			continue
		}
		o := cfg.client.dialOptions()
		o.MaxQueue = r.maxPending
		if len(addrs) > 0 {
			d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: addrs[id%len(addrs)]}}
			o.DialContext = d.DialContext
		}
		dials.Add(1)
		workers.Go(func() {
			conn, _, err := tether.Dial(ctx, cfg.url, o)
			<-sem
			dials.Done()
			if err != nil {
				r.dialFailed(err)
				return
			}
			r.opened.Add(1)
			(&worker{id: id, r: r, conn: conn}).run()
		})
	}
	dials.Wait()
	r.dialTime = time.Since(dialStart)
	r.begin()
	stopWatch := r.watch()
	defer stopWatch()
	stop := context.AfterFunc(ctx, r.end)
	defer stop()
	if cfg.count == 0 {
		t := time.AfterFunc(cfg.duration, r.end)
		defer t.Stop()
	}
	workers.Wait()
	r.end()
	prog.stop()
	return r.result()
}
