// Command benchclient is the one load client of the comparative benchmark.
// It speaks WebSocket with its own minimal client (or the raw
// length-prefixed protocol), verifies every byte it gets back, and prints
// one proto.Result as JSON. It reads the server's CPU time, allocations
// and memory from the server's control endpoint at the start and the end
// of the measurement window.
//
//	benchclient -lib tether -scenario echo -size 1024 -conns 16 -addr 127.0.0.1:9001 \
//	    -ctl http://127.0.0.1:9002 -pid 1234 -warmup 1s -duration 3s
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetherws/tether/test/bench/internal/proto"
)

var (
	lib      = flag.String("lib", "tether", "library of the server (raw speaks the length-prefixed protocol)")
	scenario = flag.String("scenario", "echo", "echo, idle, deflate, broadcast or scale")
	addr     = flag.String("addr", "127.0.0.1:9001", "server address")
	ctlURL   = flag.String("ctl", "http://127.0.0.1:9002", "server control endpoint")
	pid      = flag.Int("pid", 0, "server process id (for /proc/<pid>/stat)")
	size     = flag.Int("size", 1024, "message size (echo, broadcast)")
	nconns   = flag.Int("conns", 16, "connections")
	warmup   = flag.Duration("warmup", time.Second, "warm-up before the measurement window")
	duration = flag.Duration("duration", 3*time.Second, "measurement window")
	deflate  = flag.String("deflate", "ctx", "deflate offer: ctx (a browser's offer) or nctx (no context takeover both ways)")
	workers  = flag.Int("dialers", 32, "concurrent dialers (idle, broadcast, scale)")
)

// Offers of permessage-deflate.
var offers = map[string]string{
	"ctx":  "permessage-deflate; client_max_window_bits",
	"nctx": "permessage-deflate; client_no_context_takeover; server_no_context_takeover",
}

func main() {
	flag.Parse()
	if *scenario == "scale" {
		if err := runScale(); err != nil {
			_ = json.NewEncoder(os.Stdout).Encode(proto.ScaleReport{Phase: "error", Err: err.Error()})
			os.Exit(1)
		}
		return
	}
	res := proto.Result{Scenario: *scenario, Lib: *lib, Conns: *nconns, Size: *size}
	var err error
	switch *scenario {
	case "echo", "deflate":
		err = runEcho(&res)
	case "idle":
		err = runIdle(&res)
	case "broadcast":
		err = runBroadcast(&res)
	default:
		err = fmt.Errorf("unknown scenario %q", *scenario)
	}
	if err != nil {
		res.Err = err.Error()
	}
	_ = json.NewEncoder(os.Stdout).Encode(res)
}

var ctlClient = &http.Client{Timeout: 30 * time.Second}

func stats(query string) (proto.Stats, error) {
	var st proto.Stats
	resp, err := ctlClient.Get(*ctlURL + "/stats?" + query)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	err = json.NewDecoder(resp.Body).Decode(&st)
	return st, err
}

// procTicks returns utime+stime of the server from /proc/<pid>/stat.
func procTicks() int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(*pid) + "/stat")
	if err != nil {
		return -1
	}
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	// After the command: state is field 3; utime and stime are 14 and 15.
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s
}

// window measures the server between start and end.
type window struct {
	st0  proto.Stats
	tk0  int64
	t0   time.Time
	msg0 int64
}

func (w *window) start(msgs int64) error {
	st, err := stats("mark=start")
	w.st0, w.tk0, w.t0, w.msg0 = st, procTicks(), time.Now(), msgs
	return err
}

func (w *window) end(res *proto.Result, msgs int64) error {
	t1 := time.Now()
	st, err := stats("mark=end")
	if err != nil {
		return err
	}
	res.Seconds = t1.Sub(w.t0).Seconds()
	res.Msgs = msgs - w.msg0
	res.CPUMicros = st.CPUMicros - w.st0.CPUMicros
	res.ProcTicks = procTicks() - w.tk0
	res.Mallocs = st.Mallocs - w.st0.Mallocs
	return nil
}

func percentiles(res *proto.Result, lats []int64) {
	if len(lats) == 0 {
		return
	}
	slices.Sort(lats)
	res.P50Micros = float64(lats[len(lats)/2]) / 1e3
	res.P99Micros = float64(lats[len(lats)*99/100]) / 1e3
}

func offer() string {
	if *scenario == "deflate" {
		return offers[*deflate]
	}
	return ""
}

// runEcho runs nconns closed loops: send a message, read the echo,
// compare every byte. echo sends ASCII text of -size bytes whose first 16
// bytes carry a sequence number; deflate cycles through a JSON corpus.
func runEcho(res *proto.Result) error {
	raw := *lib == "raw"
	if raw && *scenario == "deflate" {
		res.NA = "no compression"
		return nil
	}
	conns := make([]*conn, *nconns)
	for i := range conns {
		c, err := dial(*addr, raw, offer(), 64<<10)
		if err != nil {
			return fmt.Errorf("dial %d: %w", i, err)
		}
		conns[i] = c
	}
	var corpus [][]byte
	if *scenario == "deflate" {
		if !conns[0].deflate {
			res.NA = "permessage-deflate not negotiated"
			return nil
		}
		res.Extension = conns[0].ext
		if *deflate == "ctx" && !conns[0].serverCtx {
			res.NA = "no context takeover (answered " + conns[0].ext + ")"
			return nil
		}
		corpus = proto.Corpus(256)
		res.Size = 0
	}
	var (
		count    atomic.Int64
		measure  atomic.Bool
		stop     atomic.Bool
		wg       sync.WaitGroup
		errMu    sync.Mutex
		firstErr error
		lats     = make([][]int64, len(conns))
	)
	fail := func(err error) {
		errMu.Lock()
		if firstErr == nil && !stop.Load() {
			firstErr = err
		}
		errMu.Unlock()
	}
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]int64, 0, 1<<16)
			defer func() { lats[i] = lat }()
			var next func() (frame, want []byte)
			if corpus == nil {
				plain := proto.Text(*size, uint64(i))
				var frame []byte
				if raw {
					frame = appendRaw(nil, plain)
				} else {
					frame = c.appendFrame(nil, 0x1, false, plain)
				}
				off := len(frame) - len(plain)
				k := min(16, len(plain))
				seq := uint64(0)
				next = func() ([]byte, []byte) {
					seq++
					proto.PutSeq(plain, seq)
					copy(frame[off:off+k], plain[:k])
					if !raw {
						maskBytes(frame[off:off+k], c.mask, 0)
					}
					return frame, plain
				}
			} else {
				j := i * 37
				var pre [][]byte
				if !c.clientCtx {
					// No client context takeover: every message compresses
					// the same way; frame them once.
					pre = make([][]byte, len(corpus))
					for k, m := range corpus {
						pre[k] = c.appendFrame(nil, 0x1, true, c.compress(m))
					}
				}
				next = func() ([]byte, []byte) {
					j++
					k := j % len(corpus)
					if pre != nil {
						return pre[k], corpus[k]
					}
					c.out = c.appendFrame(c.out[:0], 0x1, true, c.compress(corpus[k]))
					return c.out, corpus[k]
				}
			}
			for !stop.Load() {
				frame, want := next()
				t0 := time.Now()
				if err := c.write(frame); err != nil {
					fail(err)
					return
				}
				got, err := c.read()
				if err != nil {
					fail(err)
					return
				}
				if !bytes.Equal(got, want) {
					fail(fmt.Errorf("conn %d: echo differs (%d bytes, want %d)", i, len(got), len(want)))
					return
				}
				if measure.Load() {
					lat = append(lat, int64(time.Since(t0)))
				}
				count.Add(1)
			}
		}()
	}
	time.Sleep(*warmup)
	var w window
	if err := w.start(count.Load()); err != nil {
		return err
	}
	measure.Store(true)
	time.Sleep(*duration)
	measure.Store(false)
	err := w.end(res, count.Load())
	stop.Store(true)
	for _, c := range conns {
		_ = c.nc.Close()
	}
	wg.Wait()
	if err != nil {
		return err
	}
	if firstErr != nil {
		return firstErr
	}
	for _, c := range conns {
		res.WireBytes += c.wireIn
		res.PlainBytes += c.plainIn
	}
	if corpus == nil {
		res.WireBytes, res.PlainBytes = 0, 0
	}
	var all []int64
	for _, l := range lats {
		all = append(all, l...)
	}
	percentiles(res, all)
	return nil
}

// dialMany opens up to n connections with a few concurrent dialers and
// runs setup on each. It stops at the first failure and returns what it
// has, with the error.
func dialMany(n int, bufSize int, setup func(i int, c *conn) error) ([]*conn, error) {
	conns := make([]*conn, n)
	var next atomic.Int64
	var failed atomic.Bool
	var errMu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for range *workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				c, err := dial(*addr, *lib == "raw", offer(), bufSize)
				if err == nil {
					err = setup(i, c)
					if err != nil {
						c.nc.Close()
					}
				}
				if err != nil {
					failed.Store(true)
					errMu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("connection %d: %w", i, err)
					}
					errMu.Unlock()
					return
				}
				conns[i] = c
			}
		}()
	}
	wg.Wait()
	// Keep the connected prefix (the gaps are failed or skipped dials).
	out := conns[:0]
	for _, c := range conns {
		if c != nil {
			out = append(out, c)
		}
	}
	return out, firstErr
}

// runIdle opens nconns connections, exchanges one 1 KiB message on each,
// lets them sit idle and measures what the server holds per connection.
func runIdle(res *proto.Result) error {
	base, err := stats("gc=1&mark=start")
	if err != nil {
		return err
	}
	conns, derr := dialMany(*nconns, 4<<10, func(i int, c *conn) error {
		msg := proto.Text(1024, uint64(i))
		if err := c.sendText(msg); err != nil {
			return err
		}
		got, err := c.read()
		if err != nil {
			return err
		}
		if !bytes.Equal(got, msg) {
			return errors.New("echo differs")
		}
		c.msg, c.out = nil, nil
		return nil
	})
	defer func() {
		for _, c := range conns {
			c.nc.Close()
		}
	}()
	if len(conns) == 0 {
		return derr
	}
	if derr != nil {
		fmt.Fprintf(os.Stderr, "benchclient: idle: %d connections opened, then: %v\n", len(conns), derr)
	}
	time.Sleep(*warmup)
	after, err := stats("gc=1&mark=end")
	if err != nil {
		return err
	}
	n := float64(len(conns))
	res.Conns = len(conns)
	res.Size = 0
	res.RSSPerConn = float64(after.RSS-base.RSS) / n
	res.HeapStackPerConn = float64(int64(after.HeapInuse+after.StackInuse)-int64(base.HeapInuse+base.StackInuse)) / n
	res.StackPerConn = float64(int64(after.StackInuse)-int64(base.StackInuse)) / n
	res.GoroutinesPerConn = float64(after.Goroutines-base.Goroutines) / n
	return nil
}

// runBroadcast opens nconns connections, each read by its own goroutine;
// every round, connection 0 sends one message and the server sends it to
// every connection. A round ends when every connection has it.
func runBroadcast(res *proto.Result) error {
	var (
		expected  atomic.Pointer[[]byte]
		remaining atomic.Int64
		done      = make(chan struct{}, 1)
		stop      atomic.Bool
		errCh     = make(chan error, 1)
		wg        sync.WaitGroup
	)
	conns, err := dialMany(*nconns, 4<<10, func(int, *conn) error { return nil })
	defer func() {
		stop.Store(true)
		for _, c := range conns {
			c.nc.Close()
		}
		wg.Wait()
	}()
	if err != nil {
		return err
	}
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				got, err := c.read()
				if err != nil {
					if !stop.Load() {
						select {
						case errCh <- fmt.Errorf("conn %d: %w", i, err):
						default:
						}
					}
					return
				}
				if want := expected.Load(); want == nil || !bytes.Equal(got, *want) {
					select {
					case errCh <- fmt.Errorf("conn %d: broadcast message differs", i):
					default:
					}
					return
				}
				if remaining.Add(-1) == 0 {
					done <- struct{}{}
				}
			}
		}()
	}
	// Let every server register its connections.
	time.Sleep(300 * time.Millisecond)
	payload := proto.Text(*size, 99)
	var deliveries atomic.Int64
	var lats []int64
	round := func(seq uint64, measure bool) error {
		proto.PutSeq(payload, seq)
		expected.Store(&payload)
		remaining.Store(int64(len(conns)))
		t0 := time.Now()
		if err := conns[0].sendText(payload); err != nil {
			return err
		}
		select {
		case <-done:
		case err := <-errCh:
			return err
		case <-time.After(10 * time.Second):
			return fmt.Errorf("round %d: %d of %d connections got nothing in 10 s", seq, remaining.Load(), len(conns))
		}
		if measure {
			lats = append(lats, int64(time.Since(t0)))
		}
		deliveries.Add(int64(len(conns)))
		return nil
	}
	seq := uint64(0)
	for end := time.Now().Add(*warmup); time.Now().Before(end); {
		seq++
		if err := round(seq, false); err != nil {
			return err
		}
	}
	var w window
	if err := w.start(deliveries.Load()); err != nil {
		return err
	}
	for end := time.Now().Add(*duration); time.Now().Before(end); {
		seq++
		if err := round(seq, true); err != nil {
			return err
		}
	}
	if err := w.end(res, deliveries.Load()); err != nil {
		return err
	}
	res.Conns = len(conns)
	percentiles(res, lats)
	return nil
}
