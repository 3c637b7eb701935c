package soak

import (
	"context"
	"fmt"
	"io"
	goruntime "runtime"
	"sync"
	"sync/atomic"
	"time"
)

// run is the state the driver shares with the client goroutines.
type run struct {
	cfg Config
	ctx context.Context // Send's context: cancelled when the run gives up

	start    chan struct{} // closed: the steady phase begins
	pipeline chan struct{} // closed: the last phase begins
	clients  sync.WaitGroup
	steady   sync.WaitGroup // Done by each client at the end of its steady phase
	piping   sync.WaitGroup // Done by each client once it has filled its window in the last phase

	sent, echoed atomic.Uint64 // messages, both phases
	latency      histogram     // echo latency of the steady phase
	errors       tally         // client errors by phase and kind
	phase        atomic.Value  // string, for progress
	stalls       stallWatch
}

// timings are the instants between the phases, and the server's figures
// taken there.
type timings struct {
	begin, connected, steadyEnd, shutdownBegin, end time.Time

	base, afterConnect, afterSteady, final serverStats
	selfConnected, selfSteady              procStat
	steadyComplete                         bool
	pipelinedBeforeShutdown                uint64
	shutdown                               shutdownResult
	stuck                                  int // clients still open at the end, aborted
}

// Run runs the load test described by cfg and returns its report. The
// error is for a run that could not take place (a bad configuration, a
// server process that did not start); a run that took place and failed
// returns its report with Pass false.
func Run(cfg Config) (*Report, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	fileLimit, err := raiseFileLimit()
	if err != nil {
		return nil, err
	}
	load := loadAverage()
	srv, err := startServer(cfg)
	if err != nil {
		return nil, err
	}
	var t timings
	t.begin = time.Now()
	if t.base, err = srv.stats(); err != nil {
		srv.kill()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := &run{cfg: cfg, ctx: ctx, start: make(chan struct{}), pipeline: make(chan struct{})}
	r.phase.Store("connect")
	stopProgress := r.progress(srv, t.begin)

	capCtx, capCancel := context.WithDeadline(ctx, t.begin.Add(cfg.Duration))
	defer capCancel()
	clients := r.connect(capCtx, srv.hello.Addr)
	t.connected = time.Now()
	t.afterConnect = r.serverStats(srv)
	t.selfConnected, _ = readProcStat()

	r.phase.Store("steady")
	stopWatch := r.watchStalls(clients, srv.hello.Addr)
	close(r.start)
	t.steadyComplete = waitCtx(capCtx, &r.steady)
	t.steadyEnd = time.Now()
	t.afterSteady = r.serverStats(srv)
	t.selfSteady, _ = readProcStat()

	r.phase.Store("pipelining")
	close(r.pipeline)
	steadySent := r.sent.Load()
	fill, fillCancel := context.WithTimeout(ctx, cfg.ShutdownTimeout)
	waitCtx(fill, &r.piping)
	fillCancel()
	time.Sleep(cfg.ShutdownAfter) // let them pipeline: the load Shutdown meets
	stopProgress()
	stopWatch()
	t.pipelinedBeforeShutdown = r.sent.Load() - steadySent

	t.shutdownBegin = time.Now()
	t.shutdown, err = srv.shutdown()
	if err != nil {
		t.shutdown.Err = err.Error()
	}
	t.stuck = r.finish(clients)
	t.end = time.Now()
	t.final = r.serverStats(srv)
	if err := srv.quit(10 * time.Second); err != nil {
		r.errors.addErr("server process: "+kindOf(err), err)
	}
	rep := newReport(cfg, r, clients, &t)
	rep.FileLimit, rep.LoadAverage = fileLimit, load
	rep.GOMAXPROCS, rep.ServerGOMAXPROCS = goruntime.GOMAXPROCS(0), srv.hello.GOMAXPROCS
	rep.ServerFileLimit = srv.hello.FileLimit
	rep.judge()
	return rep, nil
}

// serverStats asks the server for its figures; a failure is counted
// among the errors (and the figures are zero).
func (r *run) serverStats(srv *serverProc) serverStats {
	s, err := srv.stats()
	if err != nil {
		r.errors.addErr("server stats: "+kindOf(err), err)
	}
	return s
}

// connect opens the connections, cfg.Dialers at a time, and starts a
// goroutine for each; it returns the clients whose connection opened.
func (r *run) connect(ctx context.Context, addr string) []*client {
	all := make([]*client, r.cfg.Conns)
	sem := make(chan struct{}, r.cfg.Dialers)
	var wg sync.WaitGroup
	for i := range r.cfg.Conns {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c, err := dial(ctx, r.cfg, addr, i)
			if err != nil {
				r.errors.addErr("dial: "+kindOf(err), err)
				return
			}
			all[i] = newClient(i, c, r.cfg.Window)
		})
	}
	wg.Wait()
	var open []*client
	for _, cl := range all {
		if cl == nil {
			continue
		}
		open = append(open, cl)
		r.clients.Add(1)
		r.steady.Add(1)
		r.piping.Add(1)
		go cl.run(r)
	}
	return open
}

// finish waits for every client to end after the server's Shutdown,
// bounded by the shutdown timeout, then aborts the connections still open
// and returns their number.
func (r *run) finish(clients []*client) int {
	wait, cancel := context.WithTimeout(context.Background(), r.cfg.ShutdownTimeout)
	defer cancel()
	if waitCtx(wait, &r.clients) {
		return 0
	}
	stuck := 0
	for _, cl := range clients {
		select {
		case <-cl.conn.Done():
		default:
			stuck++
			cl.conn.CloseNow()
		}
	}
	r.clients.Wait()
	return stuck
}

// waitCtx waits for wg until ctx ends, and reports whether wg finished.
// When ctx ends first, a goroutine waits on for wg.
func waitCtx(ctx context.Context, wg *sync.WaitGroup) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-ctx.Done():
		return false
	}
}

// progress prints a line every cfg.ProgressInterval until the returned
// function is called.
func (r *run) progress(srv *serverProc, begin time.Time) (stop func()) {
	if r.cfg.Progress == nil {
		return func() {}
	}
	quit := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(r.cfg.ProgressInterval)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				return
			case <-tick.C:
			}
			s, err := srv.stats()
			if err != nil {
				fmt.Fprintf(r.cfg.Progress, "soak: progress: %v\n", err)
				continue
			}
			printProgress(r.cfg.Progress, r, s, time.Since(begin))
		}
	}()
	return func() { close(quit); <-done }
}

// printProgress writes one progress line.
func printProgress(w io.Writer, r *run, s serverStats, elapsed time.Duration) {
	fmt.Fprintf(w, "soak: %6.1fs %-10s server: %d open, %s echoed, RSS %s, CPU %.1fs | clients: %s sent, %s received\n",
		elapsed.Seconds(), r.phase.Load(), s.Open, thousands(s.Echoed), kib(s.Proc.RSSKiB),
		s.Proc.cpu().Seconds(), thousands(r.sent.Load()), thousands(r.echoed.Load()))
}
