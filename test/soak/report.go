package soak

import (
	"fmt"
	"time"

	tether "github.com/tetherws/tether"
)

// Report is the outcome of a run. Its JSON form is the machine-readable
// last line of the command's output.
type Report struct {
	Pass     bool     `json:"pass"`
	Failures []string `json:"failures,omitempty"`

	// The run's size and the machine.
	Conns            int     `json:"conns"`
	Messages         int     `json:"messages"`
	Window           int     `json:"window"`
	Size             int     `json:"size"`
	Compression      bool    `json:"compression"`
	PingInterval     float64 `json:"ping_interval_s"` // 0: the library's default
	PingTimeout      float64 `json:"ping_timeout_s"`
	GOMAXPROCS       int     `json:"gomaxprocs"`
	ServerGOMAXPROCS int     `json:"server_gomaxprocs"`
	LoadAverage      string  `json:"load_average"` // at the start
	FileLimit        uint64  `json:"file_limit"`
	ServerFileLimit  uint64  `json:"server_file_limit"`

	// Connect phase.
	Opened         int     `json:"opened"`
	ConnectSeconds float64 `json:"connect_s"`

	// Steady phase. Lost counts the messages sent and never echoed (in
	// the steady phase by a connection that did not finish it, or
	// anywhere as a hole), Unsent those a connection could not send.
	SteadyComplete bool    `json:"steady_complete"`
	SteadySeconds  float64 `json:"steady_s"`
	SteadyEchoed   uint64  `json:"steady_echoed"`
	SteadyRate     float64 `json:"steady_msgs_per_s"`
	Lost           uint64  `json:"lost"`
	Duplicated     uint64  `json:"duplicated"`
	Reordered      uint64  `json:"reordered"`
	Corrupted      uint64  `json:"corrupted"`
	Unsent         uint64  `json:"unsent"`
	LatencyP50     float64 `json:"latency_p50_ms"`
	LatencyP99     float64 `json:"latency_p99_ms"`
	LatencyP999    float64 `json:"latency_p999_ms"`
	LatencyMax     float64 `json:"latency_max_ms"`
	Over1s         uint64  `json:"echoes_over_1s"`
	Over10s        uint64  `json:"echoes_over_10s"`
	// Stalls counts the connections that had messages in flight and
	// received nothing for Config.StallAfter, before Shutdown; a few are
	// listed.
	Stalls        int     `json:"stalls"`
	StallExamples []Stall `json:"stall_examples,omitempty"`
	// EarlyEnds are the connections that ended before Shutdown, by phase
	// (steady, or pipelining before Shutdown) and close frames;
	// Early1011 those with 1011 sent or received, in either phase.
	EarlyEnds map[string]uint64 `json:"early_ends,omitempty"`
	Early1011 int               `json:"early_1011"`

	// The server process, measured by itself: RSS from /proc/self/status
	// (peak: VmHWM), CPU from getrusage (user + system).
	ServerRSSBaseKiB      int64   `json:"server_rss_base_kib"`
	ServerRSSSteadyKiB    int64   `json:"server_rss_steady_end_kib"`
	ServerRSSPeakKiB      int64   `json:"server_rss_peak_kib"`
	ServerRSSPerConnKiB   float64 `json:"server_rss_peak_per_conn_kib"`
	ServerHeapPerConnKiB  float64 `json:"server_heap_per_conn_kib"` // heap and stacks in use at the end of the steady phase
	ServerCPUConnectUs    float64 `json:"server_cpu_per_conn_us"`   // per connection opened
	ServerCPUSteady       float64 `json:"server_cpu_steady_s"`
	ServerCPUPerMessageUs float64 `json:"server_cpu_per_msg_us"` // per message echoed in the steady phase
	ClientCPUPerMessageUs float64 `json:"client_cpu_per_msg_us"` // the driver's, both directions
	ClientRSSPeakKiB      int64   `json:"client_rss_peak_kib"`

	// Last phase: pipelining, then Server.Shutdown.
	Pipelined        uint64            `json:"pipelined_before_shutdown"`
	ShutdownSeconds  float64           `json:"shutdown_s"`
	ShutdownErr      string            `json:"shutdown_err,omitempty"`
	ShutdownConns    int               `json:"shutdown_conns"` // open when Shutdown began
	Received1001     int               `json:"received_1001"`
	LastEndSeconds   float64           `json:"last_end_s"` // after Shutdown began
	LastPhaseEchoed  uint64            `json:"last_phase_echoed"`
	CutByClose       uint64            `json:"cut_by_close"` // sent, not echoed, after the last echo
	LastPhaseHoles   uint64            `json:"last_phase_holes"`
	LastPhaseDup     uint64            `json:"last_phase_duplicated"`
	LastPhaseReorder uint64            `json:"last_phase_reordered"`
	Stuck            int               `json:"stuck"` // still open after the shutdown timeout: aborted
	ClientEnds       map[string]uint64 `json:"client_ends,omitempty"`
	ClientErrs       map[string]uint64 `json:"client_errs,omitempty"`
	ServerEnds       map[string]uint64 `json:"server_ends,omitempty"`
	ServerSendErrs   map[string]uint64 `json:"server_send_errs,omitempty"`
	Errors           map[string]uint64 `json:"errors,omitempty"`

	examples map[string]string // an error message per Errors key
}

// newReport compiles the report of a finished run.
func newReport(cfg Config, r *run, clients []*client, t *timings) *Report {
	rep := &Report{
		Conns: cfg.Conns, Messages: cfg.Messages, Window: cfg.Window, Size: cfg.Size,
		Compression:  !cfg.NoCompression,
		PingInterval: cfg.PingInterval.Seconds(), PingTimeout: cfg.PingTimeout.Seconds(),
		Opened:          len(clients),
		ConnectSeconds:  t.connected.Sub(t.begin).Seconds(),
		SteadyComplete:  t.steadyComplete,
		SteadySeconds:   t.steadyEnd.Sub(t.connected).Seconds(),
		LatencyP50:      ms(r.latency.quantile(0.50)),
		LatencyP99:      ms(r.latency.quantile(0.99)),
		LatencyP999:     ms(r.latency.quantile(0.999)),
		LatencyMax:      ms(r.latency.maximum()),
		Over1s:          r.latency.above(time.Second),
		Over10s:         r.latency.above(10 * time.Second),
		Stalls:          r.stalls.count,
		StallExamples:   r.stalls.examples,
		Pipelined:       t.pipelinedBeforeShutdown,
		ShutdownSeconds: t.shutdown.Duration.Seconds(),
		ShutdownErr:     t.shutdown.Err,
		Stuck:           t.stuck,
		EarlyEnds:       map[string]uint64{},
		ClientEnds:      map[string]uint64{},
		ClientErrs:      map[string]uint64{},
		Errors:          r.errors.snapshot(),
		ServerEnds:      t.final.Closes,
		ServerSendErrs:  t.final.SendErrors,
		examples:        map[string]string{},
	}
	for k := range rep.Errors {
		rep.examples[k] = r.errors.example(k)
	}
	steady := uint64(cfg.Messages)
	byID := make(map[int]*client, len(clients))
	for _, cl := range clients {
		rep.addClient(cl, steady, t)
		byID[cl.id] = cl
	}
	for i := range rep.StallExamples {
		s := &rep.StallExamples[i]
		if cl := byID[s.Client]; cl != nil {
			s.End = closeCodes(cl.close)
			if cl.endedAt.Before(t.shutdownBegin) {
				s.End += ", before Shutdown"
			}
		}
	}
	if rep.SteadySeconds > 0 {
		rep.SteadyRate = float64(rep.SteadyEchoed) / rep.SteadySeconds
	}
	rep.addServer(t)
	if rep.SteadyEchoed > 0 {
		rep.ClientCPUPerMessageUs = us(t.selfSteady.cpu()-t.selfConnected.cpu()) / float64(rep.SteadyEchoed)
	}
	rep.ClientRSSPeakKiB = t.selfSteady.HWMKiB
	if self, err := readProcStat(); err == nil {
		rep.ClientRSSPeakKiB = self.HWMKiB
	}
	return rep
}

// addClient adds what one client saw.
func (rep *Report) addClient(cl *client, steady uint64, t *timings) {
	s, snap := &cl.s, &cl.steadySnap
	sentSteady := min(s.sent, steady)
	echoedSteady := s.receivedBelow(steady)
	rep.SteadyEchoed += echoedSteady
	rep.Lost += sentSteady - echoedSteady + s.holesFrom(steady)
	if !cl.steadyDone {
		rep.Unsent += steady - sentSteady
	}
	rep.Duplicated += s.duplicated
	rep.Reordered += s.reordered
	rep.Corrupted += cl.corrupted + s.unknown
	rep.LastPhaseEchoed += s.received - echoedSteady
	rep.LastPhaseHoles += s.holesFrom(steady)
	rep.LastPhaseDup += s.duplicated - snap.duplicated
	rep.LastPhaseReorder += s.reordered - snap.reordered
	codes := closeCodes(cl.close)
	if cl.endedAt.Before(t.shutdownBegin) {
		phase := "pipelining: "
		if cl.endedAt.Before(t.steadyEnd) {
			phase = "steady: "
		}
		rep.EarlyEnds[phase+codes]++
		if hasCode(cl.close, tether.CloseInternalError) {
			rep.Early1011++
		}
		return
	}
	rep.ShutdownConns++
	rep.CutByClose += s.tail()
	rep.ClientEnds[codes]++
	rep.ClientErrs[kindOf(cl.err)]++
	if cl.close.Rcvd != nil && cl.close.Rcvd.Code == tether.CloseGoingAway {
		rep.Received1001++
	}
	rep.LastEndSeconds = max(rep.LastEndSeconds, cl.endedAt.Sub(t.shutdownBegin).Seconds())
}

// addServer adds the server's figures.
func (rep *Report) addServer(t *timings) {
	rep.ServerRSSBaseKiB = t.base.Proc.RSSKiB
	rep.ServerRSSSteadyKiB = t.afterSteady.Proc.RSSKiB
	rep.ServerRSSPeakKiB = max(t.final.Proc.HWMKiB, t.afterSteady.Proc.HWMKiB)
	rep.ServerCPUSteady = (t.afterSteady.Proc.cpu() - t.afterConnect.Proc.cpu()).Seconds()
	if rep.Opened > 0 {
		n := float64(rep.Opened)
		rep.ServerRSSPerConnKiB = float64(rep.ServerRSSPeakKiB-rep.ServerRSSBaseKiB) / n
		rep.ServerHeapPerConnKiB = float64(t.afterSteady.HeapInuse+t.afterSteady.StackInuse-t.base.HeapInuse-t.base.StackInuse) / 1024 / n
		rep.ServerCPUConnectUs = us(t.afterConnect.Proc.cpu()-t.base.Proc.cpu()) / n
	}
	if rep.SteadyEchoed > 0 {
		rep.ServerCPUPerMessageUs = rep.ServerCPUSteady * 1e6 / float64(rep.SteadyEchoed)
	}
}

// judge sets Pass and Failures.
func (rep *Report) judge() {
	fail := func(format string, args ...any) { rep.Failures = append(rep.Failures, fmt.Sprintf(format, args...)) }
	if rep.Opened < rep.Conns {
		fail("%d of %d connections did not open", rep.Conns-rep.Opened, rep.Conns)
	}
	if !rep.SteadyComplete {
		fail("the steady phase did not finish within the duration cap")
	}
	if rep.Lost > 0 {
		fail("%d messages lost", rep.Lost)
	}
	if rep.Duplicated > 0 {
		fail("%d messages duplicated", rep.Duplicated)
	}
	if rep.Reordered > 0 {
		fail("%d messages reordered", rep.Reordered)
	}
	if rep.Corrupted > 0 {
		fail("%d echoes corrupted", rep.Corrupted)
	}
	if rep.Early1011 > 0 {
		fail("%d connections ended with 1011 before Shutdown", rep.Early1011)
	}
	rep.Pass = len(rep.Failures) == 0
}

// hasCode reports whether a close frame with code was sent or received.
func hasCode(ce *tether.CloseError, code tether.CloseCode) bool {
	return ce.Sent != nil && ce.Sent.Code == code || ce.Rcvd != nil && ce.Rcvd.Code == code
}

// ms returns d in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// us returns d in microseconds.
func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
