package soak

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// A stall is a connection with messages in flight that received no echo
// for Config.StallAfter. The watch reports each stalled connection once,
// with where its bytes sit: the send and receive queues of both sockets
// in the kernel (/proc/net/tcp), which tells a peer that does not read
// from one that is not sent to.

// Stall is one stalled connection.
type Stall struct {
	Client   int     `json:"client"`
	Local    string  `json:"local"` // the client's address
	Phase    string  `json:"phase"`
	Silent   float64 `json:"silent_s"` // since the last echo, or the send that began the wait
	InFlight uint64  `json:"in_flight"`
	// The bytes queued in the kernel: sent and not acknowledged (tx),
	// received and not read by the process (rx); -1 when the socket was
	// not found.
	ClientTx int64 `json:"client_tx"`
	ClientRx int64 `json:"client_rx"`
	ServerTx int64 `json:"server_tx"`
	ServerRx int64 `json:"server_rx"`
	// End is how the connection ended: its close frames, and whether
	// that was before Shutdown.
	End string `json:"end"`
}

// watchState is what a client shares with the stall watch.
type watchState struct {
	inFlight atomic.Uint64
	since    atomic.Int64 // UnixNano of the last echo, or of the send that began the wait
	reported atomic.Bool
}

// note records the client's in-flight count after a send or an echo.
func (w *watchState) note(inFlight uint64, echo bool, now time.Time) {
	if echo || w.inFlight.Load() == 0 {
		w.since.Store(now.UnixNano())
	}
	w.inFlight.Store(inFlight)
}

// maxStallExamples bounds the stalls the report lists.
const maxStallExamples = 10

// stallWatch checks the clients every second until stopped.
type stallWatch struct {
	mu       sync.Mutex
	count    int
	examples []Stall
}

// watchStalls starts the watch; the returned function stops it.
func (r *run) watchStalls(clients []*client, server string) (stop func()) {
	if r.cfg.StallAfter <= 0 {
		return func() {}
	}
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				return
			case <-tick.C:
			}
			r.checkStalls(clients, server)
		}
	}()
	return func() { close(quit); <-done }
}

// checkStalls reports the clients stalled now and not reported yet.
func (r *run) checkStalls(clients []*client, server string) {
	now := time.Now()
	var found []Stall
	for _, cl := range clients {
		w := &cl.watch
		n := w.inFlight.Load()
		silent := now.Sub(time.Unix(0, w.since.Load()))
		if n == 0 || silent < r.cfg.StallAfter || w.reported.Load() {
			continue
		}
		w.reported.Store(true)
		found = append(found, Stall{Client: cl.id, Local: cl.conn.LocalAddr().String(),
			Phase: r.phase.Load().(string), Silent: silent.Seconds(), InFlight: n})
	}
	if len(found) == 0 {
		return
	}
	queues := readTCPQueues()
	for i := range found {
		s := &found[i]
		s.ClientTx, s.ClientRx = queues.lookup(s.Local, server)
		s.ServerTx, s.ServerRx = queues.lookup(server, s.Local)
		if r.cfg.Progress != nil {
			fmt.Fprintf(r.cfg.Progress, "soak: stall: client %d (%s, %s) no echo for %.1f s with %d in flight; kernel queues: client tx %d rx %d, server tx %d rx %d\n",
				s.Client, s.Local, s.Phase, s.Silent, s.InFlight, s.ClientTx, s.ClientRx, s.ServerTx, s.ServerRx)
		}
	}
	r.stalls.mu.Lock()
	defer r.stalls.mu.Unlock()
	if r.stalls.count == 0 && r.cfg.StallDump != "" {
		r.dumpStall(found, clients)
	}
	r.stalls.count += len(found)
	room := max(maxStallExamples-len(r.stalls.examples), 0)
	r.stalls.examples = append(r.stalls.examples, found[:min(room, len(found))]...)
}

// tcpQueues are the kernel queues of the TCP sockets, by "local remote"
// in the hexadecimal form of /proc/net/tcp.
type tcpQueues map[string][2]int64

// readTCPQueues reads /proc/net/tcp (IPv4 sockets); nil on failure.
func readTCPQueues() tcpQueues {
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return nil
	}
	return parseTCPQueues(b)
}

// parseTCPQueues parses the text of /proc/net/tcp.
func parseTCPQueues(b []byte) tcpQueues {
	q := make(tcpQueues)
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Scan() // the header
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) < 5 {
			continue
		}
		tx, rx, ok := bytes.Cut(f[4], []byte(":"))
		if !ok {
			continue
		}
		t, err1 := strconv.ParseInt(string(tx), 16, 64)
		r, err2 := strconv.ParseInt(string(rx), 16, 64)
		if err1 == nil && err2 == nil {
			q[string(f[1])+" "+string(f[2])] = [2]int64{t, r}
		}
	}
	return q
}

// lookup returns the send and receive queues of the socket from local to
// remote (host:port of IPv4 addresses), or -1, -1.
func (q tcpQueues) lookup(local, remote string) (tx, rx int64) {
	l, r := procAddr(local), procAddr(remote)
	if v, ok := q[l+" "+r]; ok && l != "" && r != "" {
		return v[0], v[1]
	}
	return -1, -1
}

// procAddr writes an IPv4 host:port as /proc/net/tcp does: the address
// as a little-endian 32-bit hexadecimal number, then the port.
func procAddr(hostport string) string {
	ap, err := net.ResolveTCPAddr("tcp", hostport)
	if err != nil {
		return ""
	}
	ip := ap.IP.To4()
	if ip == nil {
		return ""
	}
	return fmt.Sprintf("%02X%02X%02X%02X:%04X", ip[3], ip[2], ip[1], ip[0], ap.Port)
}

// dumpStall writes the goroutines of this process and the stalled
// clients' Conn pointers to Config.StallDump.
func (r *run) dumpStall(found []Stall, clients []*client) {
	var list bytes.Buffer
	for _, s := range found {
		for _, cl := range clients {
			if cl.id == s.Client {
				fmt.Fprintf(&list, "client %d %s conn %p\n", cl.id, s.Local, cl.conn)
			}
		}
	}
	var g bytes.Buffer
	_ = pprof.Lookup("goroutine").WriteTo(&g, 2)
	err := errors.Join(
		os.WriteFile(filepath.Join(r.cfg.StallDump, "stalled.txt"), list.Bytes(), 0o644),
		os.WriteFile(filepath.Join(r.cfg.StallDump, "client-goroutines.txt"), g.Bytes(), 0o644))
	if err != nil && r.cfg.Progress != nil {
		fmt.Fprintf(r.cfg.Progress, "soak: stall dump: %v\n", err)
	}
}
