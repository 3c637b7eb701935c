package main

import (
	"fmt"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/tetherws/tether/test/bench/internal/proto"
)

// row is the median of a library's repetitions in one scenario.
type row struct {
	lib           string
	ok, runs      int
	na, err       string
	us, spread    float64 // server µs per message; half the range, relative
	rate          float64 // msgs/s
	p50, p99      float64 // µs
	allocs        float64
	wire          float64 // wire/plain
	ext           string
	conns         int
	rss, heapStk  float64 // bytes per connection
	stacks        float64 // of heapStk, goroutine stacks
	goroutinesPer float64
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func aggregate(lib string, rs []proto.Result) row {
	r := row{lib: lib, runs: len(rs)}
	var us, rate, p50, p99, allocs, wire, rss, hs, stk, gor, conns []float64
	for _, x := range rs {
		switch {
		case x.Err != "":
			r.err = x.Err
			continue
		case x.NA != "":
			r.na = x.NA
			continue
		}
		if x.Scenario == "idle" {
			rss = append(rss, x.RSSPerConn)
			hs = append(hs, x.HeapStackPerConn)
			stk = append(stk, x.StackPerConn)
			gor = append(gor, x.GoroutinesPerConn)
			conns = append(conns, float64(x.Conns))
			r.ok++
			continue
		}
		if x.Msgs == 0 {
			r.err = "no messages in the window"
			continue
		}
		r.ok++
		m := float64(x.Msgs)
		us = append(us, float64(x.CPUMicros)/m)
		rate = append(rate, m/x.Seconds)
		p50 = append(p50, x.P50Micros)
		p99 = append(p99, x.P99Micros)
		allocs = append(allocs, float64(x.Mallocs)/m)
		if x.PlainBytes > 0 {
			wire = append(wire, float64(x.WireBytes)/float64(x.PlainBytes))
		}
		if x.Extension != "" {
			r.ext = x.Extension
		}
	}
	r.us, r.rate, r.p50, r.p99, r.allocs, r.wire = median(us), median(rate), median(p50), median(p99), median(allocs), median(wire)
	r.rss, r.heapStk, r.stacks, r.goroutinesPer = median(rss), median(hs), median(stk), median(gor)
	if len(conns) > 0 {
		r.conns = int(median(conns))
	}
	if len(us) > 1 {
		r.spread = (slices.Max(us) - slices.Min(us)) / 2 / r.us
	}
	return r
}

// column is one figure of the table: how to read it from a row, whether
// lower is better, and how to print it.
type column struct {
	get   func(row) float64
	lower bool
	fmt   func(float64) string
	// floor: below it a figure counts as zero, and no ratio is taken.
	floor float64
}

var throughputCols = []column{
	{func(r row) float64 { return r.us }, true, func(v float64) string { return fmt.Sprintf("%.2f", v) }, 0},
	{func(r row) float64 { return r.rate }, false, func(v float64) string { return thousands(v) }, 0},
	{func(r row) float64 { return r.p50 }, true, dur, 0},
	{func(r row) float64 { return r.p99 }, true, dur, 0},
	{func(r row) float64 { return r.allocs }, true, func(v float64) string { return fmt.Sprintf("%.2f", v) }, 0.05},
}

var idleCols = []column{
	{func(r row) float64 { return r.heapStk }, true, kib, 0},
	{func(r row) float64 { return r.stacks }, true, kib, 0},
	{func(r row) float64 { return r.rss }, true, kib, 0},
	{func(r row) float64 { return r.goroutinesPer }, true, func(v float64) string { return fmt.Sprintf("%.1f", v) }, 0},
}

func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func dur(us float64) string {
	switch {
	case us >= 1e6:
		return fmt.Sprintf("%.2f s", us/1e6)
	case us >= 1e3:
		return fmt.Sprintf("%.2f ms", us/1e3)
	}
	return fmt.Sprintf("%.0f µs", us)
}

func kib(b float64) string {
	if math.IsNaN(b) {
		return "n/a"
	}
	return fmt.Sprintf("%.1f KiB", b/1024)
}

func ratio(a, b, floor float64) string {
	if math.IsNaN(a) || math.IsNaN(b) {
		return "n/a"
	}
	if b < floor {
		if a < floor {
			return "≈0 / ≈0"
		}
		return "n/a (÷≈0)"
	}
	if b == 0 {
		if a == 0 {
			return "1.00"
		}
		return "∞ (0)"
	}
	return fmt.Sprintf("%.2f", a/b)
}

// notes are the remarks of a row: negotiated compression, missing UTF-8
// checks, spread and failures.
func notes(sc string, r row) string {
	var n []string
	if strings.HasPrefix(sc, "deflate") && r.ext != "" {
		e := "ctx"
		if strings.Contains(r.ext, "server_no_context_takeover") {
			e = "nctx"
		}
		if i := strings.Index(r.ext, "server_max_window_bits="); i >= 0 {
			e += ", window 2^" + strings.TrimRight(strings.Fields(r.ext[i+len("server_max_window_bits="):] + " ")[0], ";")
		}
		if !math.IsNaN(r.wire) {
			n = append(n, fmt.Sprintf("wire/plain %.3f", r.wire))
		}
		n = append(n, e)
	}
	switch {
	case r.lib == "gorilla" || r.lib == "coder":
		n = append(n, "no UTF-8 check")
	case r.lib == "gobwas" && strings.HasPrefix(sc, "deflate"):
		n = append(n, "no UTF-8 check", "flate level 9")
	}
	if r.spread > 0.1 {
		n = append(n, fmt.Sprintf("µs/msg spread ±%.0f%%", 100*r.spread))
	}
	if r.ok < r.runs && r.ok > 0 {
		n = append(n, fmt.Sprintf("%d of %d runs failed: %s", r.runs-r.ok, r.runs, r.err))
	}
	return strings.Join(n, "; ")
}

func render(scs []scenario, libs []string, results map[string]map[string][]proto.Result, scaled []scaleResult, env environment) string {
	var b strings.Builder
	cmd := *command
	if cmd == "" {
		cmd = "cd test/bench && go run ./cmd/benchrun " + strings.Join(os.Args[1:], " ")
	}
	runs := fmt.Sprintf("%d repetition(s), %s warm-up + %s window per run", *reps, *warmup, *duration)
	if len(scs) == 1 && scs[0].name == "scale" {
		runs = "one run per library"
	}
	fmt.Fprintf(&b, "Date: %s. Command: `%s` (%s; %s in all).\n\n",
		env.date.UTC().Format("2006-01-02 15:04 UTC"), cmd, runs, env.elapsed.Round(1e9))
	fmt.Fprintf(&b, "Machine: %s CPUs, %s, Linux %s, %s. Load average before %s, after %s", env.cpus, env.cpuModel, env.kernel, env.goVersion, env.loadBefore, env.loadAfter)
	fmt.Fprintf(&b, " (a shared machine: other processes ran alongside; the server CPU time per message is the stable figure, msgs/s and latency are not).\n\n")
	pin := "server on CPU 0, client on CPU 1 (taskset)"
	if *noPin {
		pin = "not pinned"
	}
	fmt.Fprintf(&b, "Setup: %s, GOMAXPROCS=1 each; libraries interleaved within each scenario; medians of the repetitions. tether: %s. Peers: %s.\n\n",
		pin, env.tether, strings.Join(env.versions, ", "))

	var idle *scenario
	header := false
	for i := range scs {
		sc := scs[i]
		if sc.name == "idle" {
			idle = &scs[i]
			continue
		}
		if sc.name == "scale" {
			continue
		}
		if !header {
			b.WriteString("| scenario | lib | server µs/msg | msgs/s | p50 | p99 | allocs/msg | notes |\n")
			b.WriteString("|---|---|---:|---:|---:|---:|---:|---|\n")
			header = true
		}
		rows := rowsOf(sc.name, libsOf(sc, libs), results)
		for _, r := range rows {
			fmt.Fprintf(&b, "| %s | %s |", sc.name, r.lib)
			if r.ok == 0 {
				why := r.na
				if why == "" {
					why = "ERROR: " + r.err
				}
				fmt.Fprintf(&b, " n/a | | | | | %s |\n", strings.ReplaceAll(why, "|", "/"))
				continue
			}
			for _, c := range throughputCols {
				fmt.Fprintf(&b, " %s |", c.fmt(c.get(r)))
			}
			fmt.Fprintf(&b, " %s |\n", notes(sc.name, r))
		}
		ratioRows(&b, sc.name, rows, throughputCols, 5)
	}
	if idle != nil {
		rows := rowsOf(idle.name, libs, results)
		conns := 0
		for _, r := range rows {
			conns = max(conns, r.conns)
		}
		fmt.Fprintf(&b, "\nIdle connections: %d connections, each after one 1 KiB echo, then idle; per connection, after a GC (RSS after debug.FreeOSMemory).\n\n", conns)
		b.WriteString("| scenario | lib | conns | heap+stack / conn | of which stacks | RSS / conn | goroutines / conn |\n|---|---|---:|---:|---:|---:|---:|\n")
		for _, r := range rows {
			fmt.Fprintf(&b, "| idle | %s |", r.lib)
			if r.ok == 0 {
				why := r.na
				if why == "" {
					why = "ERROR: " + r.err
				}
				fmt.Fprintf(&b, " n/a | %s | | | |\n", strings.ReplaceAll(why, "|", "/"))
				continue
			}
			fmt.Fprintf(&b, " %d |", r.conns)
			for _, c := range idleCols {
				fmt.Fprintf(&b, " %s |", c.fmt(c.get(r)))
			}
			b.WriteString("\n")
		}
		ratioRows(&b, "idle", rows, idleCols, 0)
	}
	renderScale(&b, scaled)
	b.WriteString(legend)
	return b.String()
}

func rowsOf(sc string, libs []string, results map[string]map[string][]proto.Result) []row {
	var rows []row
	for _, lib := range libs {
		rows = append(rows, aggregate(lib, results[sc][lib]))
	}
	return rows
}

// bestOf returns the peer with the best figure get: the lowest when lower
// is set, else the highest; a peer without a figure (NaN) never wins.
func bestOf[T any](peers []T, get func(T) float64, lower bool) T {
	best := peers[0]
	for _, p := range peers[1:] {
		v, bv := get(p), get(best)
		if math.IsNaN(bv) || (lower && v < bv) || (!lower && v > bv) {
			best = p
		}
	}
	return best
}

// bestRow appends the row of name (t) / best peer, column by column.
func bestRow(b *strings.Builder, sc, name, lead string, t *row, peers []row, cols []column, trailing int) {
	fmt.Fprintf(b, "| %s | **%s / best peer** |%s", sc, name, lead)
	for _, c := range cols {
		if t == nil || len(peers) == 0 {
			b.WriteString(" n/a |")
			continue
		}
		best := bestOf(peers, c.get, c.lower)
		fmt.Fprintf(b, " %s (%s) |", ratio(c.get(*t), c.get(best), c.floor), best.lib)
	}
	if trailing > 0 {
		b.WriteString(" lower is better, except msgs/s |")
	}
	b.WriteString("\n")
}

// ratioRows appends tether / best peer and tether / raw for each column.
// pad is the number of empty cells before the figures (idle has one: conns).
func ratioRows(b *strings.Builder, sc string, rows []row, cols []column, trailing int) {
	var tether, release, raw *row
	var peers []row
	for i := range rows {
		switch {
		case rows[i].ok == 0:
		case rows[i].lib == "tether":
			tether = &rows[i]
		case rows[i].lib == proto.TetherRelease:
			release = &rows[i]
		case rows[i].lib == "raw":
			raw = &rows[i]
		default:
			peers = append(peers, rows[i])
		}
	}
	lead := ""
	if trailing == 0 {
		lead = " |" // the conns column
	}
	bestRow(b, sc, "tether", lead, tether, peers, cols, trailing)
	if release != nil {
		bestRow(b, sc, proto.TetherRelease, lead, release, peers, cols, trailing)
	}
	fmt.Fprintf(b, "| %s | **tether / raw** |%s", sc, lead)
	for _, c := range cols {
		if tether == nil || raw == nil {
			b.WriteString(" n/a |")
			continue
		}
		fmt.Fprintf(b, " %s |", ratio(c.get(*tether), c.get(*raw), c.floor))
	}
	if trailing > 0 {
		b.WriteString(" |")
	}
	b.WriteString("\n")
}

const legend = `
How to read it:
- **server µs/msg**: the server process's CPU time (utime+stime, from getrusage at µs resolution; /proc/<pid>/stat is read alongside as a cross-check) over the measurement window, divided by the messages echoed in it — for broadcast, by the messages delivered (one broadcast to N clients = N). It includes the kernel's share of the socket work.
- **msgs/s**, **p50**, **p99**: measured by the client. Echo and deflate: 16 connections, each a closed loop (send one message, read the echo, compare every byte), p50/p99 of one round trip. Broadcast: 1,000 clients, one 256 B message sent by client 0 and delivered by the server to all of them, one round at a time; p50/p99 of a round, msgs/s counts deliveries.
- **allocs/msg**: the server's runtime.MemStats.Mallocs over the window, divided like µs/msg.
- **tether / best peer**: tether's figure divided by the best peer's (raw excluded; named in parentheses), column by column; below 1 is better for every column but msgs/s; **tether-release / best peer** likewise for the releasing echo. **tether / raw**: the same against the raw TCP echo.
- The load client is one program for every server: its own minimal WebSocket client (masked frames, one buffer per direction), or the raw length-prefixed protocol. Text messages (ASCII text; a JSON corpus for deflate); every echoed byte is compared.
- Servers, each as its library's documentation shows: **tether** runtime.Server with the README's Quick Start handler verbatim (range over Messages, SendMessage: received text is not validated twice; no Message.Release, so every message's memory is left to the garbage collector), broadcast with runtime.Broadcast (defaults: UTF-8 validation, keepalive pings); **tether-release** (echo scenarios only, not a peer) the same handler with Message.Release after each send, the documented way to hand a message's memory back; **gorilla** examples/echo (ReadMessage/WriteMessage), broadcast with PreparedMessage; **coder** Accept + its own echo loop (Reader, Writer, io.CopyBuffer with a pooled 32 KiB buffer), broadcast with Write; **gobwas** UpgradeHTTP + wsutil.ReadClientData/WriteServerMessage (README), deflate with the README's wsflate+wsutil loop; **gws** the README's "Best Practice" (Upgrader on net/http, ReadLoop goroutine) with CheckUtf8Enabled, ParallelEnabled off (it reorders one connection's messages), broadcast with Broadcaster; **raw** length-prefixed TCP echo (4-byte length, 16 KiB read buffer, one write per message). Read limit 1 MiB everywhere.
- UTF-8: tether, gws and gobwas (helpers) validate text messages; gorilla and coder do not validate, nor does gobwas's wsflate loop.
- deflate: a corpus of 256 JSON messages (order updates, chat lines, presence, tickers; 150 B – 4 KiB), compressed by the client too. **nctx** offers ` + "`permessage-deflate; client_no_context_takeover; server_no_context_takeover`" + ` (the one negotiation every library supports); **ctx** offers what a browser offers, ` + "`permessage-deflate; client_max_window_bits`" + `, and counts only servers that keep the context (gorilla and gobwas answer no-context-takeover: n/a). wire/plain is server→client payload bytes on the wire over the plain bytes. Library defaults otherwise: gorilla level 1, coder BestSpeed (threshold 512 B nctx / 128 B ctx), gws level 1 (threshold 512 B nctx), gobwas stdlib flate level 9 (its README and DefaultHelper). tether: its defaults (level 5; window 2^12 both ways with context takeover; nctx when offered).
- Idle: heap+stack is HeapInuse+StackInuse after runtime.GC (stacks: StackInuse alone); RSS is VmRSS after debug.FreeOSMemory; both minus the same figures before the connections, divided by the connections.
- Scale (how it runs: the paragraph above its tables): each library's server is the program of the echo scenarios (tether: the same handler), run as several processes on one port because a process may hold at most 20,000 open files on this machine; the clients likewise. At one message a second per connection nothing batches: each message costs the server a wake-up of its own, so its µs/msg is far above the echo scenarios' and includes the scheduling of the server processes sharing CPU 0. tether pings each connection every 20 s (its keepalive default) and the client answers; gorilla and gws send nothing: that is tether's server CPU idle, and part of its active CPU; **µs/msg above idle** takes the idle CPU out (the server CPU of the window minus the idle share over the same time, per message). **tether / best peer** as above. Latency: on loopback a packet the kernel drops (its per-CPU input queue holds 1,000 packets; a busy machine fills it) waits for TCP's retransmission timeout, 200 ms or more; the notes give the machine's retransmits and drops in the window, and the client's CPU (near 100%, the latencies are the client's).
`

// benchmarksDoc wraps the table for BENCHMARKS.md.
func benchmarksDoc(md string) string {
	return `# Benchmarks

tether against the Go WebSocket libraries people use — gorilla/websocket,
coder/websocket, gobwas/ws, lxzan/gws — and against a raw TCP echo (the
physical limit), measured by the harness in ` + "`test/bench`" + ` (a separate Go
module, so the library never depends on its competitors). ` + "`make bench`" + `
regenerates this page; ` + "`make bench-quick`" + ` runs one short repetition for
iteration (results/latest.md only), ` + "`make bench-scale`" + ` the scale scenario
alone (50,000 connections per library). ` + "`cd test/bench && go run ./cmd/benchrun -profile tether`" + `
profiles tether's server in the 1 KiB echo.

## Latest results

` + md + `
## What bounds the gaps

The figures above move with the machine; these causes do not. Profiles:
` + "`cd test/bench && go run ./cmd/benchrun -profile tether`" + ` (1 KiB echo CPU and
allocations, idle heap).

- **Small echoes (16 B, 1 KiB).** About three quarters of the server's
  CPU is system calls (in the 1 KiB profile: writev 41%, read 28%,
  epoll_wait 12%), the same calls per message as gws: a read that has the
  message, a read that finds the socket drained, one write. What tether
  adds is the hand-off: a received message goes from the connection's
  reader goroutine to the handler through the Messages channel, two
  goroutine parks per message where gws calls its handler on its read
  loop (the scheduler's share, findRunnable, is 15% of the profile). The
  channel is tether's API; the send side costs no hand-off (a frame the
  socket takes is written by its sender).
- **The Quick Start keeps every message (16 KiB and up).** A received
  message's Data is the application's to keep, and the README's Quick
  Start never calls Message.Release, so each message is memory for the
  garbage collector: at 16 KiB, 16 KiB of fresh memory per message, a
  collection every few MiB (the live heap is small) and the scavenger
  handing pages back to the kernel and faulting them in again (madvise
  and page faults in the 16 KiB profile). The tether-release row is the
  same server with Release after each send: the difference between the
  two rows is that cost, and nothing else. Messages of up to 16 KiB are
  carved from shared 64 KiB blocks, so below that size the Quick Start
  allocates a fraction of an object per message (0.03 at 1 KiB). gws's
  documented loop hands each message back (` + "`message.Close()`" + `).
- **256 KiB.** After the first read, the rest of the frame is read from
  the socket straight into the message buffer, unmasked and checked for
  UTF-8 in place, and written back with one vectored write: what tether
  adds to the raw echo is that one pass over the bytes.
- **Idle memory.** Each connection runs its reader, writer and keepalive
  goroutines under an errgroup, plus the application's handler: four
  goroutines, each a 2 KiB stack (an idle reader moves to a fresh one;
  the handler's inline write and the keepalive stay within theirs) and a
  descriptor of about 0.45 KiB on the heap, and three of them parked on a
  channel (a waiter record each): about 10 KiB before any state. The
  rest, from the idle heap profile: the connection (1 KiB), the Messages
  buffer (0.7 KiB: MaxQueue, 16, messages of 40 B), the protocol state
  (0.4 KiB), the socket (net's and rawio's, 0.6 KiB), the keepalive's
  timer and state (0.5 KiB), the handshake request and response kept as
  bytes (0.4 KiB). gws runs one goroutine per connection.
- **Busy connections.** A reader that is parsing needs more than its
  first 2 KiB of stack and keeps 4 KiB until it goes idle and moves; the
  Quick Start's messages wait for the next collection. Both are the
  difference between the idle and the busy RSS per connection.
- **Keepalive at scale.** tether pings every connection every 20 s by
  default (Python websockets' default) and reads the pong: at 50,000 idle
  connections, 2,500 pings a second, each a timer, a wake-up, a write and
  a read; that is the scale scenario's server CPU idle, which gorilla and
  gws, sending nothing, do not have.
- **deflate with context takeover.** tether's own window encoder (for
  windows under 2^15) loads a message's history by hashing it, without
  re-encoding it; a busy connection keeps its 32 KiB encoder between
  messages (at most compress.Options.BusyEncoders per compression
  factory, 256 by default) and hands it back when idle.
- **deflate without context takeover.** tether compresses every message
  (Options.Threshold 0) at level 5; gws sends messages under 512 B as
  they are and compresses the others at level 1: compare the wire/plain
  column with the CPU column.
`
}
