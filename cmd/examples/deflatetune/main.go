package main

import (
	"github.com/tetherws/tether/internal/corpus"

	"bytes"
	stdflate "compress/flate"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tetherws/tether/compress"
	"github.com/tetherws/tether/ws"
)

func main() {
	dir := flag.String("dir", "", "directory of messages, one per file (default: generated JSON)")
	n := flag.Int("n", 2000, "number of generated messages")
	seed := flag.Uint64("seed", 1, "seed of the generated corpus")
	levelsFlag := flag.String("levels", "1,3,5,6,9", "compression levels")
	conns := flag.Int("conns", 64, "connections the cold measurement spreads messages over")
	rounds := flag.Int("rounds", 3, "measurements per setting (the fastest is kept)")
	dump := flag.String("dump", "", "write the messages to this directory, one per file, and exit")
	flag.Parse()

	msgs, err := loadMessages(*dir, *n, *seed)
	if err != nil {
		log.Fatal(err)
	}
	if *dump != "" {
		if err := os.MkdirAll(*dump, 0o755); err != nil {
			log.Fatal(err)
		}
		for i, m := range msgs {
			if err := os.WriteFile(filepath.Join(*dump, fmt.Sprintf("%06d.json", i)), m, 0o644); err != nil {
				log.Fatal(err)
			}
		}
		return
	}
	var levels []int
	for _, s := range strings.Split(*levelsFlag, ",") {
		l, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			log.Fatalf("bad level %q", s)
		}
		levels = append(levels, l)
	}
	plain := 0
	for _, m := range msgs {
		plain += len(m)
	}
	fmt.Printf("%d messages, %d bytes, %d bytes on average; %s\n\n", len(msgs), plain, plain/len(msgs), clockName)

	type result struct {
		bits, level int
		mem         int
		ratio       float64
		hot, cold   time.Duration
	}
	measure := func(bits, level int) result {
		o := compress.Options{Level: level, ServerMaxWindowBits: bits, ClientMaxWindowBits: bits}
		r := result{bits: bits, level: level, mem: 1<<bits + 1<<max(bits, 9)}
		r.hot, r.cold = time.Duration(1<<63-1), time.Duration(1<<63-1)
		for range *rounds {
			ratio, hot := run(o, msgs, 1)
			_, cold := run(o, msgs, *conns)
			r.ratio, r.hot, r.cold = ratio, min(r.hot, hot), min(r.cold, cold)
		}
		return r
	}
	measure(compress.DefaultWindowBits, compress.DefaultLevel) // warm up
	def := measure(compress.DefaultWindowBits, compress.DefaultLevel)

	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "bits\tlevel\tmemory/conn\tratio\tvs default\thot µs/msg\tvs default\tcold µs/msg\tvs default\t")
	for bits := 9; bits <= 15; bits++ {
		for _, level := range levels {
			r := measure(bits, level)
			if bits == def.bits && level == def.level {
				r = def
			}
			fmt.Fprintf(w, "%d\t%d\t%s\t%.3f\t%+.1f%%\t%.2f\t%.2fx\t%.2f\t%.2fx\t\n",
				r.bits, r.level, kib(r.mem), r.ratio, 100*(r.ratio/def.ratio-1),
				us(r.hot), float64(r.hot)/float64(def.hot), us(r.cold), float64(r.cold)/float64(def.cold))
		}
	}
	w.Flush()
	ratio, t, mem := runStdlib(msgs)
	fmt.Printf("\nFor reference, compress/flate level 6 with a 15-bit window, one writer and one reader\n"+
		"kept per connection (as zlib-based peers do): ratio %.3f (%+.1f%%), %.2f µs/msg, %s per idle connection.\n",
		ratio, 100*(ratio/def.ratio-1), us(t), kib(mem))
	fmt.Println()
	fmt.Println("memory/conn: history an idle connection keeps (sent + received windows, one endpoint);")
	fmt.Println("compressors and decompressors are pooled. ratio: compressed/plain payload bytes;")
	fmt.Println("times: compress + inflate one message. Below 15 bits, klauspost/compress has one")
	fmt.Println("window-limited encoder (about level 5), so the level only matters at 15 bits.")
}

// runStdlib measures the standard library with a writer and a reader kept
// for the connection, and returns the ratio, the time per message and the
// memory of the pinned writer and reader.
func runStdlib(msgs [][]byte) (float64, time.Duration, int) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var out, stream bytes.Buffer
	fw, _ := stdflate.NewWriter(&out, 6)
	fr := stdflate.NewReader(&stream)
	buf := make([]byte, 1<<20)
	runtime.ReadMemStats(&after)
	mem := int(after.HeapAlloc-before.HeapAlloc) - len(buf)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	wire, plain := 0, 0
	start := clock()
	for _, m := range msgs {
		out.Reset()
		fw.Write(m)
		fw.Flush()
		wire += out.Len() - 4
		plain += len(m)
		stream.Write(out.Bytes())
		if n, err := io.ReadAtLeast(fr, buf, len(m)); err != nil || n != len(m) {
			log.Fatal("stdlib round trip failed")
		}
	}
	elapsed := clock() - start
	return float64(wire) / float64(plain), elapsed / time.Duration(len(msgs)), mem
}

func kib(n int) string {
	if n%1024 == 0 {
		return fmt.Sprintf("%d KiB", n/1024)
	}
	return fmt.Sprintf("%.2f KiB", float64(n)/1024)
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func loadMessages(dir string, n int, seed uint64) ([][]byte, error) {
	if dir == "" {
		return corpus.Messages(seed, n), nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	var msgs [][]byte
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, b)
	}
	if len(msgs) == 0 {
		return nil, fmt.Errorf("no files in %s", dir)
	}
	return msgs, nil
}

// pair is one connection: the server's extension compresses, the client's
// inflates.
type pair struct {
	enc, dec ws.Extension
}

func newPair(o compress.Options) pair {
	cf, err := compress.NewClientFactory(o)
	if err != nil {
		log.Fatal(err)
	}
	sf, err := compress.NewServerFactory(o)
	if err != nil {
		log.Fatal(err)
	}
	params, server, err := sf.Negotiate(cf.Offer(), nil)
	if err != nil {
		log.Fatal(err)
	}
	client, err := cf.Accept(params, nil)
	if err != nil {
		log.Fatal(err)
	}
	return pair{enc: server, dec: client}
}

func (p pair) close() {
	ws.CloseExtensions([]ws.Extension{p.enc, p.dec})
}

// run sends msgs over conns connections in turn and returns the ratio and
// the time per message.
func run(o compress.Options, msgs [][]byte, conns int) (float64, time.Duration) {
	pairs := make([]pair, conns)
	for i := range pairs {
		pairs[i] = newPair(o)
	}
	defer func() {
		for _, p := range pairs {
			p.close()
		}
	}()
	send := func(p pair, m []byte) int {
		f := ws.Frame{Opcode: ws.OpText, Fin: true, Payload: m}
		if err := p.enc.Encode(&f); err != nil {
			log.Fatal(err)
		}
		n := len(f.Payload)
		if f.Rsv != 0 {
			if err := p.dec.Decode(&f, -1); err != nil {
				log.Fatal(err)
			}
		}
		if len(f.Payload) != len(m) {
			log.Fatal("round trip failed")
		}
		return n
	}
	// Warm up the pools and the histories.
	for i, m := range msgs[:min(len(msgs), 2*conns)] {
		send(pairs[i%conns], m)
	}
	runtime.GC()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	wire, plain := 0, 0
	start := clock()
	for i, m := range msgs {
		wire += send(pairs[i%conns], m)
		plain += len(m)
	}
	elapsed := clock() - start
	return float64(wire) / float64(plain), elapsed / time.Duration(len(msgs))
}
