package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/tetherws/tether/test/bench/internal/proto"
)

var (
	scaleConns   = flag.Int("scale-conns", 50000, "scale: concurrent connections (10000 with -quick)")
	scaleActive  = flag.Int("scale-active", 0, "scale: of them, connections sending one 64 B message a second (default: one in five)")
	scaleBusy    = flag.Int("scale-busy", 1000, "scale: connections of the separate run of 1 KiB closed loops (RSS per active connection)")
	scaleWindow  = flag.Duration("scale-window", 20*time.Second, "scale: measurement window of the active phase (5s with -quick)")
	scaleServers = flag.Int("scale-servers", 4, "scale: server processes per library, sharing one port (SO_REUSEPORT); raised so that each holds at most 15,000 connections")
	scaleClients = flag.Int("scale-clients", 4, "scale: client processes; raised so that each holds at most 15,000 connections")
	scaleIdle    = flag.Duration("scale-idle", 20*time.Second, "scale: window of the server CPU of the idle connections, after the active phase; tether's keepalive interval (20 s) counts one ping per connection whatever their phases (5s with -quick)")
	scaleLibs    = flag.String("scale-libs", "tether,gorilla,gws", "scale: the libraries of -libs that run it")
)

// perProcess is the most connections a process is given: the hard limit
// of open files is 20,000 per process on the machine this was written for.
const perProcess = 15000

// perSource is the most connections dialed from one source address (the
// ephemeral range, 32768-60999, offers about 28,000 per server port).
const perSource = 4000

// scaleResult is what one library did in the scale scenario.
type scaleResult struct {
	Lib     string `json:"lib"`
	Wanted  int    `json:"wanted"`
	Servers int    `json:"servers"`
	Clients int    `json:"clients"`
	Sources string `json:"sources"`

	// Open phase: connections opened (the clients' count), how long it
	// took, and how many each server process holds (its open files minus
	// those it had before).
	Conns       int     `json:"conns"`
	OpenSeconds float64 `json:"open_s"`
	PerServer   []int   `json:"per_server"`
	// Idle: per connection, after a GC (RSS after debug.FreeOSMemory),
	// summed over the server processes.
	RSSPerConn        float64 `json:"rss_per_conn"`
	HeapStackPerConn  float64 `json:"heap_stack_per_conn"`
	GoroutinesPerConn float64 `json:"goroutines_per_conn"`
	// IdleCPU is the server processes' CPU time while every connection
	// idles, in percent of one core (keepalive pings, timers).
	IdleCPU float64 `json:"idle_cpu_pct"`

	// Active phase.
	Active    int     `json:"active"`
	Msgs      int64   `json:"msgs"`
	Seconds   float64 `json:"seconds"`
	CPUMicros int64   `json:"cpu_us"`
	P50       float64 `json:"p50_us"`
	P99       float64 `json:"p99_us"`
	Max       float64 `json:"max_us"`
	Failed    int64   `json:"failed"`
	Skipped   int64   `json:"skipped"`
	// Retrans and Drops are the TCP segments retransmitted and the
	// packets the kernel's input queues dropped in the window, on the
	// whole machine (/proc/net/snmp, /proc/net/softnet_stat): on loopback
	// a dropped packet waits for the retransmission timeout (200 ms and
	// more), which then shows in the latencies.
	Retrans int64 `json:"retrans"`
	Drops   int64 `json:"drops"`
	// ClientCPU is the client processes' CPU time over the window, in
	// percent of one core (from /proc/<pid>/stat): near 100, the
	// latencies are the client's.
	ClientCPU float64 `json:"client_cpu_pct"`

	// Busy run: closed loops of 1 KiB on BusyConns connections; RSS and
	// heap+stack at the end of its window (no forced GC), minus before
	// the connections.
	BusyConns         int     `json:"busy_conns"`
	BusyRSSPerConn    float64 `json:"busy_rss_per_conn"`
	BusyHeapStackPer  float64 `json:"busy_heap_stack_per_conn"`
	BusyMsgs          int64   `json:"busy_msgs"`
	BusySeconds       float64 `json:"busy_seconds"`
	BusyCPUMicros     int64   `json:"busy_cpu_us"`
	BusyP99           float64 `json:"busy_p99_us"`
	BusyErr           string  `json:"busy_err,omitempty"`
	Err               string  `json:"err,omitempty"`
	activeOK, busyOK  bool
	openOK, idleStats bool
}

// scalePlan is one run of the scale scenario: conns connections, active
// of them sending (one size-byte message per second, or closed loops).
type scalePlan struct {
	conns, active, size int
	loop                bool
	servers, clients    int
	warm, window        time.Duration
}

// runScaleLib runs both parts of the scale scenario for lib: the large
// run (open, idle, active at 1 msg/s) and the busy run.
func runScaleLib(bin, lib string) scaleResult {
	active := *scaleActive
	if active <= 0 {
		active = *scaleConns / 5
	}
	big := scalePlan{conns: *scaleConns, active: active, size: 64, servers: *scaleServers, clients: *scaleClients,
		warm: 3 * time.Second, window: *scaleWindow}
	big.servers = max(big.servers, (big.conns+perProcess-1)/perProcess)
	big.clients = max(big.clients, (big.conns+perProcess-1)/perProcess)
	r := scaleResult{Lib: lib, Wanted: big.conns, Servers: big.servers, Clients: big.clients}
	if err := runScalePlan(bin, lib, big, &r, false); err != nil {
		r.Err = err.Error()
	}
	busy := scalePlan{conns: *scaleBusy, active: *scaleBusy, size: 1024, loop: true, servers: 1, clients: 1,
		warm: *warmup, window: *duration}
	busy.servers = max(busy.servers, (busy.conns+perProcess-1)/perProcess)
	busy.clients = max(busy.clients, (busy.conns+perProcess-1)/perProcess)
	if err := runScalePlan(bin, lib, busy, &r, true); err != nil {
		r.BusyErr = err.Error()
	}
	return r
}

// scaleClient is a running benchclient of the scale scenario.
type scaleClient struct {
	stdin   io.WriteCloser
	reports chan proto.ScaleReport
	stderr  *bytes.Buffer
	exited  chan error
	pid     int
	// stopFn closes its input (the client then closes its connections
	// and exits) and waits for it, 20 s at most before killing it.
	stopFn func()
}

func (c *scaleClient) send(cmd string) error {
	_, err := io.WriteString(c.stdin, cmd+"\n")
	return err
}

// expect waits for the client's next report, which must be of phase.
func (c *scaleClient) expect(phase string, timeout time.Duration) (proto.ScaleReport, error) {
	select {
	case r, ok := <-c.reports:
		switch {
		case !ok:
			return r, fmt.Errorf("client exited: %s", lastLine(c.stderr.String()))
		case r.Phase != phase:
			return r, fmt.Errorf("client: %s (want %s): %s", r.Phase, phase, r.Err)
		}
		return r, nil
	case <-time.After(timeout):
		return proto.ScaleReport{}, fmt.Errorf("no %q report from a client in %s", phase, timeout)
	}
}

func startScaleClient(bin string, args ...string) (*scaleClient, error) {
	cmd := pinned("1", filepath.Join(bin, "benchclient"), args...)
	c := &scaleClient{reports: make(chan proto.ScaleReport, 4), stderr: new(bytes.Buffer), exited: make(chan error, 1)}
	cmd.Stderr = c.stderr
	var err error
	if c.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c.pid = cmd.Process.Pid
	go func() {
		defer close(c.reports)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 256<<20)
		for sc.Scan() {
			var r proto.ScaleReport
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				r = proto.ScaleReport{Phase: "error", Err: "bad report: " + err.Error()}
			}
			c.reports <- r
		}
	}()
	go func() {
		c.exited <- cmd.Wait()
	}()
	stop := func() {
		_ = c.stdin.Close()
		select {
		case <-c.exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-c.exited
		}
	}
	c.stopFn = stop
	return c, nil
}

// runScalePlan runs one plan for lib and fills r (the busy fields when
// busy is true).
func runScalePlan(bin, lib string, p scalePlan, r *scaleResult, busy bool) error {
	addr := freePort()
	var servers []*serverProc
	var ctls []string
	defer func() {
		for _, s := range servers {
			s.stop()
		}
	}()
	for range p.servers {
		ctl := freePort()
		s, err := startServer(bin, "-lib", lib, "-mode", "echo", "-addr", addr, "-ctl", ctl, "-reuseport")
		if err != nil {
			return err
		}
		servers = append(servers, s)
		ctls = append(ctls, ctl)
	}
	base, err := sumStats(ctls, "gc=1")
	if err != nil {
		return err
	}
	fds0 := openFiles(servers)

	// Clients: conns and active split evenly, each with its own source
	// addresses 127.0.0.2, 127.0.0.3, …
	nsrc := max(1, (p.conns+p.clients*perSource-1)/(p.clients*perSource))
	var clients []*scaleClient
	defer func() {
		for _, c := range clients {
			c.stopFn()
		}
	}()
	t0 := time.Now()
	for k := range p.clients {
		n := p.conns*(k+1)/p.clients - p.conns*k/p.clients
		a := p.active*(k+1)/p.clients - p.active*k/p.clients
		first, last := 2+k*nsrc, 2+(k+1)*nsrc-1
		if last > 254 {
			return fmt.Errorf("%d connections need more source addresses than 127.0.0.2-127.0.0.254", p.conns)
		}
		args := []string{"-scenario", "scale", "-lib", lib, "-addr", addr, "-conns", strconv.Itoa(n), "-active", strconv.Itoa(a),
			"-size", strconv.Itoa(p.size), "-sources", fmt.Sprintf("127.0.0.%d-127.0.0.%d", first, last)}
		if p.loop {
			args = append(args, "-loop")
		}
		c, err := startScaleClient(bin, args...)
		if err != nil {
			return err
		}
		clients = append(clients, c)
	}
	if !busy {
		r.Sources = fmt.Sprintf("127.0.0.2-127.0.0.%d", 1+p.clients*nsrc)
	}
	// Open: every client reports, at most 2 ms per connection (and a
	// minute) after the start.
	deadline := time.Now().Add(max(time.Minute, time.Duration(p.conns)*2*time.Millisecond))
	opened := 0
	var openErr error
	for _, c := range clients {
		o, err := c.expect("opened", time.Until(deadline))
		if err != nil {
			return fmt.Errorf("open: %d connections reported, then: %w", opened, err)
		}
		opened += o.Conns
		if o.Err != "" && openErr == nil {
			openErr = errors.New(o.Err)
		}
	}
	openTime := time.Since(t0)
	if opened == 0 {
		return fmt.Errorf("no connection opened: %w", openErr)
	}
	if busy {
		r.BusyConns = opened
	} else {
		r.Conns, r.OpenSeconds, r.openOK = opened, openTime.Seconds(), true
		if openErr != nil {
			r.Err = fmt.Sprintf("%d of %d opened, then: %v", opened, p.conns, openErr)
		}
		// Idle: let the servers settle, then what they hold.
		time.Sleep(time.Second)
		idle, err := sumStats(ctls, "gc=1")
		if err != nil {
			return err
		}
		fds := openFiles(servers)
		for i := range fds {
			r.PerServer = append(r.PerServer, fds[i]-fds0[i])
		}
		n := float64(opened)
		r.RSSPerConn = perConn(idle.RSS, base.RSS, n)
		r.HeapStackPerConn = float64(int64(idle.HeapInuse+idle.StackInuse)-int64(base.HeapInuse+base.StackInuse)) / n
		r.GoroutinesPerConn = float64(idle.Goroutines-base.Goroutines) / n
		r.idleStats = true
	}

	// Active phase.
	for _, c := range clients {
		if err := c.send("active"); err != nil {
			return err
		}
	}
	time.Sleep(p.warm)
	st0, err := sumStats(ctls, "")
	if err != nil {
		return err
	}
	w0 := time.Now()
	ct0 := clientTicks(clients)
	rt0, dr0 := netCounters()
	for _, c := range clients {
		if err := c.send("mark"); err != nil {
			return err
		}
	}
	time.Sleep(p.window)
	for _, c := range clients {
		if err := c.send("end"); err != nil {
			return err
		}
	}
	st1, err := sumStats(ctls, "")
	if err != nil {
		return err
	}
	secs := time.Since(w0).Seconds()
	ct1 := clientTicks(clients)
	rt1, dr1 := netCounters()
	var lats []int64
	var msgs, failed, skipped int64
	active := 0
	var firstErr string
	for _, c := range clients {
		res, err := c.expect("result", 30*time.Second)
		if err != nil {
			return err
		}
		msgs += res.Msgs
		failed += res.Failed
		skipped += res.Skipped
		active += res.Active
		lats = append(lats, res.LatNanos...)
		if firstErr == "" {
			firstErr = res.Err
		}
	}
	slices.Sort(lats)
	pct := func(q float64) float64 {
		if len(lats) == 0 {
			return 0
		}
		return float64(lats[min(len(lats)-1, int(q*float64(len(lats))))]) / 1e3
	}
	cpu := st1.CPUMicros - st0.CPUMicros
	if busy {
		n := float64(r.BusyConns)
		r.BusyRSSPerConn = perConn(st1.RSS, base.RSS, n)
		r.BusyHeapStackPer = float64(int64(st1.HeapInuse+st1.StackInuse)-int64(base.HeapInuse+base.StackInuse)) / n
		r.BusyMsgs, r.BusySeconds, r.BusyCPUMicros, r.BusyP99 = msgs, secs, cpu, pct(0.99)
		r.busyOK = msgs > 0
		if failed > 0 {
			r.BusyErr = fmt.Sprintf("%d connections failed: %s", failed, firstErr)
		}
		return nil
	}
	r.Active, r.Msgs, r.Seconds, r.CPUMicros = active, msgs, secs, cpu
	r.P50, r.P99, r.Max = pct(0.5), pct(0.99), pct(1)
	r.Failed, r.Skipped = failed, skipped
	// Idle CPU: the senders stop; with the default window, every
	// connection has by then been open longer than tether's keepalive
	// interval (20 s), so its pings run at their steady rate.
	for _, c := range clients {
		if err := c.send("stop"); err != nil {
			return err
		}
	}
	time.Sleep(time.Second)
	a, err := sumStats(ctls, "")
	if err != nil {
		return err
	}
	ta := time.Now()
	time.Sleep(*scaleIdle)
	z, err := sumStats(ctls, "")
	if err != nil {
		return err
	}
	r.IdleCPU = float64(z.CPUMicros-a.CPUMicros) / 1e6 / time.Since(ta).Seconds() * 100
	r.Retrans, r.Drops = rt1-rt0, dr1-dr0
	if ct0 >= 0 && ct1 >= 0 {
		r.ClientCPU = float64(ct1-ct0) / clockTicks / secs * 100
	}
	r.activeOK = msgs > 0
	if failed > 0 && r.Err == "" {
		r.Err = fmt.Sprintf("%d connections failed: %s", failed, firstErr)
	}
	return nil
}
