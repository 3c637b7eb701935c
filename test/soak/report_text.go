package soak

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// WriteText writes the report for a reader: a few lines per phase, then
// PASS or FAIL with the reasons.
func (rep *Report) WriteText(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	comp := "on"
	if !rep.Compression {
		comp = "off"
	}
	p("tether soak: %s connections × %s messages, %d in flight, %d B, compression %s, keepalive: %s",
		thousands(uint64(rep.Conns)), thousands(uint64(rep.Messages)), rep.Window, rep.Size, comp, keepaliveText(rep))
	p("machine:    GOMAXPROCS %d (server %d), load average %s at the start, RLIMIT_NOFILE %d (server %d)",
		rep.GOMAXPROCS, rep.ServerGOMAXPROCS, rep.LoadAverage, rep.FileLimit, rep.ServerFileLimit)
	p("connect:    %s opened in %.1f s; server CPU %.0f µs per connection", thousands(uint64(rep.Opened)), rep.ConnectSeconds, rep.ServerCPUConnectUs)
	incomplete := ""
	if !rep.SteadyComplete {
		incomplete = " — NOT COMPLETE within the duration cap"
	}
	p("steady:     %s echoed in %.1f s (%s/s)%s", thousands(rep.SteadyEchoed), rep.SteadySeconds,
		thousands(uint64(rep.SteadyRate)), incomplete)
	p("            lost %d, duplicated %d, reordered %d, corrupted %d, unsent %d",
		rep.Lost, rep.Duplicated, rep.Reordered, rep.Corrupted, rep.Unsent)
	p("            echo latency p50 %s, p99 %s, p99.9 %s, max %s; %s echoes over 1 s, %s over 10 s",
		msText(rep.LatencyP50), msText(rep.LatencyP99), msText(rep.LatencyP999), msText(rep.LatencyMax),
		thousands(rep.Over1s), thousands(rep.Over10s))
	p("            stalled connections (messages in flight, no echo for a while): %d", rep.Stalls)
	for _, s := range rep.StallExamples {
		p("              client %d (%s, %s): silent %.1f s, %d in flight; kernel queues: client tx %d rx %d, server tx %d rx %d; ended: %s",
			s.Client, s.Local, s.Phase, s.Silent, s.InFlight, s.ClientTx, s.ClientRx, s.ServerTx, s.ServerRx, s.End)
	}
	p("            connections ended before Shutdown: %s", countsText(rep.EarlyEnds))
	p("server:     RSS %s at start, %s at the end of the steady phase, peak %s (VmHWM): %.1f KiB per connection",
		kib(rep.ServerRSSBaseKiB), kib(rep.ServerRSSSteadyKiB), kib(rep.ServerRSSPeakKiB), rep.ServerRSSPerConnKiB)
	p("            Go heap and stacks in use: %.1f KiB per connection", rep.ServerHeapPerConnKiB)
	p("            CPU %.1f s in the steady phase: %.1f µs per message echoed", rep.ServerCPUSteady, rep.ServerCPUPerMessageUs)
	p("clients:    CPU %.1f µs per message (sending and checking, both directions), RSS peak %s",
		rep.ClientCPUPerMessageUs, kib(rep.ClientRSSPeakKiB))
	shutErr := "nil"
	if rep.ShutdownErr != "" {
		shutErr = rep.ShutdownErr
	}
	p("shutdown:   after %s pipelined messages, Shutdown took %.2f s (error: %s)", thousands(rep.Pipelined), rep.ShutdownSeconds, shutErr)
	p("            %s of %s clients received 1001; the last connection ended %.2f s after Shutdown began; %d aborted as stuck",
		thousands(uint64(rep.Received1001)), thousands(uint64(rep.ShutdownConns)), rep.LastEndSeconds, rep.Stuck)
	p("            last phase: %s echoed, %s cut by the close (a clean cut); holes %d, duplicated %d, reordered %d",
		thousands(rep.LastPhaseEchoed), thousands(rep.CutByClose), rep.LastPhaseHoles, rep.LastPhaseDup, rep.LastPhaseReorder)
	p("            client close frames: %s", countsText(rep.ClientEnds))
	p("            client Err: %s", countsText(rep.ClientErrs))
	p("            server close frames: %s", countsText(rep.ServerEnds))
	p("            server send errors: %s", countsText(rep.ServerSendErrs))
	p("errors:     %s", countsText(rep.Errors))
	for _, k := range sortedKeys(rep.examples) {
		if ex := rep.examples[k]; ex != "" {
			p("            e.g. %s: %s", k, ex)
		}
	}
	if rep.Pass {
		p("PASS")
		return
	}
	p("FAIL: %s", strings.Join(rep.Failures, "; "))
}

// JSON returns the report as one line of JSON.
func (rep *Report) JSON() []byte {
	b, err := json.Marshal(rep)
	if err != nil { // a Report always marshals
		return []byte(`{"pass":false,"failures":["` + err.Error() + `"]}`)
	}
	return b
}

// keepaliveText describes the keepalive settings.
func keepaliveText(rep *Report) string {
	dur := func(s float64) string {
		if s == 0 {
			return "default"
		}
		return strconv.FormatFloat(s, 'f', -1, 64) + " s"
	}
	switch {
	case rep.PingInterval < 0:
		return "off"
	case rep.PingInterval == 0 && rep.PingTimeout == 0:
		return "the library's defaults"
	}
	return "ping interval " + dur(rep.PingInterval) + ", timeout " + dur(rep.PingTimeout)
}

// countsText writes counts by key: "sent 1001, received 1001 ×9998; …".
func countsText(m map[string]uint64) string {
	if len(m) == 0 {
		return "none"
	}
	parts := make([]string, 0, len(m))
	for _, k := range sortedKeys(m) {
		parts = append(parts, k+" ×"+thousands(m[k]))
	}
	return strings.Join(parts, "; ")
}

// thousands writes n with commas between groups of three digits.
func thousands(n uint64) string {
	s := strconv.FormatUint(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// kib writes a size given in KiB in MiB.
func kib(k int64) string { return fmt.Sprintf("%.1f MiB", float64(k)/1024) }

// msText writes milliseconds with a sensible precision.
func msText(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%.2f s", v/1000)
	}
	return fmt.Sprintf("%.2f ms", v)
}
