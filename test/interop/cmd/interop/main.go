package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/tetherws/tether/runtime"
	"github.com/tetherws/tether/ws"
)

type config struct {
	dir, node, python, chromium string
	verbose                     bool
}

func main() {
	var cfg config
	peers := flag.String("peers", "node,python,chromium", "comma-separated peers to run")
	flag.StringVar(&cfg.dir, "dir", "test/interop", "directory of the peer scripts")
	flag.StringVar(&cfg.node, "node", "node", "Node.js executable")
	flag.StringVar(&cfg.python, "python", "/usr/bin/python3", "Python with Debian's python3-websockets")
	flag.StringVar(&cfg.chromium, "chromium", "/usr/bin/chromium", "Chromium executable")
	flag.BoolVar(&cfg.verbose, "v", false, "echo the peers' output to stderr")
	timeout := flag.Duration("timeout", 7*time.Minute, "bound on the whole run")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	start := time.Now()
	results, notes, err := run(ctx, cfg, strings.Split(*peers, ","))
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		os.Exit(2)
	}
	for _, n := range notes {
		fmt.Println(n)
	}
	fmt.Println()
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PEER\tDIRECTION\tCHECK\tRESULT\tDETAIL")
	passed, failed := 0, 0
	for _, r := range results {
		verdict := "PASS"
		if r.OK {
			passed++
		} else {
			verdict = "FAIL"
			failed++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Peer, r.Direction, r.Check, verdict, oneLine(r.Detail, 600))
	}
	_ = tw.Flush()
	fmt.Printf("\ninterop run took %v\n", time.Since(start).Round(100*time.Millisecond))
	fmt.Printf("%d passed, %d failed\n", passed, failed)
	if failed > 0 {
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config, peers []string) (results []result, notes []string, err error) {
	ts, err := startTetherServer(cfg.dir)
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
		defer cancel()
		if serr := ts.shutdown(sctx); serr != nil {
			notes = append(notes, "tether server shutdown: "+serr.Error())
		}
	}()
	wired, note := probeCompression(ctx, ts)
	notes = append(notes, "tether server: "+ts.page, note)

	nodeModules := filepath.Join(cfg.dir, "node", "node_modules")
	for _, peer := range peers {
		switch peer {
		case "node":
			results = append(results, runPeerClient(ctx, cfg, "node-ws", ts, wired, true, nil,
				cfg.node, filepath.Join(cfg.dir, "node", "client.js"), ts.base)...)
			rs, n := runPeerServer(ctx, cfg, "node-ws", wired, true, cfg.node, filepath.Join(cfg.dir, "node", "server.js"))
			results, notes = append(results, rs...), append(notes, n)
		case "python":
			results = append(results, runPeerClient(ctx, cfg, "python-websockets", ts, wired, true, nil,
				cfg.python, filepath.Join(cfg.dir, "python", "client.py"), ts.base)...)
			rs, n := runPeerServer(ctx, cfg, "python-websockets", wired, true, cfg.python, filepath.Join(cfg.dir, "python", "server.py"))
			results, notes = append(results, rs...), append(notes, n)
		case "chromium":
			results = append(results, runPeerClient(ctx, cfg, "chromium", ts, wired, false,
				[]string{"NODE_PATH=" + nodeModules},
				cfg.node, filepath.Join(cfg.dir, "browser", "driver.js"), ts.page, cfg.chromium)...)
		case "":
		default:
			return nil, nil, fmt.Errorf("unknown peer %q (want node, python, chromium)", peer)
		}
	}
	return results, notes, nil
}

// probeCompression tells whether tether negotiates permessage-deflate by
// default: tether's client against tether's server.
func probeCompression(ctx context.Context, ts *tetherServer) (bool, string) {
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, resp, err := runtime.Dial(pctx, ts.base+"/echo?id=probe-compression", dialOptions())
	if err != nil {
		return false, "tether compression probe: " + err.Error()
	}
	_ = c.Close(ws.CloseNormal, "")
	h := resp.Header.Get("Sec-WebSocket-Extensions")
	if strings.Contains(h, "permessage-deflate") {
		return true, fmt.Sprintf("tether compression: on by default (tether↔tether: %s)", h)
	}
	return false, fmt.Sprintf("tether compression: not wired yet (tether↔tether offered %q, answered %q)",
		resp.Request.Header.Get("Sec-WebSocket-Extensions"), h)
}

// runPeerServer starts a peer's server script and runs tether's client
// against it.
func runPeerServer(ctx context.Context, cfg config, peer string, wired, peerCanPing bool, argv ...string) ([]result, string) {
	pctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	srv, err := startPeerServer(pctx, peer+" server", cfg.verbose, nil, argv...)
	if err != nil {
		var out []result
		for _, name := range checkNames(peerCanPing) {
			out = append(out, result{Peer: peer, Direction: tetherToPeer, Check: name, Detail: err.Error()})
		}
		return out, peer + " server: " + err.Error()
	}
	s := &clientSuite{peer: peer, srv: srv, wired: wired}
	out := s.runAll(pctx, peerCanPing)
	note := fmt.Sprintf("%s server: %s (version %s)", peer, srv.url, srv.version)
	if err := srv.stop(); err != nil {
		note += "; exit: " + err.Error() + "; stderr: " + srv.stderr.tail(300)
	}
	return out, note
}

// runPeerClient runs a peer's client script against tether's server and
// joins each reported check with what tether's server saw.
func runPeerClient(ctx context.Context, cfg config, peer string, ts *tetherServer, wired, peerCanPing bool, env []string, argv ...string) []result {
	pctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	names := checkNames(peerCanPing)
	fail := func(detail string) []result {
		var out []result
		for _, name := range names {
			out = append(out, result{Peer: peer, Direction: peerToTether, Check: name, Detail: detail})
		}
		return out
	}
	p, err := startProc(pctx, peer+" client", cfg.verbose, env, argv...)
	if err != nil {
		return fail(err.Error())
	}
	got := make(map[string]line)
	var fatal string
	for l := range p.lines {
		switch {
		case l.Check != "":
			got[l.Check] = l
		case l.Event == "fatal":
			fatal = l.Detail
		}
	}
	_ = p.stop()
	var out []result
	for _, name := range names {
		l, ok := got[name]
		if !ok {
			out = append(out, result{Peer: peer, Direction: peerToTether, Check: name, Detail: p.failure(fatal)})
			continue
		}
		ok, detail := joinServerView(pctx, ts, wired, l)
		out = append(out, result{Peer: peer, Direction: peerToTether, Check: name, OK: ok, Detail: detail})
	}
	return out
}

// joinServerView adds tether's server side of a check to the peer's.
func joinServerView(ctx context.Context, ts *tetherServer, wired bool, l line) (bool, string) {
	if l.ID == "" {
		return l.OK, l.Detail
	}
	rec := ts.reg.get(l.ID)
	wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := rec.wait(wctx); err != nil {
		return false, l.Detail + "; tether: " + err.Error()
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	switch l.Check {
	case "deflate":
		ok, d := deflateVerdict(rec.respExt, wired, rec.reqExt)
		peerHeader := ""
		if l.Header != nil {
			peerHeader = *l.Header
		}
		// Peers report the agreed extensions their own way (ws: names
		// only), so the peer's view is shown, and judged by the peer.
		d += fmt.Sprintf("; peer reports %q", peerHeader)
		if !ok || !l.OK {
			d += "; peer: " + l.Detail
		}
		return ok && l.OK, d
	case "close/peer-initiated":
		cs := rec.close
		ok := cs != nil && cs.Rcvd != nil && cs.Rcvd.Code == closePeerCode && cs.Rcvd.Reason == closePeerReason
		if cs == nil {
			return false, l.Detail + "; tether: no close status"
		}
		return ok && l.OK, fmt.Sprintf("%s; tether received %s, sent %s", l.Detail, closeFrame(cs.Rcvd), closeFrame(cs.Sent))
	case "close/tether-initiated":
		cs := rec.close
		if cs == nil {
			return false, l.Detail + "; tether: no close status"
		}
		ok := cs.Sent != nil && cs.Sent.Code == closeTetherCode && cs.Sent.Reason == closeTetherReason && cs.Rcvd != nil
		return ok && l.OK, fmt.Sprintf("tether sent %s; %s; tether got back %s", closeFrame(cs.Sent), l.Detail, closeFrame(cs.Rcvd))
	case "origin/rejected":
		return l.OK && rec.status == 403, fmt.Sprintf("%s; tether answered HTTP %d", l.Detail, rec.status)
	}
	return l.OK, l.Detail
}

// oneLine folds whitespace (a peer's stack trace) into single spaces and
// cuts s to at most n bytes, so that each check stays one row.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = strings.ToValidUTF8(s[:n], "") + "…"
	}
	return s
}
