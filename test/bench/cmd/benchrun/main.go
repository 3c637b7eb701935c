// Command benchrun is the driver of the comparative benchmark. It builds
// benchserver and benchclient, runs every server pinned to CPU 0 and the
// one load client pinned to CPU 1 (taskset, GOMAXPROCS=1 each), interleaves
// the libraries (A B C D E F, A B C D E F, …) for each scenario, repeats,
// takes medians and prints a Markdown table with the ratios tether / best
// peer and tether / raw. It writes the table to results/latest.md and, with
// -benchmarks, to BENCHMARKS.md.
//
// Run it from test/bench:
//
//	go run ./cmd/benchrun              # full: 3 repetitions
//	go run ./cmd/benchrun -quick       # 1 repetition, short durations
//	go run ./cmd/benchrun -profile tether   # CPU and alloc profiles, 1 KiB echo
//	go run ./cmd/benchrun -scenarios scale  # 50,000 connections per library
//
// The scale scenario runs each library's server as several processes
// sharing a port and the load as several client processes (runScaleLib):
// a process may hold at most 20,000 open files on the machine it was
// written for.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tetherws/tether/test/bench/internal/proto"
)

var (
	quick      = flag.Bool("quick", false, "one repetition, short durations")
	reps       = flag.Int("reps", 3, "repetitions (1 with -quick)")
	warmup     = flag.Duration("warmup", time.Second, "warm-up of each run (300ms with -quick)")
	duration   = flag.Duration("duration", 3*time.Second, "measurement window of each run (1s with -quick)")
	only       = flag.String("scenarios", "", "comma-separated scenarios to run (default all): "+strings.Join(scenarioNames(), ","))
	libsFlag   = flag.String("libs", strings.Join(proto.Libs, ","), "comma-separated libraries")
	idleConns  = flag.Int("idle-conns", 5000, "connections of the idle scenario")
	bcastConns = flag.Int("broadcast-conns", 1000, "clients of the broadcast scenario")
	out        = flag.String("out", "results/latest.md", "where to write the table")
	benchmarks = flag.String("benchmarks", "", "also write BENCHMARKS.md here")
	tetherDir  = flag.String("tether", "", "benchmark the tether module in this directory instead of ../.. (a snapshot)")
	noPin      = flag.Bool("nopin", false, "do not pin server and client to CPUs")
	profile    = flag.String("profile", "", "profile this library in the 1 KiB echo and print pprof -top (no table)")
	command    = flag.String("command", "", "the command line to print in the report (default: this one)")
)

// A scenario is one row group of the table.
type scenario struct {
	name   string
	client []string // client flags
	server []string // server flags
}

func scenarios() []scenario {
	echo := func(name string, size int) scenario {
		return scenario{name, []string{"-scenario", "echo", "-size", strconv.Itoa(size), "-conns", "16"}, []string{"-mode", "echo"}}
	}
	return []scenario{
		echo("echo 16 B", 16),
		echo("echo 1 KiB", 1<<10),
		echo("echo 16 KiB", 16<<10),
		echo("echo 256 KiB", 256<<10),
		{"deflate nctx", []string{"-scenario", "deflate", "-deflate", "nctx", "-conns", "16"}, []string{"-mode", "deflate", "-deflate", "nctx"}},
		{"deflate ctx", []string{"-scenario", "deflate", "-deflate", "ctx", "-conns", "16"}, []string{"-mode", "deflate", "-deflate", "ctx"}},
		{"broadcast", []string{"-scenario", "broadcast", "-size", "256", "-conns", strconv.Itoa(*bcastConns)}, []string{"-mode", "broadcast"}},
		{"idle", []string{"-scenario", "idle", "-conns", strconv.Itoa(*idleConns)}, []string{"-mode", "idle"}},
		// scale runs its own processes (runScaleLib).
		{"scale", nil, nil},
	}
}

func scenarioNames() []string {
	return []string{"echo16", "echo1k", "echo16k", "echo256k", "deflate-nctx", "deflate-ctx", "broadcast", "idle", "scale"}
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("benchrun: ")
	flag.Parse()
	if *quick {
		*reps = 1
		if !isSet("warmup") {
			*warmup = 300 * time.Millisecond
		}
		if !isSet("duration") {
			*duration = time.Second
		}
		if !isSet("scale-conns") {
			*scaleConns = 10000
		}
		if !isSet("scale-window") {
			*scaleWindow = 5 * time.Second
		}
		if !isSet("scale-idle") {
			*scaleIdle = 5 * time.Second
		}
	}
	if _, err := os.Stat("cmd/benchserver"); err != nil {
		log.Fatal("run me from test/bench (cd test/bench && go run ./cmd/benchrun)")
	}
	raiseFileLimit()
	bin, err := os.MkdirTemp("", "benchrun")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(bin)
	if err := build(bin); err != nil {
		log.Fatal(err)
	}
	if *profile != "" {
		runProfile(bin)
		return
	}

	all := scenarios()
	if *only != "" {
		var sel []scenario
		for _, name := range strings.Split(*only, ",") {
			i := slices.Index(scenarioNames(), name)
			if i < 0 {
				log.Fatalf("unknown scenario %q (have %s)", name, strings.Join(scenarioNames(), ","))
			}
			sel = append(sel, all[i])
		}
		all = sel
	}
	libs := strings.Split(*libsFlag, ",")
	env := describe(bin)
	env.loadBefore = loadavg()
	start := time.Now()
	results := map[string]map[string][]proto.Result{}
	var scaled []scaleResult
	scaleLibList := scaleLibsOf(libs)
	total := 0
	for _, sc := range all {
		if sc.name == "scale" {
			total += len(scaleLibList)
			continue
		}
		total += *reps * len(libsOf(sc, libs))
	}
	n := 0
	for _, sc := range all {
		if sc.name == "scale" {
			// One run per library: its figures come from 50,000
			// connections at once, and it takes about a minute.
			for _, lib := range scaleLibList {
				n++
				r := runScaleLib(bin, lib)
				fmt.Fprintf(os.Stderr, "[%3d/%d %5.0fs] %-13s       %-8s %s\n", n, total, time.Since(start).Seconds(), sc.name, lib, scaleSummary(r))
				scaled = append(scaled, r)
			}
			continue
		}
		results[sc.name] = map[string][]proto.Result{}
		for rep := 0; rep < *reps; rep++ {
			for _, lib := range libsOf(sc, libs) {
				n++
				r := runOne(bin, sc, lib, nil)
				status := summary(r)
				fmt.Fprintf(os.Stderr, "[%3d/%d %5.0fs] %-13s rep %d %-8s %s\n", n, total, time.Since(start).Seconds(), sc.name, rep+1, lib, status)
				results[sc.name][lib] = append(results[sc.name][lib], r)
			}
		}
	}
	env.loadAfter = loadavg()
	env.elapsed = time.Since(start)
	env.date = start
	md := render(all, libs, results, scaled, env)
	fmt.Print(md)
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err == nil {
		err = os.WriteFile(*out, []byte(md), 0o644)
		if err != nil {
			log.Print(err)
		}
	}
	if js, err := json.MarshalIndent(results, "", "  "); err == nil {
		_ = os.WriteFile(strings.TrimSuffix(*out, ".md")+".json", js, 0o644)
	}
	if scaled != nil {
		js, err := json.MarshalIndent(scaled, "", "  ")
		if err == nil {
			err = os.WriteFile(strings.TrimSuffix(*out, ".md")+"-scale.json", js, 0o644)
		}
		if err != nil {
			log.Printf("scale results: %v", err)
		}
	}
	if *benchmarks != "" {
		if err := os.WriteFile(*benchmarks, []byte(benchmarksDoc(md)), 0o644); err != nil {
			log.Print(err)
		}
	}
}

// libsOf returns the libraries run in sc: libs, and in the echo
// scenarios tether-release right after tether.
func libsOf(sc scenario, libs []string) []string {
	i := slices.Index(libs, "tether")
	if i < 0 || !strings.HasPrefix(sc.name, "echo") || slices.Contains(libs, proto.TetherRelease) {
		return libs
	}
	return slices.Insert(slices.Clone(libs), i+1, proto.TetherRelease)
}

func isSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func summary(r proto.Result) string {
	switch {
	case r.Err != "":
		return "ERROR " + r.Err
	case r.NA != "":
		return "n/a: " + r.NA
	case r.Scenario == "idle":
		return fmt.Sprintf("%d conns, %.1f KiB heap+stack/conn (stacks %.1f), %.1f KiB RSS/conn, %.1f goroutines/conn",
			r.Conns, r.HeapStackPerConn/1024, r.StackPerConn/1024, r.RSSPerConn/1024, r.GoroutinesPerConn)
	case r.Msgs == 0:
		return "no messages"
	}
	return fmt.Sprintf("%.2f µs/msg, %.0f msgs/s, %.2f allocs/msg", float64(r.CPUMicros)/float64(r.Msgs), float64(r.Msgs)/r.Seconds, float64(r.Mallocs)/float64(r.Msgs))
}

func raiseFileLimit() {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return
	}
	want := uint64(2**idleConns + 1000)
	if rl.Cur < want {
		rl.Cur = min(max(want, rl.Cur), rl.Max)
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
	}
	if rl.Cur < want {
		log.Printf("file limit %d: the idle scenario may open fewer than %d connections", rl.Cur, *idleConns)
	}
}

// build compiles the server and the client into dir.
func build(dir string) error {
	// -mod=mod: follow the main module's requirements as they change.
	args := []string{"build", "-mod=mod", "-o", dir + "/"}
	if *tetherDir != "" {
		abs, err := filepath.Abs(*tetherDir)
		if err != nil {
			return err
		}
		mod := filepath.Join(dir, "bench.mod")
		for _, f := range [][2]string{{"go.mod", mod}, {"go.sum", filepath.Join(dir, "bench.sum")}} {
			b, err := os.ReadFile(f[0])
			if err != nil {
				return err
			}
			if err := os.WriteFile(f[1], b, 0o644); err != nil {
				return err
			}
		}
		if err := goCmd("mod", "edit", "-modfile="+mod, "-replace=github.com/tetherws/tether="+abs); err != nil {
			return err
		}
		args = append(args, "-modfile="+mod)
	}
	args = append(args, "./cmd/benchserver", "./cmd/benchclient")
	return goCmd(args...)
}

func goCmd(args ...string) error {
	cmd := exec.Command("go", args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go %s: %w", strings.Join(args, " "), err)
	}
	return nil
}

func freePort() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func pinned(cpu string, name string, args ...string) *exec.Cmd {
	var cmd *exec.Cmd
	if *noPin {
		cmd = exec.Command(name, args...)
	} else {
		cmd = exec.Command("taskset", append([]string{"-c", cpu, name}, args...)...)
	}
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	return cmd
}

// runOne starts the server, runs the client against it and stops the
// server. extra are more server flags (profiles).
func runOne(bin string, sc scenario, lib string, extra []string) proto.Result {
	fail := func(err error) proto.Result {
		return proto.Result{Scenario: sc.name, Lib: lib, Err: err.Error()}
	}
	addr, ctl := freePort(), freePort()
	sargs := append([]string{"-lib", lib, "-addr", addr, "-ctl", ctl}, sc.server...)
	srv, err := startServer(bin, append(sargs, extra...)...)
	if err != nil {
		return fail(err)
	}
	stop, serr := srv.stop, srv.stderr
	cargs := append([]string{"-lib", lib, "-addr", addr, "-ctl", "http://" + ctl, "-pid", strconv.Itoa(srv.pid),
		"-warmup", warmup.String(), "-duration", duration.String()}, sc.client...)
	ctx, cancel := context.WithTimeout(context.Background(), *warmup+*duration+3*time.Minute)
	defer cancel()
	cli := pinned("1", filepath.Join(bin, "benchclient"), cargs...)
	cli = exec.CommandContext(ctx, cli.Path, cli.Args[1:]...)
	cli.Env = append(os.Environ(), "GOMAXPROCS=1")
	var cerr bytes.Buffer
	cli.Stderr = &cerr
	outb, cliErr := cli.Output()
	stop()
	var r proto.Result
	if err := json.Unmarshal(outb, &r); err != nil {
		msg := fmt.Sprintf("client: %v %s", cliErr, lastLine(cerr.String()))
		if s := lastLine(serr.String()); s != "" {
			msg += "; server: " + s
		}
		return fail(errors.New(msg))
	}
	r.Scenario = sc.name
	if r.Err != "" {
		if s := lastLine(serr.String()); s != "" {
			r.Err += "; server: " + s
		}
	}
	return r
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if len(s) > 300 {
		s = s[:300]
	}
	return s
}

// runProfile profiles one library: CPU and allocations in the 1 KiB echo,
// and the memory its idle connections hold. It prints the top of each.
func runProfile(bin string) {
	lib := *profile
	dir := "results"
	_ = os.MkdirAll(dir, 0o755)
	if !isSet("duration") {
		*duration = 5 * time.Second
	}
	hide := "-hide=^(runtime/pprof|compress/flate|compress/gzip|encoding/json)\\."
	scs := scenarios()
	echo, idle := scs[1], scs[slices.Index(scenarioNames(), "idle")]
	cpu := filepath.Join(dir, lib+"-echo1k.cpu.prof")
	mem := filepath.Join(dir, lib+"-echo1k.allocs.prof")
	r := runOne(bin, echo, lib, []string{"-cpuprofile", cpu, "-memprofile", mem})
	fmt.Printf("%s %s: %s\n\n", echo.name, lib, summary(r))
	pprofTop("-nodecount=25", cpu)
	pprofTop("-nodecount=15", "-sample_index=alloc_objects", hide, "-base", baseName(mem), mem)
	pprofTop("-nodecount=15", "-sample_index=alloc_space", hide, "-base", baseName(mem), mem)
	heap := filepath.Join(dir, lib+"-idle.heap.prof")
	r = runOne(bin, idle, lib, []string{"-memprofile", heap})
	fmt.Printf("%s %s: %s\n\n", idle.name, lib, summary(r))
	pprofTop("-nodecount=20", "-sample_index=inuse_space", hide, "-base", baseName(heap), heap)
}

func baseName(name string) string { return strings.TrimSuffix(name, ".prof") + ".base.prof" }

func pprofTop(args ...string) {
	args = append([]string{"tool", "pprof", "-top"}, args...)
	fmt.Printf("$ go %s\n", strings.Join(args, " "))
	cmd := exec.Command("go", args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	_ = cmd.Run()
	fmt.Println()
}

// environment describes the machine and the run.
type environment struct {
	cpus, cpuModel, goVersion, kernel string
	versions                          []string
	tether                            string
	loadBefore, loadAfter             string
	date                              time.Time
	elapsed                           time.Duration
}

func describe(bin string) environment {
	var e environment
	e.cpus = strconv.Itoa(countCPUs())
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				e.cpuModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := exec.Command("go", "env", "GOVERSION").Output(); err == nil {
		e.goVersion = strings.TrimSpace(string(b))
	}
	if b, err := exec.Command("uname", "-r").Output(); err == nil {
		e.kernel = strings.TrimSpace(string(b))
	}
	if b, err := exec.Command("go", "version", "-m", filepath.Join(bin, "benchserver")).Output(); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) >= 3 && (f[0] == "dep" || f[0] == "=>") {
				for _, p := range []string{"github.com/gorilla/websocket", "github.com/coder/websocket", "github.com/gobwas/ws", "github.com/lxzan/gws", "github.com/klauspost/compress"} {
					if f[1] == p {
						e.versions = append(e.versions, p+" "+f[2])
					}
				}
			}
		}
	}
	e.tether = "working tree"
	if *tetherDir != "" {
		e.tether = "snapshot " + *tetherDir
	}
	if b, err := exec.Command("git", "-C", "../..", "rev-parse", "--short", "HEAD").Output(); err == nil {
		e.tether += " over commit " + strings.TrimSpace(string(b))
	}
	return e
}

func countCPUs() int {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return 0
	}
	return strings.Count(string(b), "\nprocessor") + map[bool]int{true: 1}[strings.HasPrefix(string(b), "processor")]
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
