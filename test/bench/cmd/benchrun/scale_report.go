package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tetherws/tether/test/bench/internal/proto"
)

// scaleLibsOf returns the libraries of libs that run the scale scenario.
func scaleLibsOf(libs []string) []string {
	want := strings.Split(*scaleLibs, ",")
	var out []string
	for _, lib := range libs {
		if slices.Contains(want, lib) {
			out = append(out, lib)
		}
	}
	return out
}

// scaleSummary is the progress line of one library.
func scaleSummary(r scaleResult) string {
	var parts []string
	if r.openOK {
		parts = append(parts, fmt.Sprintf("%d conns in %.1f s (%s), %.1f KiB RSS/conn, %.1f goroutines/conn",
			r.Conns, r.OpenSeconds, spread(r.PerServer), r.RSSPerConn/1024, r.GoroutinesPerConn))
	}
	if r.activeOK {
		parts = append(parts, fmt.Sprintf("%d active: %.2f µs/msg, p99 %s", r.Active, r.usPerMsg(), dur(r.P99)))
	}
	if r.busyOK {
		parts = append(parts, fmt.Sprintf("busy %d: %.1f KiB RSS/conn", r.BusyConns, r.BusyRSSPerConn/1024))
	}
	if r.Err != "" {
		parts = append(parts, "ERROR "+r.Err)
	}
	if r.BusyErr != "" {
		parts = append(parts, "busy ERROR "+r.BusyErr)
	}
	return strings.Join(parts, "; ")
}

func (r scaleResult) usPerMsg() float64 { return float64(r.CPUMicros) / float64(r.Msgs) }

func (r scaleResult) busyUsPerMsg() float64 { return float64(r.BusyCPUMicros) / float64(r.BusyMsgs) }

// scaleCol is a column of a scale table: its heading, its cell, and the
// figure a ratio is taken of (nil: none).
type scaleCol struct {
	head  string
	cell  func(scaleResult) string
	get   func(scaleResult) float64
	lower bool
}

// scaleTable is one table of the scale section.
type scaleTable struct {
	name  string
	ok    func(scaleResult) bool
	why   func(scaleResult) string
	cols  []scaleCol
	notes func(scaleResult) string
}

func f2(v float64) string { return fmt.Sprintf("%.2f", v) }

var scaleTables = []scaleTable{
	{
		name: "scale idle",
		ok:   func(r scaleResult) bool { return r.idleStats },
		why:  func(r scaleResult) string { return r.Err },
		cols: []scaleCol{
			{"conns opened", func(r scaleResult) string { return thousands(float64(r.Conns)) }, nil, false},
			{"time to open", func(r scaleResult) string { return fmt.Sprintf("%.1f s", r.OpenSeconds) }, func(r scaleResult) float64 { return r.OpenSeconds }, true},
			{"conns per server process", func(r scaleResult) string { return spread(r.PerServer) }, nil, false},
			{"heap+stack / conn", func(r scaleResult) string { return kib(r.HeapStackPerConn) }, func(r scaleResult) float64 { return r.HeapStackPerConn }, true},
			{"RSS / conn", func(r scaleResult) string { return kib(r.RSSPerConn) }, func(r scaleResult) float64 { return r.RSSPerConn }, true},
			{"goroutines / conn", func(r scaleResult) string { return fmt.Sprintf("%.1f", r.GoroutinesPerConn) }, func(r scaleResult) float64 { return r.GoroutinesPerConn }, true},
			{"server CPU idle", func(r scaleResult) string { return fmt.Sprintf("%.1f%%", r.IdleCPU) }, nil, false},
		},
		notes: func(r scaleResult) string {
			if r.Conns < r.Wanted {
				return r.Err
			}
			return ""
		},
	},
	{
		name: "scale active",
		ok:   func(r scaleResult) bool { return r.activeOK },
		why:  func(r scaleResult) string { return r.Err },
		cols: []scaleCol{
			{"active conns", func(r scaleResult) string { return thousands(float64(r.Active)) }, nil, false},
			{"server µs/msg", func(r scaleResult) string { return f2(r.usPerMsg()) }, scaleResult.usPerMsg, true},
			{"server CPU", func(r scaleResult) string { return fmt.Sprintf("%.1f%%", r.cpuShare()) }, scaleResult.cpuShare, true},
			{"µs/msg above idle", func(r scaleResult) string { return f2(r.usAboveIdle()) }, scaleResult.usAboveIdle, true},
			{"msgs/s", func(r scaleResult) string { return thousands(float64(r.Msgs) / r.Seconds) }, nil, false},
			{"p50", func(r scaleResult) string { return dur(r.P50) }, func(r scaleResult) float64 { return r.P50 }, true},
			{"p99", func(r scaleResult) string { return dur(r.P99) }, func(r scaleResult) float64 { return r.P99 }, true},
			{"max", func(r scaleResult) string { return dur(r.Max) }, func(r scaleResult) float64 { return r.Max }, true},
			{"failed conns", func(r scaleResult) string { return thousands(float64(r.Failed)) }, nil, false},
		},
		notes: func(r scaleResult) string {
			n := []string{fmt.Sprintf("client CPU %.0f%%", r.ClientCPU),
				fmt.Sprintf("machine: %d TCP retransmits, %d input drops", r.Retrans, r.Drops)}
			if r.Skipped > 0 {
				n = append(n, fmt.Sprintf("%d sends skipped (echo still due after 1 s)", r.Skipped))
			}
			if r.Failed > 0 {
				n = append(n, r.Err)
			}
			if r.Lib == "tether" {
				n = append(n, "includes its keepalive pings")
			}
			return strings.Join(n, "; ")
		},
	},
	{
		name: "scale busy",
		ok:   func(r scaleResult) bool { return r.busyOK },
		why:  func(r scaleResult) string { return r.BusyErr },
		cols: []scaleCol{
			{"conns", func(r scaleResult) string { return thousands(float64(r.BusyConns)) }, nil, false},
			{"RSS / active conn", func(r scaleResult) string { return kib(r.BusyRSSPerConn) }, func(r scaleResult) float64 { return r.BusyRSSPerConn }, true},
			{"heap+stack / active conn", func(r scaleResult) string { return kib(r.BusyHeapStackPer) }, func(r scaleResult) float64 { return r.BusyHeapStackPer }, true},
			{"server µs/msg", func(r scaleResult) string { return f2(r.busyUsPerMsg()) }, scaleResult.busyUsPerMsg, true},
			{"msgs/s", func(r scaleResult) string { return thousands(float64(r.BusyMsgs) / r.BusySeconds) }, func(r scaleResult) float64 { return float64(r.BusyMsgs) / r.BusySeconds }, false},
			{"p99", func(r scaleResult) string { return dur(r.BusyP99) }, func(r scaleResult) float64 { return r.BusyP99 }, true},
		},
		notes: func(r scaleResult) string { return r.BusyErr },
	},
}

// usAboveIdle is the server CPU time per message once the CPU time of
// the same connections idle (keepalive) is taken out.
func (r scaleResult) usAboveIdle() float64 {
	return (float64(r.CPUMicros) - r.IdleCPU/100*r.Seconds*1e6) / float64(r.Msgs)
}

// cpuShare is the server processes' CPU time over the window, in percent
// of one core.
func (r scaleResult) cpuShare() float64 { return float64(r.CPUMicros) / 1e6 / r.Seconds * 100 }

// renderScale writes the scale section.
func renderScale(b *strings.Builder, rs []scaleResult) {
	if len(rs) == 0 {
		return
	}
	r0 := rs[0]
	active := 0
	for _, r := range rs {
		active = max(active, r.Active)
	}
	fmt.Fprintf(b, "\nScale: %s connections per library, opened by %d client processes from source addresses %s (IP_BIND_ADDRESS_NO_PORT), "+
		"served by %d server processes sharing one port (SO_REUSEPORT; the kernel spreads the connections by a hash); "+
		"every server process on CPU 0, every client on CPU 1, GOMAXPROCS=1 each; the figures are sums over the server processes; one run per library. "+
		"Each connection echoes one 64 B text message as it opens, then idles (**scale idle**: after a GC, RSS after debug.FreeOSMemory, minus before the connections; server CPU idle: over %s after the active phase, in percent of one core; a window of tether's keepalive interval, 20 s, holds one ping per connection whatever their phases). "+
		"Then %s of them send one 64 B text message a second each, evenly spread, for a %s window after a 3 s warm-up; every echo is checked (**scale active**). "+
		"**scale busy** is a separate run: one server process, %s connections each a closed loop of 1 KiB echoes for %s; RSS and heap+stack at the end of the window, without a forced GC, minus before the connections.\n\n",
		thousands(float64(r0.Wanted)), r0.Clients, r0.Sources, r0.Servers, *scaleIdle, thousands(float64(active)), *scaleWindow,
		thousands(float64(*scaleBusy)), *duration)
	for _, t := range scaleTables {
		b.WriteString("| scenario | lib |")
		for _, c := range t.cols {
			fmt.Fprintf(b, " %s |", c.head)
		}
		b.WriteString(" notes |\n|---|---|")
		b.WriteString(strings.Repeat("---:|", len(t.cols)))
		b.WriteString("---|\n")
		for _, r := range rs {
			fmt.Fprintf(b, "| %s | %s |", t.name, r.Lib)
			if !t.ok(r) {
				b.WriteString(strings.Repeat(" n/a |", len(t.cols)))
				fmt.Fprintf(b, " ERROR: %s |\n", strings.ReplaceAll(t.why(r), "|", "/"))
				continue
			}
			for _, c := range t.cols {
				fmt.Fprintf(b, " %s |", c.cell(r))
			}
			fmt.Fprintf(b, " %s |\n", strings.ReplaceAll(t.notes(r), "|", "/"))
		}
		scaleRatioRow(b, t, rs)
		b.WriteString("\n")
	}
}

// scaleRatioRow appends tether / best peer for each column that has a
// figure.
func scaleRatioRow(b *strings.Builder, t scaleTable, rs []scaleResult) {
	var tether *scaleResult
	var peers []scaleResult
	for i := range rs {
		switch {
		case !t.ok(rs[i]):
		case rs[i].Lib == "tether":
			tether = &rs[i]
		case rs[i].Lib == proto.TetherRelease: // not a peer
		default:
			peers = append(peers, rs[i])
		}
	}
	fmt.Fprintf(b, "| %s | **tether / best peer** |", t.name)
	for _, c := range t.cols {
		if c.get == nil || tether == nil || len(peers) == 0 {
			b.WriteString(" |")
			continue
		}
		best := bestOf(peers, c.get, c.lower)
		fmt.Fprintf(b, " %s (%s) |", ratio(c.get(*tether), c.get(best), 0), best.Lib)
	}
	b.WriteString(" |\n")
}
