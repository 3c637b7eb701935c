// Command benchserver is the server side of the comparative benchmark: one
// WebSocket (or raw TCP) server per library, written the way that library's
// documentation recommends, plus a control endpoint for the driver.
//
//	benchserver -lib tether|gorilla|coder|gobwas|gws|raw -mode echo|idle|deflate|broadcast \
//	    -addr 127.0.0.1:9001 -ctl 127.0.0.1:9002 [-deflate ctx|nctx] [-cpuprofile f] [-memprofile f] [-reuseport]
//
// Modes: echo and idle echo every message back; deflate also enables
// permessage-deflate; broadcast sends every received message to every
// connection. With -reuseport several processes serve one port (the scale
// scenario runs each library as a few such processes). The control
// endpoint answers GET /stats (JSON proto.Stats; ?gc=1 collects garbage
// first, ?mark=start|end bounds the profiles).
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	goruntime "runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/tetherws/tether/test/bench/internal/proto"
)

var (
	lib        = flag.String("lib", "tether", "library: tether, tether-release (echo with Message.Release), gorilla, coder, gobwas, gws or raw")
	mode       = flag.String("mode", "echo", "echo, idle, deflate or broadcast")
	deflate    = flag.String("deflate", "ctx", "deflate mode: ctx (context takeover where the library supports it) or nctx")
	addr       = flag.String("addr", "127.0.0.1:9001", "listen address")
	ctlAddr    = flag.String("ctl", "127.0.0.1:9002", "control endpoint address")
	cpuprofile = flag.String("cpuprofile", "", "write a CPU profile of the measurement window to this file")
	memprofile = flag.String("memprofile", "", "write an allocation profile at the end of the measurement window to this file, and one at its start to FILE.base.prof")
	reusePort  = flag.Bool("reuseport", false, "listen with SO_REUSEPORT, so that several server processes share -addr (the scale scenario)")
)

// maxMessage is the message size limit set on every library that has one.
const maxMessage = 1 << 20

func main() {
	flag.Parse()
	if *memprofile != "" {
		goruntime.MemProfileRate = 4096
	}
	var lc net.ListenConfig
	if *reusePort {
		lc.Control = setReusePort
	}
	ln, err := lc.Listen(context.Background(), "tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	cl, err := net.Listen("tcp", *ctlAddr)
	if err != nil {
		log.Fatal(err)
	}
	go serveControl(cl)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sig
		stopProfiles()
		os.Exit(0)
	}()

	bcast := *mode == "broadcast"
	comp := *mode == "deflate"
	ctx := *deflate == "ctx"
	var serve func(net.Listener) error
	switch *lib {
	case "tether":
		serve = tetherServer(bcast)
	case proto.TetherRelease:
		serve = tetherServerWith(bcast, echoReleasing)
	case "gorilla":
		serve = gorillaServer(bcast, comp)
	case "coder":
		serve = coderServer(bcast, comp, ctx)
	case "gobwas":
		serve = gobwasServer(bcast, comp)
	case "gws":
		serve = gwsServer(bcast, comp, ctx)
	case "raw":
		serve = rawServer(bcast)
	default:
		log.Fatalf("unknown library %q", *lib)
	}
	fmt.Println("READY")
	log.Fatal(serve(ln))
}

// serveControl answers the driver's and the client's /stats requests.
func serveControl(ln net.Listener) {
	mux := http.NewServeMux()
	mux.HandleFunc("/stats", func(w http.ResponseWriter, r *http.Request) {
		mark := r.FormValue("mark")
		if mark == "start" {
			startProfiles()
		}
		// At the end, stop the profiles after reading the figures, so
		// that writing them is not counted.
		defer func() {
			if mark == "end" {
				stopProfiles()
			}
		}()
		gc := r.FormValue("gc") == "1"
		if gc {
			goruntime.GC()
		}
		var ms goruntime.MemStats
		goruntime.ReadMemStats(&ms)
		if gc {
			debug.FreeOSMemory()
		}
		st := proto.Stats{
			Mallocs:    ms.Mallocs,
			HeapInuse:  ms.HeapInuse,
			StackInuse: ms.StackInuse,
			Goroutines: goruntime.NumGoroutine(),
			CPUMicros:  cpuMicros(),
			RSS:        rss(),
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(st)
	})
	log.Fatal(http.Serve(ln, mux))
}

var (
	profMu      sync.Mutex
	profiling   bool
	cpuProfFile *os.File
)

func startProfiles() {
	profMu.Lock()
	defer profMu.Unlock()
	if profiling {
		return
	}
	profiling = true
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		cpuProfFile = f
	}
	if *memprofile != "" {
		writeAllocs(baseName(*memprofile))
	}
}

func stopProfiles() {
	profMu.Lock()
	defer profMu.Unlock()
	if !profiling {
		return
	}
	profiling = false
	if cpuProfFile != nil {
		pprof.StopCPUProfile()
		_ = cpuProfFile.Close()
		cpuProfFile = nil
	}
	if *memprofile != "" {
		writeAllocs(*memprofile)
	}
}

// baseName names the profile taken at the start of the window: a.prof →
// a.base.prof.
func baseName(name string) string { return strings.TrimSuffix(name, ".prof") + ".base.prof" }

func writeAllocs(name string) {
	// The profile is as of the last GC.
	goruntime.GC()
	f, err := os.Create(name)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		log.Fatal(err)
	}
}

func cpuMicros() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return -1
	}
	return ru.Utime.Sec*1e6 + ru.Utime.Usec + ru.Stime.Sec*1e6 + ru.Stime.Usec
}

func rss() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Bytes()
		if v, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			v = bytes.TrimSpace(bytes.TrimSuffix(bytes.TrimSpace(v), []byte("kB")))
			n, _ := strconv.ParseInt(string(v), 10, 64)
			return n << 10
		}
	}
	return -1
}

// registry holds the open connections of a broadcast server.
type registry[C comparable] struct {
	mu    sync.Mutex
	conns map[C]struct{}
	snap  []C
	bmu   sync.Mutex // one broadcast at a time
}

func (r *registry[C]) add(c C) {
	r.mu.Lock()
	if r.conns == nil {
		r.conns = make(map[C]struct{})
	}
	r.conns[c] = struct{}{}
	r.mu.Unlock()
}

func (r *registry[C]) remove(c C) {
	r.mu.Lock()
	delete(r.conns, c)
	r.mu.Unlock()
}

// each calls f for every connection, one broadcast at a time.
func (r *registry[C]) each(f func(C)) {
	r.all(func(conns []C) {
		for _, c := range conns {
			f(c)
		}
	})
}

// all calls f with every connection, one broadcast at a time (for a
// library whose broadcast takes the list of connections).
func (r *registry[C]) all(f func([]C)) {
	r.bmu.Lock()
	defer r.bmu.Unlock()
	r.mu.Lock()
	r.snap = r.snap[:0]
	for c := range r.conns {
		r.snap = append(r.snap, c)
	}
	r.mu.Unlock()
	f(r.snap)
}
